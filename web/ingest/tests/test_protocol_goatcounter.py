"""GoatCounter's /count with the exact query strings count.js builds (issue 16, item 6).

count.js (arp242/goatcounter public/count.js) sends ``urlencode(get_data())``: ``p`` is
``location.pathname + location.search``, ``q`` is ``location.search`` again, empty and
``false`` values are left out, ``b=0`` is sent, ``rnd`` is random. The queries below are
what that code produces on https://shop.example/menu?utm_campaign=winter&utm_source=newsletter.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from web.ingest.errors import BadInput
from web.ingest.protocols.common import Incoming
from web.ingest.protocols.goatcounter import parse_goatcounter
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, call, make_app

SEARCH = "?utm_campaign=winter&utm_source=newsletter"
LANDING = "https://shop.example/menu" + SEARCH


def enc(s: str) -> str:
    """JavaScript's encodeURIComponent."""
    return quote(s, safe="-_.!~*'()")


# goatcounter.count() on page load.
PAGEVIEW_Q = (
    f"p={enc('/menu' + SEARCH)}&r={enc('https://news.example/item?id=1')}&t=Menu&s=1280"
    f"&b=0&q={enc(SEARCH)}&rnd=k2j3d"
)
# A click on <button data-goatcounter-click="signup-click" title="Sign up">: path is the
# event name, referrer '' is left out, e=true.
EVENT_Q = f"p=signup-click&t=Sign%20up&e=true&s=1280&b=0&q={enc(SEARCH)}&rnd=x81ka"
ORIGIN_ONLY = "https://shop.example/"  # what a browser sends as Referer cross-origin


def req(query: str, **headers: str) -> Incoming:
    return Incoming(method="GET", query=query, **headers)


@pytest.mark.parametrize(
    ("incoming", "want"),
    [
        (
            req(PAGEVIEW_Q, referer=ORIGIN_ONLY),
            {
                "kind": "pageview",
                "url": LANDING,  # the query once, utm_campaign intact
                "ref": "https://news.example/item?id=1",
                "title": "Menu",
                "screen": 1280,
                "bot_hint": False,
                "site_by": ("host", "shop.example"),
            },
        ),
        (
            # A canonical link or path callback dropped the query: the campaign comes from q.
            req(
                f"p=%2Fmenu&t=Menu&s=1280&b=0&q={enc(SEARCH + '&x=1')}",
                origin="https://shop.example",
            ),
            {"url": LANDING},
        ),
        (
            req(EVENT_Q, referer=ORIGIN_ONLY),
            {"kind": "custom", "name": "signup-click", "title": "Sign up", "url": ORIGIN_ONLY},
        ),
        (
            # Same-origin (or a permissive referrer policy): the Referer is the page.
            req(EVENT_Q, referer=LANDING),
            {"kind": "custom", "name": "signup-click", "url": LANDING},
        ),
        (
            req("p=%2F&e=true&b=0", referer=ORIGIN_ONLY),
            {"name": "(no event name)"},
        ),
        (
            # data-goatcounter="https://hearth.example/count?k=shopkey": count.js appends "?p=".
            req("k=shopkey?" + PAGEVIEW_Q),
            {"site_by": ("key", "shopkey"), "url": "/menu" + SEARCH},
        ),
        (
            # A hand-written <img src=".../count?p=/page?x=1"> keeps its query in p.
            req("p=/page?x=1", referer=ORIGIN_ONLY),
            {"url": "https://shop.example/page?x=1"},
        ),
        (req(PAGEVIEW_Q.replace("b=0", "b=153"), referer=ORIGIN_ONLY), {"bot_hint": True}),
    ],
    ids=[
        "pageview",
        "campaign from q",
        "event cross-origin",
        "event same-origin",
        "no name",
        "k in endpoint",
        "img with query",
        "headless",
    ],
)
def test_count_js_shapes(incoming: Incoming, want: dict[str, Any]) -> None:
    [hit] = parse_goatcounter(incoming)
    assert hit.src == "goatcounter"
    for attr, value in want.items():
        assert getattr(hit, attr) == value, attr


@pytest.mark.parametrize(
    ("incoming", "message"),
    [
        (req("t=x", referer=ORIGIN_ONLY), "'p' is required"),
        (req("p=%2Fa"), "cannot tell the site"),
        (req("p=%2Fa&s=wide", referer=ORIGIN_ONLY), "'s' must be a number"),
        (req("p=" + "a" * 2001, referer=ORIGIN_ONLY), "longer than"),
        (req("p=%2Fa&q=" + "%26a%3D1" * 41, referer=ORIGIN_ONLY), "too many parameters"),
    ],
)
def test_malformed_is_400(incoming: Incoming, message: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_goatcounter(incoming)
    assert message in info.value.message


def test_utm_campaign_is_stored_unmangled() -> None:
    app, rec = make_app()
    r = call(app, "GET", "/count", query=PAGEVIEW_Q, headers={"referer": "http://127.0.0.1/"})
    assert r.status == 202 and r.headers["content-type"] == "image/gif"
    [event] = rec.events
    assert event["url"] == "http://127.0.0.1/menu" + SEARCH


def test_count_js_through_the_real_web_process(ingest_web: WebProcess) -> None:
    web, run = ingest_web, uuid.uuid4().hex[:8]
    seq = web.last_seq()
    page = f"http://127.0.0.1/{run}/menu{SEARCH}"
    view_q = PAGEVIEW_Q.replace(enc("/menu" + SEARCH), enc(f"/{run}/menu" + SEARCH))
    event_q = EVENT_Q.replace("signup-click", f"click-{run}")
    with httpx.Client(base_url=web.url, headers={"user-agent": BROWSER_UA}, timeout=10) as c:
        r1 = c.get(f"/count?{view_q}", headers={"referer": "http://127.0.0.1/"})
        r2 = c.post(f"/count?{event_q}", headers={"referer": page, "origin": "http://127.0.0.1"})
    assert (r1.status_code, r2.status_code) == (202, 202), (r1.text, r2.text)
    events = [e for e in web.wait_events(seq, 2) if e["src"] == "goatcounter"]
    assert [(e["kind"], e["name"], e["url"]) for e in events] == [
        ("pageview", "pageview", page),
        ("custom", f"click-{run}", page),
    ]
