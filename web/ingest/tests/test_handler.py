"""The request path end to end in-process: status codes, stamping, drops, limits, CORS.

Publishing is replaced by a recorder here (a pure unit test of the request logic); the
real JetStream path is tested in test_publish.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import REGISTRY

from web.analytics.schema import AnalyticsEvent
from web.env import ConfigError
from web.ingest.clientip import client_ip, parse_trusted
from web.ingest.filters import RateLimiter, is_bot, is_spam_referrer
from web.ingest.handler import GIF
from web.ingest.publisher import Coalescer
from web.ingest.tests.helpers import BROWSER_UA, Recorder, acall, call, make_app

PAGE = "http://127.0.0.1/blog/hello"
NATIVE = {"k": "hearthkey", "n": "pageview", "u": PAGE}
SCHEMA_KEYS = set(AnalyticsEvent.__required_keys__) | set(AnalyticsEvent.__optional_keys__)


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("hearth_ingest_dropped_total", {"reason": reason}) or 0.0


GOOD = [
    ("POST", "/ingest/e", "", {}, body(NATIVE), False),
    (
        "POST",
        "/api/event",
        "",
        {"content-type": "text/plain"},
        body({"n": "pageview", "u": PAGE, "d": "127.0.0.1"}),
        False,
    ),
    (
        "POST",
        "/api/send",
        "",
        {"content-type": "application/json"},
        body({"type": "event", "payload": {"website": "hearthkey", "url": PAGE}}),
        False,
    ),
    (
        "POST",
        "/api/batch",
        "",
        {},
        body([{"type": "event", "payload": {"website": "1", "url": PAGE}}]),
        False,
    ),
    ("GET", "/count", "p=/blog/hello", {"referer": PAGE}, b"", True),
    ("POST", "/count", "p=/blog/hello", {"origin": "http://127.0.0.1"}, b"", True),
    ("GET", "/ingest/p.gif", "k=hearthkey", {"referer": PAGE}, b"", True),
    (
        "POST",
        "/ingest/report",
        "",
        {"content-type": "application/csp-report"},
        body({"csp-report": {"document-uri": PAGE, "violated-directive": "img-src"}}),
        False,
    ),
]


@pytest.mark.parametrize(("method", "path", "query", "headers", "payload", "gif"), GOOD)
def test_every_endpoint_accepts_stamps_and_publishes(
    method: str, path: str, query: str, headers: dict, payload: bytes, gif: bool
) -> None:
    app, rec = make_app()
    app.clock = lambda: 1_700_000_000.5
    r = call(app, method, path, query=query, headers=headers, body=payload)
    assert r.status == 202, r.body
    assert "x-hearth-drop" not in r.headers
    assert r.headers["access-control-allow-origin"] == "*"
    if gif:
        assert r.body == GIF and r.headers["content-type"] == "image/gif"
    else:
        assert r.json() == {"ok": True, "accepted": 1}
    [(job_type, pack, job_id)] = rec.jobs
    assert job_type == "analytics.events" and job_id is None
    [event] = pack["events"]
    assert set(event) <= SCHEMA_KEYS
    assert event["v"] == 1 and event["site"] == 1
    assert event["url"].startswith("http://127.0.0.1/blog/hello")
    assert (event["ts"], event["ip"], event["ua"]) == (1_700_000_000.5, "203.0.113.9", BROWSER_UA)


def test_oversized_body_is_413_by_content_length_and_by_stream() -> None:
    app, rec = make_app()
    big = b'{"k":"' + b"x" * 9000 + b'"}'
    r = call(app, "POST", "/ingest/e", body=big)
    assert r.status == 413 and "8 KiB" in r.json()["error"]
    r = call(app, "POST", "/api/event", chunks=[big[:5000], big[5000:]])  # no content-length
    assert r.status == 413 and "8 KiB" in r.json()["error"]
    exact = body({**NATIVE, "t": "x" * (8192 - len(body(NATIVE)) - 9)})
    assert len(exact) == 8192
    assert call(app, "POST", "/ingest/e", body=exact).status == 400  # title too long, not 413
    assert rec.jobs == []


def test_bad_input_is_4xx_with_a_message_and_publishes_nothing() -> None:
    app, rec = make_app()
    cases = [
        ("POST", "/ingest/e", body({**NATIVE, "k": "nokey"}), 400, "unknown site key 'nokey'"),
        (
            "POST",
            "/api/event",
            body({"n": "pageview", "u": PAGE, "d": "nope.example"}),
            400,
            "unknown domain 'nope.example'",
        ),
        ("POST", "/ingest/e", b"{not json", 400, "malformed JSON"),
        ("GET", "/ingest/e", b"", 405, "use POST"),
        ("DELETE", "/count", b"", 405, "use GET, POST"),
        ("POST", "/ingest/p.gif", b"", 405, "use GET"),
        # One bad item fails the whole batch: nothing of it is published.
        ("POST", "/ingest/e", body([NATIVE, {**NATIVE, "u": 3}]), 400, "'u' must be a string"),
    ]
    for method, path, payload, status, message in cases:
        r = call(app, method, path, body=payload)
        assert r.status == status, (path, r.body)
        assert message in r.json()["error"]
    assert rec.jobs == []


def test_preflight_allows_cross_origin_json_posts() -> None:
    app, _ = make_app()
    r = call(app, "OPTIONS", "/api/send")
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "content-type"


DROPS = [
    (
        "bot",
        {"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        NATIVE,
    ),
    ("bot", {"user-agent": BROWSER_UA.replace("Chrome/", "HeadlessChrome/")}, NATIVE),
    ("bot", {"user-agent": ""}, NATIVE),
    ("hostname", {}, {**NATIVE, "u": "https://copycat.example/blog/hello"}),
    ("spam", {}, {**NATIVE, "r": "https://www.semalt.com/crawler"}),
]


@pytest.mark.parametrize(("reason", "headers", "payload"), DROPS)
def test_dropped_traffic_is_202_with_marker_counted_and_not_published(
    reason: str, headers: dict, payload: dict
) -> None:
    app, rec = make_app()
    before = dropped(reason)
    r = call(app, "POST", "/ingest/e", headers=headers, body=body(payload))
    assert r.status == 202
    assert r.headers["x-hearth-drop"] == reason
    assert r.json() == {"ok": True, "accepted": 0, "dropped": reason}
    assert rec.jobs == []
    assert dropped(reason) == before + 1


def test_gif_endpoints_mark_drops_in_a_header_and_still_answer_a_gif() -> None:
    app, rec = make_app()
    r = call(app, "GET", "/count", query="p=/x&b=150", headers={"referer": PAGE})
    assert (r.status, r.body, r.headers["x-hearth-drop"]) == (202, GIF, "bot")
    assert rec.jobs == []


def test_excess_rate_from_one_ip_is_dropped_others_pass() -> None:
    app, rec = make_app(limiter=RateLimiter(rate=0.001, burst=3))
    before = dropped("rate")
    statuses = [
        call(app, "POST", "/ingest/e", body=body(NATIVE)).headers.get("x-hearth-drop")
        for _ in range(5)
    ]
    assert statuses == [None, None, None, "rate", "rate"]
    other = call(app, "POST", "/ingest/e", body=body(NATIVE), client="198.51.100.1")
    assert "x-hearth-drop" not in other.headers
    assert len(rec.jobs) == 4 and dropped("rate") == before + 2


def test_partial_batch_publishes_the_good_and_counts_the_rest() -> None:
    app, rec = make_app()
    batch = [NATIVE, {**NATIVE, "u": "https://elsewhere.example/"}, {**NATIVE, "n": "B"}]
    r = call(app, "POST", "/ingest/e", body=body(batch))
    assert r.status == 202 and r.json() == {"ok": True, "accepted": 2, "dropped": "hostname"}
    [(job_type, pack, _)] = rec.jobs  # one request's events travel in one pack
    assert job_type == "analytics.events" and pack["v"] == 1
    assert [e["name"] for e in pack["events"]] == ["pageview", "B"]


def test_umami_identify_is_dropped_as_identify() -> None:
    app, rec = make_app()
    r = call(app, "POST", "/api/send", body=body({"type": "identify", "payload": {"website": "1"}}))
    assert r.status == 202 and r.headers["x-hearth-drop"] == "identify" and rec.jobs == []


def test_goatcounter_path_without_origin_gets_the_site_host() -> None:
    app, rec = make_app()
    r = call(app, "GET", "/count", query="p=/a&k=shopkey")
    assert r.status == 202
    assert rec.events[0]["url"] == "https://shop.example/a" and rec.events[0]["site"] == 7


def test_publish_failure_is_503_not_202() -> None:
    app, _ = make_app(Recorder(fail=True))
    r = call(app, "POST", "/ingest/e", body=body(NATIVE))
    assert r.status == 503 and "retry" in r.json()["error"]


def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies() -> None:
    trusted = parse_trusted(["127.0.0.1", "10.0.0.0/8"])
    assert client_ip("127.0.0.1", "198.51.100.7, 10.1.2.3", trusted) == "198.51.100.7"
    assert client_ip("203.0.113.5", "198.51.100.7", trusted) == "203.0.113.5"  # untrusted peer
    assert client_ip("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"  # nothing configured
    assert client_ip("127.0.0.1", "not-an-ip", trusted) == "127.0.0.1"
    assert client_ip("127.0.0.1", "10.0.0.1", trusted) == "10.0.0.1"  # all hops trusted
    with pytest.raises(ConfigError, match="HEARTH_TRUSTED_PROXIES"):
        parse_trusted(["10.0.0.0/33"])
    app, rec = make_app(trusted=trusted)
    call(
        app,
        "POST",
        "/ingest/e",
        body=body(NATIVE),
        client="127.0.0.1",
        headers={"x-forwarded-for": "198.51.100.7"},
    )
    assert rec.events[0]["ip"] == "198.51.100.7"


def test_filters() -> None:
    assert is_bot("curl/8.5.0") and is_bot("") and not is_bot(BROWSER_UA)
    assert is_spam_referrer("https://sub.darodar.com/x") and not is_spam_referrer("https://a.com/")
    assert not is_spam_referrer("")
    limiter = RateLimiter(rate=1, burst=2, max_ips=2)
    assert limiter.allow("a", now=0) and limiter.allow("a", now=0) and not limiter.allow("a", now=0)
    assert limiter.allow("a", now=1.0)  # refilled one token
    limiter.allow("b", now=1.0)
    limiter.allow("c", now=10.0)  # table full: idle buckets are forgotten
    assert set(limiter.buckets) <= {"b", "c", "a"} and len(limiter.buckets) <= 2


def test_concurrent_requests_are_coalesced_into_few_batches() -> None:
    rec = Recorder()
    release = asyncio.Event()

    async def slow_publish(jobs):  # type: ignore[no-untyped-def]
        await release.wait()
        await rec(jobs)

    async def scenario() -> int:
        app, _ = make_app()
        app.coalescer = Coalescer(slow_publish, max_inflight=1)
        tasks = [
            asyncio.create_task(acall(app, "POST", "/ingest/e", body=body(NATIVE)))
            for _ in range(50)
        ]
        await asyncio.sleep(0.05)
        release.set()
        results = await asyncio.gather(*tasks)
        assert all(r.status == 202 for r in results)
        return app.coalescer.batches

    batches = asyncio.run(scenario())
    assert batches == 2  # the first request alone, then the 49 that queued behind it
    assert [t for t, _, _ in rec.jobs] == ["analytics.events", "analytics.events"]
    assert len(rec.jobs[0][1]["events"]) == 1
    assert len(rec.jobs[1][1]["events"]) == 49 and len(rec.events) == 50


def test_linger_gathers_staggered_requests_into_one_pack() -> None:
    batches: list[list[dict]] = []

    async def publish(jobs):  # type: ignore[no-untyped-def]
        batches.append([e for _, p, _ in jobs for e in p.get("events", [p])])

    async def scenario() -> None:
        c = Coalescer(publish, max_inflight=1, linger_s=30, linger_events=5)
        first = [asyncio.create_task(c.submit([{"n": i}])) for i in range(3)]
        await asyncio.sleep(0.05)
        assert batches == [] and not any(t.done() for t in first)  # lingering: no 202 yet
        more = [asyncio.create_task(c.submit([{"n": i}])) for i in range(3, 5)]
        # 5 events are waiting: the pack leaves at once, long before the 30 s linger ends.
        await asyncio.wait_for(asyncio.gather(*first, *more), 5)
        alone = Coalescer(publish, max_inflight=1, linger_s=0.01, linger_events=100)
        await asyncio.wait_for(alone.submit([{"n": 5}]), 5)  # the linger ends: published

    asyncio.run(scenario())
    assert [[e["n"] for e in b] for b in batches] == [[0, 1, 2, 3, 4], [5]]


def test_sites_that_cannot_be_loaded_answer_503_not_500() -> None:
    from web.ingest.sites import SiteCache

    def broken() -> list:
        raise OSError("data.db is missing")

    app, rec = make_app()
    app.sites = SiteCache(loader=broken)
    r = call(app, "POST", "/ingest/e", body=body(NATIVE))
    assert r.status == 503 and "retry" in r.json()["error"] and rec.jobs == []
