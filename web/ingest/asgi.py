"""Lean ASGI routes of this app, mounted in front of Django by web/asgi.py."""

from __future__ import annotations

from web.core.asgi_router import LeanRouter


def register(router: LeanRouter) -> None:
    """Add this app's lean routes and lifespan hooks to the router."""
