"""ASGI entry point: gunicorn runs it with uvicorn workers (see deploy/ and web/stack)."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")

from django.core.asgi import get_asgi_application

django_app = get_asgi_application()

from django.conf import settings  # noqa: E402
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware  # noqa: E402

from web.core.asgi_router import LeanRouter  # noqa: E402
from web.ingest import asgi as ingest_asgi  # noqa: E402
from web.live import asgi as live_asgi  # noqa: E402

PROXY_WARNING = (
    "HEARTH_TRUSTED_PROXIES is empty: behind a reverse proxy every visitor then has the "
    "proxy's address (one shared sign-in and ingest limit, one visitor id per browser "
    "build). Set HEARTH_TRUSTED_PROXIES to the proxy's address or CIDR (docs/architecture/"
    "site.md); leave it empty only when clients connect to Hearth directly."
)


def proxy_warning(env: object) -> str | None:
    """The startup warning of a production web process without trusted proxies, or None."""
    if getattr(env, "production", False) and not getattr(env, "trusted_proxies", ()):
        return PROXY_WARNING
    return None


if (warning := proxy_warning(settings.ENV)) is not None:
    import logging

    logging.getLogger("hearth.startup").warning(warning)

if settings.ENV.trusted_proxies:
    # X-Forwarded-For/-Proto from the configured proxies only (ADR-8); the lean paths that
    # need the client IP resolve it themselves (web/ingest/clientip.py).
    django_app = ProxyHeadersMiddleware(  # type: ignore[assignment]
        django_app, trusted_hosts=list(settings.ENV.trusted_proxies)
    )

application = LeanRouter(django_app)
# Hot public paths skip Django's request stack (ADR-4 for SSE, ADR-5 for ingest).
live_asgi.register(application)
ingest_asgi.register(application)

# Everything imported so far lives as long as the process: move it out of the collector's
# sight, so full collections walk only what requests create.
gc.freeze()
