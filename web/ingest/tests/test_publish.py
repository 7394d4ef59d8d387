"""Beacons over real HTTP into a real web process land as analytics.events packs in JetStream."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid

import httpx
import pytest

from web.ingest.tests.conftest import WebProcess
from web.ingest.tests.helpers import BROWSER_UA

UA = {"user-agent": BROWSER_UA}


def test_every_shape_reaches_the_stream_stamped(ingest_web: WebProcess) -> None:
    web, run = ingest_web, uuid.uuid4().hex[:8]
    page = f"http://127.0.0.1/{run}"
    key = web.site1_key()
    seq = web.last_seq()
    with httpx.Client(base_url=web.url, headers=UA, timeout=10) as c:
        umami = {"type": "event", "payload": {"website": "1", "url": page + "/u"}}
        umami_b = {"type": "event", "payload": {"website": key, "url": page + "/b"}}
        plausible = {"n": "Buy", "u": page + "/p", "d": "localhost"}
        csp = {"csp-report": {"document-uri": page + "/c", "violated-directive": "img-src"}}
        sent = [
            c.post("/ingest/e", content=json.dumps({"k": key, "n": "pageview", "u": page + "/n"})),
            c.post("/api/event", content=json.dumps(plausible), headers={"content-type": "x/y"}),
            c.post("/api/send", json=umami),
            c.post("/api/batch", json=[umami_b]),
            c.get("/count", params={"p": f"/{run}/g"}, headers={"referer": page}),
            c.get("/ingest/p.gif", params={"k": key}, headers={"referer": page + "/x"}),
            c.post("/ingest/report", content=json.dumps(csp),
                   headers={"content-type": "application/csp-report"}),
        ]  # fmt: skip
    assert [r.status_code for r in sent] == [202] * 7, [r.text for r in sent]
    assert sent[4].headers["content-type"] == "image/gif"
    events = web.wait_events(seq, 7)
    by_src = {e["src"]: e for e in events}
    assert set(by_src) == {"hearth", "plausible", "umami", "goatcounter", "pixel", "csp"}
    assert len(events) == 7
    for e in events:
        assert e["site"] == 1 and e["v"] == 1
        assert e["ip"] == "127.0.0.1" and e["ua"] == BROWSER_UA
        assert abs(e["ts"] - time.time()) < 30
        assert run in e["url"]
    assert by_src["plausible"]["name"] == "Buy" and by_src["plausible"]["kind"] == "custom"
    assert by_src["csp"]["kind"] == "csp" and by_src["csp"]["name"] == "img-src"


def test_bad_and_dropped_input_publishes_nothing(ingest_web: WebProcess) -> None:
    web = ingest_web
    key = web.site1_key()
    seq = web.last_seq()
    good = {"k": key, "n": "pageview", "u": "http://127.0.0.1/after-the-bad-ones"}
    with httpx.Client(base_url=web.url, headers=UA, timeout=10) as c:
        bad = [
            c.post("/ingest/e", content=b"x" * 9000),
            c.post("/ingest/e", content=b"{broken"),
            c.post("/ingest/e", content=json.dumps({**good, "k": "wrong"})),
        ]
        drops = [
            c.post("/ingest/e", content=json.dumps(good), headers={"user-agent": "curl/8.0"}),
            c.post("/ingest/e", content=json.dumps({**good, "u": "https://evil.example/"})),
            c.post("/ingest/e", content=json.dumps({**good, "r": "http://semalt.com/"})),
        ]
        last = c.post("/ingest/e", content=json.dumps(good))
    assert [r.status_code for r in bad] == [413, 400, 400]
    assert "8 KiB" in bad[0].json()["error"] and "unknown site key" in bad[2].json()["error"]
    assert [(r.status_code, r.headers.get("x-hearth-drop")) for r in drops] == [
        (202, "bot"), (202, "hostname"), (202, "spam"),
    ]  # fmt: skip
    assert last.status_code == 202
    events = web.wait_events(seq, 1)
    time.sleep(0.3)
    events = web.events_after(seq)
    assert [e["url"] for e in events] == ["http://127.0.0.1/after-the-bad-ones"]


@pytest.mark.timeout(90)
def test_a_spoofed_forwarded_for_is_ignored_without_trusted_proxies(ingest_web: WebProcess) -> None:
    """gunicorn trusts X-Forwarded-For from 127.0.0.1 by default; Hearth's worker does not."""
    web = ingest_web
    key = web.site1_key()
    seq = web.last_seq()
    beacon = {"k": key, "n": "pageview", "u": f"http://127.0.0.1/{uuid.uuid4().hex[:8]}"}
    spoofed = {**UA, "x-forwarded-for": "198.51.100.9"}
    r = httpx.post(f"{web.url}/ingest/e", content=json.dumps(beacon), headers=spoofed, timeout=10)
    assert r.status_code == 202, r.text
    (event,) = web.wait_events(seq, 1)
    assert event["ip"] == "127.0.0.1"


def test_nats_outage_is_covered_by_the_outbox(ingest_web: WebProcess, nats_server) -> None:  # type: ignore[no-untyped-def]
    """A beacon accepted while NATS is down is in the outbox (ttl.db), not lost."""
    web = ingest_web
    key = web.site1_key()
    url = f"http://127.0.0.1/outage-{uuid.uuid4().hex[:8]}"
    nats_server.stop()
    try:
        r = httpx.post(f"{web.url}/ingest/e", headers=UA, timeout=15,
                       content=json.dumps({"k": key, "n": "pageview", "u": url}))  # fmt: skip
        assert r.status_code == 202, r.text
    finally:
        nats_server.start()
    con = sqlite3.connect(web.data_dir / "ttl.db")
    try:
        rows = con.execute("SELECT subject, data FROM messaging_outboxjob").fetchall()
    finally:
        con.close()
    stored = [
        e
        for subject, data in rows
        if subject == "jobs.analytics.events"
        for e in json.loads(data)["events"]
    ]
    assert url in [e["url"] for e in stored]
