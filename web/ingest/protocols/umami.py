"""Umami's collect API (POST /api/send, /api/batch), as its clients send it.

Shapes read from the clients' sources: the browser tracker 2.x (``umami`` 2.10 on npm,
``src/tracker/index.js``: ``url`` is a path, ``title`` is percent-encoded) and 3.x
(umami-software/umami ``src/tracker/index.js``: ``url`` is the full href, types ``event``,
``identify`` and ``performance``), and the Node client ``@umami/node`` 0.4
(``track(name, data)`` sends only ``{website, name, data}``: no url, no hostname).
The server side is matched to umami ``src/app/api/send/route.ts``: every payload field
but ``website`` is optional and nested ``data`` is flattened to dotted keys
(``src/lib/data.ts`` ``flattenJSON``).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import unquote

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import PAGEVIEW, Incoming
from web.ingest.validate import Hit, Skip

# Flattened ``data`` keeps at most this many keys (in the order they come); longer keys
# and values are cut. Umami itself has no limit; ours bounds what one event stores.
MAX_DATA_KEYS = v.MAX_PROPS
MAX_DEPTH = 5


def flatten_data(value: Any, key: str = "payload.data") -> dict[str, str] | None:
    """Umami's ``data`` as Hearth props: nested objects become dotted keys (``a.b.c``, as
    Umami stores them), arrays and objects nested deeper than MAX_DEPTH become their JSON
    text, booleans ``true``/``false``, numbers their decimal text; nulls are left out.

    Keys after the first MAX_DATA_KEYS are dropped, keys are cut at MAX_PROP_KEY and values
    at MAX_PROP_VALUE characters: an event is never refused for its data's size.
    """
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise BadInput(f"'{key}' must be a JSON object")
    out: dict[str, str] = {}

    def walk(obj: dict[str, Any], prefix: str, depth: int) -> None:
        for k, item in obj.items():
            if len(out) >= MAX_DATA_KEYS:
                return
            name = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(item, dict) and depth < MAX_DEPTH:
                walk(item, name, depth + 1)
                continue
            if item is None:
                continue
            if isinstance(item, bool):
                text = "true" if item else "false"
            elif isinstance(item, int | float):
                if isinstance(item, float) and not math.isfinite(item):
                    raise BadInput(f"'{key}.{name}' must be a finite number")
                text = str(item)
            elif isinstance(item, str):
                text = item
            else:  # a list, or an object nested too deep: its JSON text, as Umami stores arrays
                text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            if "\x00" in text or "\x00" in name:
                raise BadInput(f"'{key}' contains a NUL character")
            if name:
                out[name[: v.MAX_PROP_KEY]] = text[: v.MAX_PROP_VALUE]

    walk(value, "", 1)
    return out or None


def _width(screen: str) -> int | None:
    """Width from Umami's ``"1280x720"``; anything else (Umami accepts any short string) is
    no width rather than an error."""
    head = screen.split("x", 1)[0].strip()
    if not head.isdigit():
        return None
    width = int(head)
    return width if width <= v.MAX_SCREEN else None


def _cut(value: Any, key: str, limit: int) -> str:
    """A string field Umami takes at any length (the title): cut, not refused."""
    if isinstance(value, str):
        value = value[:limit]
    return v.text(value, key, max_len=limit)


def _page(raw: str, hostname: str) -> str:
    """The page URL: the full href (3.x), a path on ``hostname`` (2.x), or with neither
    (the Node client's ``track(name, data)``) the path '/' that the pipeline completes with
    the site's first domain, as Umami falls back to its own base URL. The ``#fragment`` is
    kept: Umami stores it in the path (its tracker's ``data-exclude-hash`` drops it)."""
    if "://" in raw:
        return v.page_url(raw, "payload.url", keep_hash=True)
    path = raw if raw.startswith("/") else "/" + raw
    if hostname:
        return v.page_url(f"https://{hostname}{path}", "payload.url", keep_hash=True)
    return path


def _umami_one(item: Any) -> Hit | Skip:
    d = v.as_object(item, "event")
    kind = v.text(d.get("type"), "type", max_len=20, required=True).lower()
    p = v.as_object(d.get("payload"), "'payload'")
    if kind not in ("event", "identify", "performance"):
        raise BadInput("'type' must be 'event', 'identify' or 'performance'")
    website = v.text(p.get("website"), "payload.website", max_len=60)
    if not website:
        if p.get("link") or p.get("pixel"):
            return Skip("unsupported")  # Umami's link and pixel features: no Hearth site
        raise BadInput("'payload.website' is required")
    if kind == "identify":
        # Session properties have no place in Hearth's privacy model (no visitor profile):
        # dropped, counted under "identify" where the owner sees drops.
        return Skip("identify", ("alias", website))
    if kind == "performance":
        return Skip("performance", ("alias", website))  # 3.x web vitals: not stored
    hostname = v.text(p.get("hostname"), "payload.hostname", max_len=253).lower()
    url = _page(v.text(p.get("url"), "payload.url", max_len=v.MAX_URL), hostname)
    ref = v.text(p.get("referrer"), "payload.referrer", max_len=v.MAX_URL)
    if "://" not in ref:
        ref = ""  # a same-site path: Umami sends it for internal navigation
    name = v.text(p.get("name"), "payload.name", max_len=v.MAX_NAME)
    # 2.x percent-encodes the title (encodeURIComponent); Umami decodes it when it stores it.
    title = unquote(_cut(p.get("title"), "payload.title", 3 * v.MAX_TITLE))
    return Hit(
        src="umami",
        kind="custom" if name else "pageview",
        name=name or PAGEVIEW,
        url=url,
        site_by=("alias", website),
        ref=v.referrer(ref, "payload.referrer"),
        props=flatten_data(p.get("data")),
        screen=_width(v.text(p.get("screen"), "payload.screen", max_len=20)),
        lang=v.text(p.get("language"), "payload.language", max_len=v.MAX_LANG),
        title=title[: v.MAX_TITLE],
        ua=_cut(p.get("userAgent"), "payload.userAgent", 500),  # 3.x server-side senders
    )


def parse_umami_send(req: Incoming) -> list[Hit | Skip]:
    """POST /api/send: ``{type, payload: {website, hostname?, url?, referrer?, ...}}``."""
    return [_umami_one(v.load_json(req.body))]


def parse_umami_batch(req: Incoming) -> list[Hit | Skip]:
    """POST /api/batch: an array of /api/send bodies."""
    return [_umami_one(item) for item in v.batch(v.load_json(req.body), "body")]


def reply(result: dict[str, Any]) -> bytes:
    """The 202 body of the Umami paths: compact ASCII JSON with no ``cache`` and no
    ``disabled`` key. Tracker 3.x reads ``data.cache`` (absent, so it sends no
    ``x-umami-cache``) and ``data.disabled`` (absent, so it keeps tracking); tracker 2.x
    echoes the whole text back in ``x-umami-cache``, which is a valid header value (ASCII,
    one line) that Hearth allows in the preflight and ignores."""
    return json.dumps(result, separators=(",", ":"), ensure_ascii=True).encode()
