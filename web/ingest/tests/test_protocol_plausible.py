"""Plausible's /api/event with the request shapes of its real trackers (issue 16, item 5):
``@plausible-analytics/tracker`` 0.4.6 (pageview and engagement) and ``plausible-tracker``
0.3.9 (props as a JSON string, ``w``, ``h: 0``)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from web.ingest.errors import BadInput
from web.ingest.protocols.common import Incoming
from web.ingest.protocols.plausible import parse_plausible
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, call, make_app

PAGE = "https://shop.example/blog/post?utm_campaign=winter"


def post(obj: Any) -> Incoming:
    return Incoming(method="POST", body=json.dumps(obj).encode(), content_type="text/plain")


# 0.4.6: o.n, o.v=36, o.u=location.href, o.d, o.r=document.referrer||null, o.p when props.
V04_PAGEVIEW = {"n": "pageview", "v": 36, "u": PAGE, "d": "shop.example", "r": None}
# 0.4.6 engagement: {n:"engagement", sd, d, u, p, e, v:36} (+ h:1 with hash routing).
V04_ENGAGEMENT = {
    "n": "engagement",
    "sd": 73,
    "d": "shop.example",
    "u": PAGE,
    "p": {"author": "ann"},
    "e": 12345,
    "v": 36,
}
# 0.3.9: {n, u, d, r, w, h, p: JSON.stringify(props)}.
V03_EVENT = {
    "n": "Signup",
    "u": PAGE,
    "d": "shop.example",
    "r": "https://duck.example/",
    "w": 1280,
    "h": 0,
    "p": json.dumps({"plan": "pro"}),
}


@pytest.mark.parametrize(
    ("body", "want"),
    [
        (V04_PAGEVIEW, {"kind": "pageview", "url": PAGE, "ref": "", "engaged_ms": None}),
        (
            V04_ENGAGEMENT,
            {"kind": "engagement", "engaged_ms": 12345, "scroll": 73, "props": None, "url": PAGE},
        ),
        (
            {**V04_ENGAGEMENT, "h": 1, "u": PAGE + "#/app"},
            {"kind": "engagement", "url": PAGE + "#/app"},
        ),
        ({**V04_ENGAGEMENT, "sd": 140, "e": -5}, {"scroll": 100, "engaged_ms": 0}),
        ({**V04_ENGAGEMENT, "sd": None, "e": None}, {"scroll": None, "engaged_ms": 0}),
        (
            V03_EVENT,
            {"kind": "custom", "name": "Signup", "props": {"plan": "pro"}, "screen": 1280},
        ),
        (
            # plausible("Purchase", {props: {plan: "pro"},
            #                        revenue: {amount: 10.5, currency: "eur"}})
            {
                **V04_PAGEVIEW,
                "n": "Purchase",
                "p": {"plan": "pro"},
                "$": {"amount": 10.5, "currency": "eur"},
            },
            {
                "kind": "custom",
                "props": {"plan": "pro", "revenue_amount": "10.5", "revenue_currency": "EUR"},
            },
        ),
    ],
    ids=[
        "0.4 pageview",
        "0.4 engagement",
        "engagement hash",
        "clamped",
        "missing",
        "0.3 event",
        "revenue",
    ],
)
def test_real_tracker_shapes(body: dict[str, Any], want: dict[str, Any]) -> None:
    [hit] = parse_plausible(post(body))
    assert hit.site_by == ("host", "shop.example")
    for attr, value in want.items():
        assert getattr(hit, attr) == value, attr


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**V04_ENGAGEMENT, "e": "soon"}, "'e' must be a number"),
        ({**V04_ENGAGEMENT, "sd": [1]}, "'sd' must be a number"),
        ({**V04_ENGAGEMENT, "e": 1e300}, "'e' must be between"),
        ({**V04_PAGEVIEW, "n": "Buy", "$": {"amount": "lots", "currency": "EUR"}}, "'$.amount'"),
        ({**V04_PAGEVIEW, "n": "Buy", "$": {"amount": 1}}, "'$.currency' is required"),
        ({**V04_PAGEVIEW, "n": "Buy", "$": [1]}, "must be a JSON object"),
    ],
)
def test_malformed_engagement_is_400(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_plausible(post(body))
    assert message in info.value.message


def test_engagement_is_published_with_time_and_scroll() -> None:
    app, rec = make_app()
    r = call(app, "POST", "/api/event", body=json.dumps(V04_ENGAGEMENT).encode())
    assert r.status == 202
    [event] = rec.events
    assert event["kind"] == "engagement" and event["name"] == "engagement"
    assert event["engaged_ms"] == 12345 and event["scroll"] == 73 and "props" not in event


def test_engagement_through_the_real_web_process(ingest_web: WebProcess) -> None:
    web, run = ingest_web, uuid.uuid4().hex[:8]
    page = f"http://127.0.0.1/{run}"
    seq = web.last_seq()
    pageview = {"n": "pageview", "v": 36, "u": page, "d": "127.0.0.1", "r": None}
    engagement = {**V04_ENGAGEMENT, "u": page, "d": "127.0.0.1"}
    with httpx.Client(base_url=web.url, headers={"user-agent": BROWSER_UA}, timeout=10) as c:
        sent = [c.post("/api/event", content=json.dumps(b)) for b in (pageview, engagement)]
    assert [r.status_code for r in sent] == [202, 202]
    events = [e for e in web.wait_events(seq, 2) if e["src"] == "plausible"]
    assert [(e["kind"], e["url"]) for e in events] == [("pageview", page), ("engagement", page)]
    assert events[1]["engaged_ms"] == 12345 and events[1]["scroll"] == 73
