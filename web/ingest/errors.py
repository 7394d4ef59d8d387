"""The one error family of the ingest request path: bad input answered with a 4xx."""

from __future__ import annotations


class IngestError(Exception):
    """Bad input: answered with ``status`` and ``message``; nothing is published."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadInput(IngestError):
    """Malformed body, wrong type or out-of-range value (400)."""


class UnknownSite(IngestError):
    """The beacon names no site we know (400: the snippet is wrong, not the visitor)."""


class TooLarge(IngestError):
    """Body over the 8 KiB limit (413)."""

    status = 413


class MethodNotAllowed(IngestError):
    status = 405


class TooManyOpen(IngestError):
    """One client IP holds too many requests open at once, e.g. slow bodies (429)."""

    status = 429
