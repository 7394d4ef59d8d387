"""Property tests: no input makes any ingest endpoint answer 5xx or publish bad events."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.analytics.schema import AnalyticsEvent
from web.ingest.routes import ROUTES
from web.ingest.tests.helpers import call, make_app

SCHEMA_KEYS = set(AnalyticsEvent.__required_keys__) | set(AnalyticsEvent.__optional_keys__)
# Field names every format uses, so generated objects reach deep into the parsers.
KEYS = [
    "k", "n", "u", "r", "p", "w", "l", "t", "h", "e", "s", "x", "d", "name", "url", "domain",
    "referrer", "props", "hashMode", "type", "payload", "website", "hostname", "title",
    "screen", "language", "data", "csp-report", "document-uri", "violated-directive",
    "effective-directive", "blocked-uri", "body", "documentURL", "effectiveDirective",
    "message", "stack", "line-number", "sd", "v", "requests", "send_image", "events",
    "params", "client_id", "page_location", "page_referrer", "engagement_time_msec",
    "percent_scrolled", "outbound", "link_url", "id", "tag", "link", "pixel",
]  # fmt: skip
URLISH = st.sampled_from(
    ["http://127.0.0.1/a", "https://localhost/b#/c", "/path", "https://shop.example/", "x:",
     "http://[::1", "hearthkey", "1", "7", "127.0.0.1", "", "pageview", "event", "error"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
    URLISH,
)  # fmt: skip
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)
    ),
    max_leaves=20,
)
# Query keys of every format: GoatCounter, the pixel, Matomo, GA4 (gtag.js and MP).
QKEYS = ["p", "k", "u", "r", "n", "e", "s", "q", "b", "t", "zz", "idsite", "rec", "url",
         "urlref", "action_name", "e_c", "e_a", "e_n", "e_v", "link", "download", "search",
         "ping", "idgoal", "c_n", "ca", "res", "lang", "cvar", "e_cvar", "dimension1", "tid",
         "en", "dl", "dr", "dt", "ul", "sr", "_et", "ep.x", "epn.percent_scrolled",
         "measurement_id"]  # fmt: skip
QVALUES = st.one_of(
    URLISH, st.text(max_size=20), st.sampled_from(["1", "0", "page_view", "scroll", "click",
    "user_engagement", "1280x720", '{"1":["a","b"]}', "G-TEST", "true"])
)  # fmt: skip
QUERIES = st.lists(st.tuples(st.sampled_from(QKEYS), QVALUES), max_size=8).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.binary(min_size=8100, max_size=8400),
    QUERIES.map(str.encode),  # a form body (Matomo) or one gtag.js event line
    st.lists(QUERIES, max_size=4).map(lambda qs: "\r\n".join(qs).encode()),  # gtag batch
    st.lists(QUERIES, max_size=4).map(  # a Matomo bulk request
        lambda qs: json.dumps({"requests": ["?" + q for q in qs]}).encode()
    ),
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "content-type": st.sampled_from(
            [
                "application/json",
                "text/plain",
                "application/csp-report",
                "application/reports+json",
                "x/y; charset=utf-8",
            ]
        ),
        "referer": URLISH,
        "origin": URLISH,
        "user-agent": st.text(max_size=40),
        "x-forwarded-for": st.text(max_size=20),
    },
)


def _latin1(headers: dict[str, str]) -> dict[str, str]:
    return {k: v.encode("utf-8", "replace").decode("latin-1") for k, v in headers.items()}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(sorted(ROUTES)),
    method=st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT"]),
    query=QUERIES,
    headers=HEADERS,
    payload=BODIES,
)
def test_no_input_causes_a_5xx(
    path: str, method: str, query: str, headers: dict[str, str], payload: bytes
) -> None:
    app, rec = make_app()
    r = call(app, method, path, query=query, headers=_latin1(headers), body=payload)
    assert r.status < 500, r.body
    assert r.status in (200, 202, 204, 400, 405, 413)
    if r.status not in (200, 202):
        assert rec.jobs == []
    assert {t for t, _, _ in rec.jobs} <= {"analytics.events"}
    for event in rec.events:
        assert set(event) <= SCHEMA_KEYS
        assert event["site"] in (1, 7)
        assert event["url"].startswith(("http://", "https://"))
        json.dumps(event, allow_nan=False)  # publishable as plain JSON


@settings(max_examples=300, deadline=None)
@given(obj=JSONISH)
def test_native_json_shapes_answer_202_or_400(obj: Any) -> None:
    app, _ = make_app()
    payload = {"k": "hearthkey", **obj} if isinstance(obj, dict) else obj
    r = call(app, "POST", "/ingest/e", body=json.dumps(payload).encode())
    assert r.status in (202, 400), r.body


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(["/matomo.php", "/piwik.php", "/g/collect"]),
    extra=st.dictionaries(st.sampled_from(QKEYS), QVALUES, max_size=8),
    line=st.one_of(st.just(""), QUERIES),
)
def test_matomo_and_ga4_parameters_answer_2xx_or_400(
    path: str, extra: dict[str, str], line: str
) -> None:
    """A valid Matomo/GA4 request with arbitrary extra parameters (and a gtag.js body line):
    accepted, skipped or refused with a 400, and what is published is a valid event."""
    app, rec = make_app()
    page = "https://shop.example/a"
    base = (
        {"tid": "7", "en": "page_view", "dl": page}
        if path == "/g/collect"
        else {"idsite": "7", "rec": "1", "url": page}
    )
    r = call(app, "POST", path, query=urlencode({**base, **extra}), body=line.encode())
    assert r.status in (200, 202, 400), r.body
    for event in rec.events:
        assert set(event) <= SCHEMA_KEYS and event["site"] == 7
        assert event["url"].startswith(("http://", "https://"))
        json.dumps(event, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(data=JSONISH)
def test_umami_data_of_any_shape_answers_202_or_400(data: Any) -> None:
    app, rec = make_app()
    payload = {"website": "shopkey", "url": "https://shop.example/", "name": "e", "data": data}
    r = call(
        app, "POST", "/api/send", body=json.dumps({"type": "event", "payload": payload}).encode()
    )
    assert r.status in (202, 400), r.body
    for event in rec.events:
        props = event.get("props", {})
        assert len(props) <= 30 and all(isinstance(v, str) for v in props.values())
