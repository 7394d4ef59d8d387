"""Umami's /api/send and /api/batch with the request shapes its real clients send
(issue 16, items 2 and 3): tracker 2.x (npm ``umami`` 2.10), tracker 3.x
(umami-software/umami src/tracker/index.js) and ``@umami/node`` 0.4."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from web.ingest.errors import BadInput
from web.ingest.protocols import umami
from web.ingest.protocols.common import Incoming
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, call, make_app
from web.ingest.tests.protocol_helpers import add_aliases
from web.ingest.validate import Skip

UUID = "8e5b3a4c-2f7d-4a51-9c43-0f6f2d1e7b90"


def post(obj: Any) -> Incoming:
    return Incoming(method="POST", body=json.dumps(obj).encode(), content_type="application/json")


# What tracker 2.10's getPayload() sends: url is a path (encodeURI), title percent-encoded.
V2_PAGEVIEW = {
    "type": "event",
    "payload": {
        "website": UUID,
        "hostname": "shop.example",
        "screen": "1920x1080",
        "language": "en-US",
        "title": "Caf%C3%A9%20%26%20Bar",
        "url": "/menu?utm_campaign=winter&utm_source=newsletter",
        "referrer": "https://news.example/item?id=1",
    },
}
# What tracker 3.x sends: url is the full href, plus tag and id (distinct id) fields.
V3_EVENT = {
    "type": "event",
    "payload": {
        "website": UUID,
        "screen": "390x844",
        "language": "de-DE",
        "title": "Café & Bar",
        "hostname": "shop.example",
        "url": "https://shop.example/menu#top",
        "referrer": "",
        "tag": "b",
        "id": "user-42",
        "name": "Order",
        "data": {"plan": "pro", "cart": {"items": 3, "coupon": {"code": "X"}}, "tags": [1, 2]},
    },
}
# @umami/node track("signup", {plan: "pro"}): no url, no hostname.
NODE_TRACK = {
    "type": "event",
    "payload": {"website": UUID, "name": "signup", "data": {"plan": "pro"}},
}


@pytest.mark.parametrize(
    ("body", "want"),
    [
        (
            V2_PAGEVIEW,
            {
                "kind": "pageview",
                "name": "pageview",
                "url": "https://shop.example/menu?utm_campaign=winter&utm_source=newsletter",
                "title": "Café & Bar",
                "ref": "https://news.example/item?id=1",
                "screen": 1920,
                "lang": "en-US",
                "site_by": ("alias", UUID),
                "props": None,
            },
        ),
        (
            V3_EVENT,
            {
                "kind": "custom",
                "name": "Order",
                "url": "https://shop.example/menu#top",  # Umami keeps the hash in the path
                "title": "Café & Bar",
                "ref": "",
                "screen": 390,
                "props": {
                    "plan": "pro",
                    "cart.items": "3",
                    "cart.coupon.code": "X",
                    "tags": "[1,2]",
                },
            },
        ),
        (NODE_TRACK, {"kind": "custom", "name": "signup", "url": "/", "props": {"plan": "pro"}}),
        (
            {"type": "event", "payload": {"website": UUID, "hostname": "shop.example"}},
            {"kind": "pageview", "url": "https://shop.example/"},
        ),
        (
            {"type": "EVENT", "payload": {"website": UUID, "url": "menu", "hostname": "a.example"}},
            {"url": "https://a.example/menu"},  # Umami resolves a relative url against the host
        ),
    ],
    ids=["tracker 2.x pageview", "tracker 3.x event", "node track(name, data)", "no url", "rel"],
)
def test_real_client_shapes(body: dict[str, Any], want: dict[str, Any]) -> None:
    [hit] = umami.parse_umami_send(post(body))
    assert not isinstance(hit, Skip)
    for attr, value in want.items():
        assert getattr(hit, attr) == value, attr


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"type": "identify", "payload": {"website": UUID, "data": {"plan": "pro"}}}, "identify"),
        ({"type": "performance", "payload": {"website": UUID, "lcp": 1200.5}}, "performance"),
        ({"type": "event", "payload": {"link": UUID, "url": "/x"}}, "unsupported"),
    ],
)
def test_recognised_but_not_stored(body: dict[str, Any], reason: str) -> None:
    [skip] = umami.parse_umami_send(post(body))
    assert skip == Skip(reason)
    # The site is named, so the drop can be counted for it (Site admin).
    assert isinstance(skip, Skip) and skip.site_by == (
        ("alias", UUID) if reason != "unsupported" else None
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "event", "payload": {"url": "/x"}}, "'payload.website' is required"),
        ({"type": "event", "payload": {"website": UUID, "data": [1]}}, "must be a JSON object"),
        ({"type": "event", "payload": {"website": UUID, "url": "ftp://x/"}}, "http(s)"),
        ({"type": "track", "payload": {"website": UUID}}, "'type' must be"),
        ({"type": "event", "payload": {"website": UUID, "url": "/" + "a" * 2001}}, "longer"),
        ({"type": "event", "payload": {"website": UUID, "name": "n" * 121}}, "longer"),
    ],
)
def test_malformed_is_400(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput) as info:
        umami.parse_umami_send(post(body))
    assert message in info.value.message


def test_data_is_flattened_within_documented_limits() -> None:
    wide = {f"k{i}": i for i in range(40)}
    assert len(umami.flatten_data(wide) or {}) == umami.MAX_DATA_KEYS
    deep: dict[str, Any] = {"v": 1}
    for _ in range(8):
        deep = {"a": deep}
    flat = umami.flatten_data(deep) or {}
    [(key, value)] = flat.items()
    assert key == "a.a.a.a.a" and json.loads(value) == {"a": {"a": {"a": {"v": 1}}}}
    assert umami.flatten_data({"t": True, "f": False, "n": None, "x": 1.5}) == {
        "t": "true",
        "f": "false",
        "x": "1.5",
    }
    assert umami.flatten_data({"long": "v" * 900}) == {"long": "v" * 500}


def test_preflight_allows_x_umami_cache() -> None:
    app, _ = make_app()
    r = call(
        app,
        "OPTIONS",
        "/api/send",
        headers={
            "origin": "https://shop.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-umami-cache",
        },
    )
    assert r.status == 204
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-umami-cache"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-origin"] == "*"
    # A malformed request list falls back to content-type only, never echoes junk.
    r = call(app, "OPTIONS", "/api/send", headers={"access-control-request-headers": "a b\x7f"})
    assert r.headers["access-control-allow-headers"] == "content-type"


def test_reply_echoed_back_is_harmless() -> None:
    """Tracker 2.x echoes the body in x-umami-cache; 3.x reads data.cache/data.disabled."""
    app, rec = make_app()
    event = {"type": "event", "payload": {"website": "shopkey", "url": "https://shop.example/"}}
    first = call(app, "POST", "/api/send", body=json.dumps(event).encode())
    assert first.status == 202
    data = json.loads(first.body)
    assert "cache" not in data and "disabled" not in data  # 3.x: no header, keeps tracking
    assert first.body.isascii() and b"\n" not in first.body  # 2.x: a valid header value
    second = call(
        app,
        "POST",
        "/api/send",
        body=json.dumps(event).encode(),
        headers={"x-umami-cache": first.body.decode(), "content-type": "application/json"},
    )
    assert second.status == 202 and json.loads(second.body) == data
    assert [e["url"] for e in rec.events] == ["https://shop.example/"] * 2


def test_identify_is_counted_and_node_track_lands_on_the_site_domain() -> None:
    app, rec = make_app()
    r = call(
        app,
        "POST",
        "/api/send",
        body=json.dumps(
            {"type": "identify", "payload": {"website": "shopkey", "data": {}}}
        ).encode(),
    )
    assert r.status == 202 and r.headers["x-hearth-drop"] == "identify"
    assert json.loads(r.body) == {"ok": True, "accepted": 0, "dropped": "identify"}
    node = {
        "type": "event",
        "payload": {"website": "shopkey", "name": "signup", "data": {"a": {"b": 1}}},
    }
    r = call(app, "POST", "/api/send", body=json.dumps(node).encode())
    assert r.status == 202
    [event] = rec.events
    assert event["site"] == 7 and event["url"] == "https://shop.example/"
    assert event["kind"] == "custom" and event["props"] == {"a.b": "1"}


def test_umami_uuid_alias_through_the_real_web_process(ingest_web: WebProcess) -> None:
    """A 3.x event, a Node track() without url and an identify, posted over HTTP to the
    real web process, under an Umami website UUID that is an alias of site 1."""
    web, run = ingest_web, uuid.uuid4().hex[:8]
    website = str(uuid.uuid4())
    add_aliases(web, 1, website)
    seq = web.last_seq()
    page = f"http://127.0.0.1/{run}/menu"
    v3 = {"type": "event", "payload": {**V3_EVENT["payload"], "website": website, "url": page,
                                       "hostname": "127.0.0.1"}}  # fmt: skip
    node = {"type": "event", "payload": {"website": website, "name": f"signup-{run}"}}
    ident = {"type": "identify", "payload": {"website": website, "data": {"a": 1}}}
    headers = {"user-agent": BROWSER_UA, "content-type": "application/json"}
    with httpx.Client(base_url=web.url, headers=headers, timeout=10) as c:
        r1 = c.post("/api/send", content=json.dumps(v3))
        r2 = c.post("/api/send", content=json.dumps(node), headers={"x-umami-cache": r1.text})
        r3 = c.post("/api/send", content=json.dumps(ident))
    assert [r.status_code for r in (r1, r2, r3)] == [202, 202, 202], [r1.text, r2.text, r3.text]
    assert r3.headers["x-hearth-drop"] == "identify"
    events = [e for e in web.wait_events(seq, 2) if e["src"] == "umami"]
    assert len(events) == 2
    order, signup = events
    assert order["site"] == 1 and order["url"] == page and order["name"] == "Order"
    assert order["props"]["cart.coupon.code"] == "X"
    assert signup["site"] == 1 and signup["name"] == f"signup-{run}"
    assert signup["url"].startswith("https://") and signup["url"].endswith("/")


def test_user_agent_in_the_payload_stands_for_the_visitor() -> None:
    visitor = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    body = {"type": "event", "payload": {**NODE_TRACK["payload"], "userAgent": visitor}}
    [hit] = umami.parse_umami_send(post(body))
    assert not isinstance(hit, Skip) and hit.ua == visitor
