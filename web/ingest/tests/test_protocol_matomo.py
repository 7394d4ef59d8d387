"""The Matomo HTTP Tracking API with the requests its real clients send (issue 16, item 8).

The query strings are what matomo-org/matomo js/piwik.js ``getRequest`` builds
(``action_name``/``e_c``…, then ``idsite, rec, r, h, m, s, url, urlref, _id, _idn,
send_image=0``, the browser features ``pdf, qt, …, cookie, res`` and ``uadata``), and what
the Node client ``matomo-tracker`` 2.2.4 sends (``querystring.stringify(options)`` with
``idsite`` and ``rec=1`` appended; ``trackBulk`` posts ``{"requests": ["?…"]}``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from web.ingest.errors import BadInput
from web.ingest.protocols.common import Incoming
from web.ingest.protocols.matomo import parse_matomo
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, call, make_app
from web.ingest.tests.protocol_helpers import add_aliases
from web.ingest.validate import Skip

PAGE = "https://shop.example/menu?utm_campaign=winter"


def enc(s: str) -> str:
    return quote(s, safe="-_.!~*'()")


TAIL = (
    f"&idsite=3&rec=1&r=482913&h=10&m=5&s=12&url={enc(PAGE)}"
    f"&urlref={enc('https://news.example/item')}&_id=1a2b3c4d5e6f7a8b&_idn=0&send_image=0"
    "&_refts=0&pdf=1&qt=0&realp=0&wma=0&fla=0&java=0&ag=0&cookie=1&res=1280x720"
    f"&uadata={enc(json.dumps({'fullVersionList': [{'brand': 'Chromium', 'version': '131'}]}))}"
)
PAGEVIEW = (
    f"action_name={enc('Menu \u2013 Shop')}{TAIL}&pv_id=AbC123&pf_net=10&pf_srv=50&dimension1=pro"
)
EVENT = f"e_c=Videos&e_a=Play&e_n=Intro&e_v=12.5&ca=1{TAIL}&e_cvar={enc('{"1":["tier","gold"]}')}"
LINK = f"link={enc('https://example.org/out')}{TAIL}"
DOWNLOAD = f"download={enc('https://shop.example/files/a.pdf')}{TAIL}"
SEARCH = f"search=shoes&search_cat=&search_count=4{TAIL}"
# matomo-tracker 2.2.4: track({url, action_name}) → qs.stringify + idsite + rec.
NODE = urlencode({"url": "https://shop.example/", "action_name": "Home", "idsite": 3, "rec": 1})


def beacon(query: str) -> Incoming:
    """piwik.js's default: sendBeacon POST with the request in the URL and an empty body."""
    return Incoming("POST", query=query, content_type="application/x-www-form-urlencoded")


def form(query: str) -> Incoming:
    """piwik.js for a request over 2,000 characters, or setRequestMethod('POST')."""
    return Incoming("POST", body=query.encode(), content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize(
    ("incoming", "want"),
    [
        (
            beacon(PAGEVIEW),
            {
                "kind": "pageview",
                "name": "pageview",
                "url": PAGE,
                "title": "Menu \u2013 Shop",
                "ref": "https://news.example/item",
                "screen": 1280,
                "props": {"dimension1": "pro"},
                "site_by": ("alias", "3"),
                "src": "matomo",
            },
        ),
        (form(PAGEVIEW), {"kind": "pageview", "url": PAGE}),
        (Incoming("GET", query=PAGEVIEW), {"kind": "pageview", "url": PAGE}),
        (
            beacon(EVENT),
            {
                "kind": "custom",
                "name": "Play",
                "title": "",
                "props": {"category": "Videos", "name": "Intro", "value": "12.5", "tier": "gold"},
            },
        ),
        (
            beacon(LINK),
            {"name": "Outbound Link: Click", "props": {"url": "https://example.org/out"}},
        ),
        (
            beacon(DOWNLOAD),
            {"name": "File Download", "props": {"url": "https://shop.example/files/a.pdf"}},
        ),
        (beacon(SEARCH), {"name": "Site Search", "props": {"keyword": "shoes", "count": "4"}}),
        (
            beacon(f"e_c=%20Videos%20&e_a=Play%20&e_n=%20{TAIL}"),
            {"name": "Play", "props": {"category": "Videos"}},
        ),
        (Incoming("GET", query=NODE), {"kind": "pageview", "url": "https://shop.example/"}),
        (
            # No url: the page is the Referer (a hand-written image tag).
            Incoming("GET", query="idsite=3&rec=1&action_name=x", referer=PAGE),
            {"url": PAGE},
        ),
    ],
    ids=[
        "pageview beacon",
        "pageview form body",
        "pageview GET image",
        "event",
        "outlink",
        "download",
        "site search",
        "event trimmed",
        "node track",
        "no url",
    ],
)
def test_real_client_shapes(incoming: Incoming, want: dict[str, Any]) -> None:
    [hit] = parse_matomo(incoming)
    assert not isinstance(hit, Skip)
    for attr, value in want.items():
        assert getattr(hit, attr) == value, attr


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (f"ping=1{TAIL}", "heartbeat"),
        (f"idgoal=2&revenue=10{TAIL}", "goal"),
        (f"idgoal=0&ec_id=A1&revenue=10{TAIL}", "ecommerce"),
        (f"c_n=Banner&c_p=spring.png&ca=1{TAIL}", "content"),
        ("idsite=3&rec=0&url=" + enc(PAGE), "unsupported"),
        (f"ca=1{TAIL}", "unsupported"),
    ],
)
def test_recognised_but_not_stored(query: str, reason: str) -> None:
    [skip] = parse_matomo(beacon(query))
    assert skip == Skip(reason)
    assert isinstance(skip, Skip) and skip.site_by == ("alias", "3")  # counted for the site


def test_bulk_requests_of_piwik_js_and_the_node_client() -> None:
    # piwik.js sendBulkRequest: '{"requests":["?' + join('","?') + '"],"send_image":0}',
    # labelled application/x-www-form-urlencoded.
    piwik = (
        '{"requests":["?' + '","?'.join([PAGEVIEW, EVENT, f"ping=1{TAIL}"]) + '"],"send_image":0}'
    )
    hits = parse_matomo(form(piwik))
    assert [getattr(h, "name", h) for h in hits] == ["pageview", "Play", Skip("heartbeat")]
    node = json.dumps({"requests": ["?" + NODE, "?" + NODE.replace("Home", "About")]})
    hits = parse_matomo(Incoming("POST", body=node.encode(), content_type="application/json"))
    assert [getattr(h, "title", None) for h in hits] == ["Home", "About"]


@pytest.mark.parametrize(
    ("incoming", "message"),
    [
        (beacon("rec=1&url=" + enc(PAGE)), "'idsite' is required"),
        (beacon("idsite=3&rec=1"), "'url' is required"),
        (beacon("idsite=3&rec=1&url=ftp%3A%2F%2Fx%2F"), "http(s)"),
        (beacon(f"e_a=Play{TAIL}"), "'e_c' is required"),
        (beacon(f"e_c=Videos{TAIL}"), "'e_a' is required"),
        (beacon(f"e_c=Videos&e_a=%20%20{TAIL}"), "'e_a' is required"),
        (beacon(f"e_c=V&e_a=P&e_v=lots{TAIL}"), "'e_v' must be a number"),
        (beacon(f"action_name=x{TAIL}&cvar=%7Boops"), "'cvar' must be a JSON object"),
        (beacon("&".join(f"d{i}=1" for i in range(130))), "more than 120 parameters"),
        (form('{"requests": "?idsite=3"}'), "'requests' must be a JSON array"),
        (form('{"requests": [3]}'), "items must be strings"),
        (form('{"requests": []}'), "'requests' is empty"),
        (form(json.dumps({"requests": ["?" + NODE] * 51})), "more than 50"),
        (Incoming("POST", body=b"\xff\xfe"), "not UTF-8"),
    ],
)
def test_malformed_is_400(incoming: Incoming, message: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_matomo(incoming)
    assert message in info.value.message


def test_answers_a_gif_and_stores_by_idsite_alias() -> None:
    app, rec = make_app()
    page = enc("https://shop.example/a")
    r = call(app, "POST", "/matomo.php", query=f"idsite=shopkey&rec=1&url={page}&action_name=A")
    assert r.status == 200 and r.headers["content-type"] == "image/gif"
    r = call(app, "GET", "/piwik.php", query=f"idsite=7&rec=1&url={page}&e_c=C&e_a=A")
    assert r.status == 200
    assert [(e["site"], e["kind"], e["name"]) for e in rec.events] == [
        (7, "pageview", "pageview"),
        (7, "custom", "A"),
    ]
    r = call(app, "POST", "/matomo.php", query=f"idsite=7&rec=1&ping=1&url={page}")
    assert r.headers["x-hearth-drop"] == "heartbeat" and len(rec.events) == 2


def test_matomo_through_the_real_web_process(ingest_web: WebProcess) -> None:
    """piwik.js's beacon and bulk shapes over HTTP, under a Matomo idsite that is an alias
    of site 1; the Node client's GET too (with a User-Agent: Hearth drops empty ones)."""
    web, run = ingest_web, uuid.uuid4().hex[:8]
    idsite = str(900000 + int(run[:4], 16))
    add_aliases(web, 1, idsite)
    page = f"http://127.0.0.1/{run}/menu"
    tail = TAIL.replace("idsite=3", f"idsite={idsite}").replace(enc(PAGE), enc(page))
    bulk = json.dumps({"requests": [f"?e_c=Videos&e_a=Play-{run}{tail}", f"?ping=1{tail}"]})
    node = NODE.replace("idsite=3", f"idsite={idsite}").replace(
        enc("https://shop.example/"), enc(page + "/node")
    )
    seq = web.last_seq()
    with httpx.Client(base_url=web.url, headers={"user-agent": BROWSER_UA}, timeout=10) as c:
        r1 = c.post(f"/matomo.php?action_name=Menu{tail}")
        form_type = {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}
        r2 = c.post("/piwik.php", content=bulk, headers=form_type)
        r3 = c.get(f"/matomo.php?{node}")
    assert [r.status_code for r in (r1, r2, r3)] == [200] * 3, [r1.text, r2.text]
    assert r1.headers["content-type"] == "image/gif"
    events = [e for e in web.wait_events(seq, 3) if e["src"] == "matomo"]
    assert [(e["site"], e["kind"], e["name"], e["url"]) for e in events] == [
        (1, "pageview", "pageview", page),
        (1, "custom", f"Play-{run}", page),
        (1, "pageview", "pageview", page + "/node"),
    ]
    assert events[0]["title"] == "Menu" and events[1]["props"]["category"] == "Videos"


def test_ua_parameter_stands_for_the_visitor_user_agent() -> None:
    """Matomo's ``ua`` overrides the User-Agent (a server-side tracker forwards its
    visitor's); the stored event carries it."""
    visitor = BROWSER_UA.replace("Chrome/131", "Chrome/130")
    [hit] = parse_matomo(Incoming("GET", query=NODE + "&ua=" + enc(visitor)))
    assert hit.ua == visitor
    app, rec = make_app()
    query = f"idsite=7&rec=1&url={enc('https://shop.example/')}&ua={enc(visitor)}"
    r = call(app, "GET", "/matomo.php", query=query)
    assert r.status == 200
    assert [e["ua"] for e in rec.events] == [visitor]


def test_node_client_without_user_agent_header_but_ua_param_is_counted() -> None:
    """matomo-tracker sends no User-Agent header; its ua= stands for it, and the answer is
    200 (the client reports anything but 200/204 as an error)."""
    app, rec = make_app()
    query = f"idsite=7&rec=1&url={enc('https://shop.example/')}&ua={enc(BROWSER_UA)}"
    r = call(app, "GET", "/matomo.php", query=query, headers={"user-agent": ""})
    assert r.status == 200 and "x-hearth-drop" not in r.headers
    assert [e["ua"] for e in rec.events] == [BROWSER_UA]


def test_a_skipped_request_is_counted_for_its_site() -> None:
    from web.ingest import pipeline
    from web.ingest.sites import Snapshot
    from web.ingest.tests.helpers import SITES

    hits = parse_matomo(beacon(f"ping=1{TAIL}".replace("idsite=3", "idsite=shopkey")))
    out = pipeline.process(hits, sites=Snapshot(SITES), ip="1.2.3.4", ua=BROWSER_UA, ts=0.0,
                           limiter=None)  # fmt: skip
    assert dict(out.dropped_by_site) == {(7, "heartbeat"): 1}
