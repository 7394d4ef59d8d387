"""GA4: gtag.js collect requests (/g/collect) and the Measurement Protocol (/mp/collect)
(issue 16, item 8). The requests use Google's documented parameter names as gtag.js sends
them with ``transport_url``: the shared parameters in the query, batched events one per
body line; MP is ``{"client_id", "events": [{"name", "params"}]}`` with the measurement id
in the query."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from web.ingest.errors import BadInput
from web.ingest.protocols.common import Incoming
from web.ingest.protocols.ga4 import parse_ga4_collect, parse_ga4_mp
from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA, call, make_app
from web.ingest.tests.protocol_helpers import add_aliases
from web.ingest.validate import Skip

PAGE = "https://shop.example/menu?utm_campaign=winter"


def enc(s: str) -> str:
    return quote(s, safe="-_.!~*'()")


# The query gtag.js puts on a collect request (shared by the events of a batch).
COMMON = (
    "v=2&tid=G-ABC123&gtm=45je4c20v9&_p=1733476512345&gcd=13l3l3l3l1l1&npa=0&dma=0"
    "&cid=1234567890.1733476500&ul=en-gb&sr=1920x1080&uaa=x86&uab=64&uam=&uap=Linux"
    f"&are=1&frm=0&pscdl=noapi&_s=1&sid=1733476500&sct=1&seg=0&dl={enc(PAGE)}"
    f"&dr={enc('https://news.example/item')}&dt=Menu&tfd=1520"
)
PAGE_VIEW = COMMON + "&en=page_view&_fv=1&_nsi=1&_ss=1&_ee=1"
# A batch: the query carries the shared parameters, each body line one event.
BATCH_BODY = (
    "en=scroll&epn.percent_scrolled=90&_et=4210\r\n"
    "en=sign_up&ep.method=Google&epn.seats=3&_et=1200\r\n"
    "en=click&ep.link_url=https%3A%2F%2Fexample.org%2Fout&ep.link_domain=example.org"
    "&ep.outbound=true&_et=300\r\n"
    "en=file_download&ep.link_url=https%3A%2F%2Fshop.example%2Fa.pdf&ep.file_extension=pdf\r\n"
    "en=view_search_results&ep.search_term=shoes\r\n"
    "en=user_engagement&_et=15000"
)


def collect(query: str, body: str = "") -> Incoming:
    return Incoming("POST", query=query, body=body.encode(), content_type="text/plain")


def test_page_view() -> None:
    [hit] = parse_ga4_collect(collect(PAGE_VIEW))
    assert not isinstance(hit, Skip)
    assert (hit.kind, hit.name, hit.url, hit.ref, hit.title) == (
        "pageview",
        "pageview",
        PAGE,
        "https://news.example/item",
        "Menu",
    )
    assert (hit.site_by, hit.lang, hit.screen, hit.src) == (
        ("alias", "G-ABC123"),
        "en-gb",
        1920,
        "ga4",
    )
    assert hit.props is None


def test_batched_events_map_onto_hearth_events() -> None:
    hits = parse_ga4_collect(collect(COMMON, BATCH_BODY))
    got = [(h.kind, h.name, h.props, h.engaged_ms, h.scroll) for h in hits if isinstance(h, object)]
    assert got == [
        ("engagement", "engagement", None, 4210, 90),
        ("custom", "sign_up", {"method": "Google", "seats": "3"}, None, None),
        ("engagement", "engagement", None, 1200, None),  # its _et: time on this page
        ("custom", "Outbound Link: Click", {"url": "https://example.org/out"}, None, None),
        ("engagement", "engagement", None, 300, None),
        ("custom", "File Download", {"url": "https://shop.example/a.pdf"}, None, None),
        ("custom", "Site Search", {"keyword": "shoes"}, None, None),
        ("engagement", "engagement", None, 15000, None),
    ]
    assert {h.url for h in hits} == {PAGE}


def test_ignore_referrer() -> None:
    [hit] = parse_ga4_collect(collect(PAGE_VIEW + "&ir=1"))
    assert hit.ref == ""


def test_a_line_overrides_the_shared_page() -> None:
    spa = "en=page_view&dl=" + enc("https://shop.example/next") + "&dt=Next"
    [hit] = parse_ga4_collect(collect(COMMON, spa))
    assert (hit.url, hit.title) == ("https://shop.example/next", "Next")


def test_get_image_fallback_and_derived_events() -> None:
    [hit] = parse_ga4_collect(Incoming("GET", query=PAGE_VIEW))
    assert hit.kind == "pageview"
    assert parse_ga4_collect(collect(COMMON + "&en=session_start")) == [Skip("unsupported")]


MP_BODY = {
    "client_id": "1234567890.1733476500",
    "user_id": "u-42",
    "timestamp_micros": 1733476512345000,
    "user_properties": {"tier": {"value": "gold"}},
    "events": [
        {
            "name": "purchase",
            "params": {
                "currency": "EUR",
                "value": 30.5,
                "transaction_id": "T-1",
                "items": [{"item_id": "SKU1", "quantity": 2}],
                "page_location": PAGE,
                "engagement_time_msec": 100,
                "session_id": "1733476500",
            },
        },
        {"name": "page_view", "params": {"page_location": PAGE, "page_title": "Menu"}},
        {"name": "refund", "params": {"value": 1}},
    ],
}


def test_measurement_protocol() -> None:
    req = Incoming("POST", query="measurement_id=G-ABC123&api_secret=s3cr3t",
                   body=json.dumps(MP_BODY).encode(), content_type="application/json")  # fmt: skip
    purchase, engagement, view, refund = parse_ga4_mp(req)
    assert purchase.kind == "custom" and purchase.name == "purchase"
    assert purchase.props == {
        "currency": "EUR",
        "value": "30.5",
        "transaction_id": "T-1",
        "items": '[{"item_id":"SKU1","quantity":2}]',
    }
    assert purchase.url == PAGE and purchase.site_by == ("alias", "G-ABC123")
    assert (engagement.kind, engagement.engaged_ms) == ("engagement", 100)
    assert (view.kind, view.title) == ("pageview", "Menu")
    assert refund.url == "/"  # no page: the pipeline puts the site's first domain on it


@pytest.mark.parametrize(
    ("incoming", "message"),
    [
        (collect("v=2&en=page_view&dl=" + enc(PAGE)), "'tid' is required"),
        (collect("v=2&tid=G-1&dl=" + enc(PAGE)), "'en' is required"),
        (collect("v=2&tid=G-1&en=page_view"), "'dl' (document location) is required"),
        (collect("v=2&tid=G-1&en=x&dl=javascript%3Avoid(0)"), "http(s)"),
        (collect(COMMON, "en=x&_et=soon"), "'_et' must be a number"),
        (collect(COMMON, "\n".join(["en=x"] * 51)), "more than 50 events"),
        (collect(COMMON, "en=" + "n" * 121), "'en' is longer"),
        (Incoming("POST", query=COMMON, body=b"en=\xff"), "not UTF-8"),
        (Incoming("POST", body=b'{"events": []}'), "'measurement_id' is required"),
    ],
)
def test_malformed_collect_is_400(incoming: Incoming, message: str) -> None:
    parser = parse_ga4_mp if b"events" in incoming.body else parse_ga4_collect
    with pytest.raises(BadInput) as info:
        parser(incoming)
    assert message in info.value.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"client_id": "x"}, "'events' must be a JSON array"),
        ({"events": [{"params": {}}]}, "'events[].name' is required"),
        ({"events": [{"name": "a", "params": [1]}]}, "must be a JSON object"),
        ({"events": [{"name": "a", "params": {"page_location": "/x"}}]}, "http(s)"),
        ({"events": [{"name": "a"}] * 51}, "more than 50"),
    ],
)
def test_malformed_mp_is_400(body: dict[str, Any], message: str) -> None:
    req = Incoming("POST", query="measurement_id=G-1", body=json.dumps(body).encode())
    with pytest.raises(BadInput) as info:
        parse_ga4_mp(req)
    assert message in info.value.message


def test_unknown_paths_under_the_prefixes_are_json_404() -> None:
    app, _ = make_app()
    for path in ("/g/s/collect", "/mp/other", "/g/"):
        r = call(app, "POST", path, body=b"en=x")
        assert r.status == 404 and r.headers["content-type"] == "application/json"
        assert r.json() == {"error": "not found"}


def test_ga4_through_the_real_web_process(ingest_web: WebProcess) -> None:
    """gtag.js's batched collect and an MP post over HTTP, under a measurement id that is an
    alias of site 1; an unknown path under /g/ is JSON, not Django's HTML page."""
    web, run = ingest_web, uuid.uuid4().hex[:8]
    tid = f"G-{run.upper()}"
    add_aliases(web, 1, tid)
    page = f"http://127.0.0.1/{run}/menu"
    query = COMMON.replace("tid=G-ABC123", f"tid={tid}").replace(enc(PAGE), enc(page))
    mp = {
        "client_id": "1.2",
        "events": [{"name": f"signup_{run}", "params": {"page_location": page, "plan": "pro"}}],
    }
    seq = web.last_seq()
    with httpx.Client(base_url=web.url, headers={"user-agent": BROWSER_UA}, timeout=10) as c:
        r1 = c.post(f"/g/collect?{query}", content="en=page_view\r\nen=user_engagement&_et=5000")
        r2 = c.post(f"/mp/collect?measurement_id={tid}&api_secret=x", json=mp)
        r3 = c.get("/g/unknown")
    assert (r1.status_code, r2.status_code) == (202, 202), (r1.text, r2.text)
    assert r3.status_code == 404 and r3.headers["content-type"] == "application/json"
    events = [e for e in web.wait_events(seq, 3) if e["src"] == "ga4"]
    assert [(e["site"], e["kind"], e["name"], e["url"]) for e in events] == [
        (1, "pageview", "pageview", page),
        (1, "engagement", "engagement", page),
        (1, "custom", f"signup_{run}", page),
    ]
    assert events[1]["engaged_ms"] == 5000 and events[2]["props"] == {"plan": "pro"}
