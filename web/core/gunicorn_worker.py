"""The gunicorn worker class Hearth runs: uvicorn with httptools, one send per response, and
proxy headers honoured only behind HEARTH_TRUSTED_PROXIES, and only where they are used.

gunicorn's default `forwarded_allow_ips` trusts X-Forwarded-For from 127.0.0.1, so behind no
proxy at all a local client could still set its own IP. uvicorn's proxy-header middleware
is therefore off here (ADR-8): web/asgi.py applies it to the Django app only when
HEARTH_TRUSTED_PROXIES is set, and the lean ingest path resolves the client IP itself
(web/ingest/clientip.py) from the same setting. Running uvicorn's middleware on every
request cost ~15% of the CPU of an ingest request for an answer ingest already computes.
"""

from __future__ import annotations

from uvicorn_worker import UvicornWorker


class HearthUvicornWorker(UvicornWorker):
    CONFIG_KWARGS = {
        **UvicornWorker.CONFIG_KWARGS,
        "http": "web.core.http_protocol:CoalescingHttpToolsProtocol",
        "proxy_headers": False,
    }
