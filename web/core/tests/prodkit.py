"""Requests through the real production settings, in a child process.

`python -m web.core.tests.prodkit` (with HEARTH_MODE=production and the other HEARTH_*
variables set by the caller) migrates the data dir, sends a request with a bad Host and one
to a view that raises, through Django's whole handler stack and LOGGING, and prints one JSON
line: per request the status (or the exception that escaped Django, which a server turns
into a bare 500), the seconds it took and the start of the body.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def boom(request: Any) -> Any:
    raise RuntimeError("prodkit: a view that raises")


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.urls import include, path

    call_command("migrate", verbosity=0, interactive=False)
    call_command("migrate", database="ttl", verbosity=0, interactive=False)
    # This module is the URLconf: the site plus one view that raises.
    sys.modules[__name__].urlpatterns = [  # type: ignore[attr-defined]
        path("prodkit-boom", boom),
        path("", include("web.urls")),
    ]
    client = Client(raise_request_exception=False)
    good_host = settings.ALLOWED_HOSTS[0]
    out: dict[str, dict[str, Any]] = {}
    cases = {"bad_host": ("evil.example", "/healthz"), "boom": (good_host, "/prodkit-boom")}
    with override_settings(ROOT_URLCONF=__name__):
        for name, (host, url) in cases.items():
            started = time.monotonic()
            try:
                r = client.get(url, HTTP_HOST=host, secure=True)
                result: dict[str, Any] = {
                    "status": r.status_code,
                    "body": r.content.decode(errors="replace")[:300],
                }
            except Exception as exc:  # what escapes Django becomes the server's bare 500
                result = {"status": None, "error": f"{type(exc).__name__}: {exc}"}
            result["seconds"] = round(time.monotonic() - started, 3)
            out[name] = result
    print(json.dumps(out))


if __name__ == "__main__":
    main()
