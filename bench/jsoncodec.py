"""Micro-benchmark: json vs web/messaging/jsoncodec.py (orjson with json's semantics).

µs per call, best of 7 rounds, in this process (no servers). Pin it for stable numbers:
``taskset -c 1 .venv/bin/python -m bench jsoncodec``.

- ``pack_decode_*``: worker/runtime.py ``decode()`` body, a 100-event ``analytics.events``
  pack (``pack_bytes`` of JSON) as the web side publishes it;
- ``pack_encode_*``: web/messaging/envelope.py ``encode()`` body of the same pack;
  ``pack_encode_nonascii_*``: the same with a non-ASCII title in every fifth event;
- ``beacon_parse_*``: web/ingest/validate.py ``load_json()`` of a native tracker beacon;
- ``response_dumps_*``: web/ingest/handler.py's ``json.dumps(result)`` of a 202 answer for
  several events, against bare orjson (not adopted: see docs/architecture/ingest.md).

``*_json_us`` is the standard library (before), ``*_us`` the code as it runs now (after).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import orjson

from web.ingest.validate import _reject_constant, load_json
from web.messaging.envelope import MAX_BODY_BYTES
from web.messaging.jsoncodec import dumps_compact, loads

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _event(i: int, title: str) -> dict[str, Any]:
    """One event as web/ingest/validate.py to_event stamps it (about 350 bytes of JSON)."""
    event: dict[str, Any] = {
        "v": 1,
        "site": 1 + i % 3,
        "kind": "pageview",
        "name": "pageview",
        "url": f"https://blog.example.org/posts/{i % 40}/a-post-slug?utm_source=feed",
        "ref": "https://news.ycombinator.com/" if i % 4 == 0 else "",
        "ts": 1795000000.123 + i / 1000,
        "ip": f"203.0.113.{i % 250 + 1}",
        "ua": UA,
        "src": "hearth",
        "screen": 1440,
        "lang": "en-GB",
        "title": title,
    }
    if i % 5 == 0:
        event["kind"], event["name"] = "custom", "Signup"
        event["props"] = {"plan": "pro", "variant": "b"}
    return event


def _pack(non_ascii: bool) -> dict[str, Any]:
    titles = [
        f"Café crème, part {i}" if non_ascii and i % 5 == 0 else f"A post title, part {i}"
        for i in range(100)
    ]
    return {"v": 1, "events": [_event(i, t) for i, t in enumerate(titles)]}


BEACON = json.dumps(
    {
        "k": "pk_live_4f2a9c",
        "n": "pageview",
        "u": "https://blog.example.org/posts/12/a-post-slug?utm_source=feed",
        "r": "https://news.ycombinator.com/",
        "w": 1440,
        "l": "en-GB",
        "t": "A post title, part 12",
    }
).encode()


def _per_call_us(fn: Callable[[], object], rounds: int = 7, budget_s: float = 0.05) -> float:
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    n = max(10, int(budget_s / once))
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return round(best * 1e6, 2)


def _json_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def run() -> dict[str, float]:
    pack, pack_na = _pack(False), _pack(True)
    body = dumps_compact(pack, limit=MAX_BODY_BYTES)
    assert loads(body) == pack == json.loads(_json_dumps(pack))
    assert len(dumps_compact(pack_na, limit=MAX_BODY_BYTES)) < len(_json_dumps(pack_na))
    result = {"ok": True, "accepted": 3, "dropped": "bot"}
    m = {
        "pack_bytes": float(len(_json_dumps(pack))),
        "pack_decode_json_us": _per_call_us(lambda: json.loads(body)),
        "pack_decode_us": _per_call_us(lambda: loads(body)),
        "pack_encode_json_us": _per_call_us(lambda: _json_dumps(pack)),
        "pack_encode_us": _per_call_us(lambda: dumps_compact(pack, limit=MAX_BODY_BYTES)),
        "pack_encode_nonascii_json_us": _per_call_us(lambda: _json_dumps(pack_na)),
        "pack_encode_nonascii_us": _per_call_us(
            lambda: dumps_compact(pack_na, limit=MAX_BODY_BYTES)
        ),
        "beacon_parse_json_us": _per_call_us(
            lambda: json.loads(BEACON, parse_constant=_reject_constant)
        ),
        "beacon_parse_us": _per_call_us(lambda: load_json(BEACON)),
        "response_dumps_json_us": _per_call_us(lambda: json.dumps(result).encode()),
        "response_dumps_orjson_us": _per_call_us(lambda: orjson.dumps(result)),
    }
    for path in ("pack_decode", "pack_encode", "pack_encode_nonascii", "beacon_parse"):
        m[f"{path}_speedup"] = round(m[f"{path}_json_us"] / m[f"{path}_us"], 2)
    return m


if __name__ == "__main__":
    from bench import format_table

    print(format_table("jsoncodec", run()))
