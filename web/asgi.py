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
