"""SSE end to end: real nats-server, the real ASGI app under uvicorn (two processes), a raw
HTTP client and headless Chromium."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.core.testing import launch_chromium, wait_until
from web.core.testing.server import (
    Server,
    SseClient,
    SseEvent,
    server_env,
    setup_users,
    wait_delivering,
)
from web.live.publish import publish_event

PUBLIC = ["metrics.views.1", "comments.post_7", "comments.post_8", "comments.post_9"]


@dataclasses.dataclass
class Live:
    a: Server
    b: Server
    sessions: dict[str, str]


@pytest.fixture(autouse=True)
def _publish_to_test_nats(settings, nats_server) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(settings.ENV, nats_url=nats_server.url)


def _wait_delivering(server: Server, channel: str, nats_url: str) -> None:
    """Publish probes until the server's subscription delivers one (it starts in the
    background after the lifespan)."""
    client = SseClient(server.port, f"/live/events/?channel={channel}", timeout=0.3)
    try:
        assert client.next_event().event == "stream-open"
        wait_delivering(client, channel, timeout=20)
    finally:
        client.close()


@pytest.fixture(scope="module")
def live(nats_server, tmp_path_factory) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    root: Path = tmp_path_factory.mktemp("live")
    env = server_env(nats_url=nats_server.url, data_dir=root / "data", public=PUBLIC)
    sessions = setup_users(env)
    a = Server(env, log=root / "a.log")
    b = Server(env, log=root / "b.log")
    try:
        a.start()
        b.start()
        yield Live(a, b, sessions)
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def ready(live: Live, nats_server) -> Live:  # type: ignore[no-untyped-def]
    for server in (live.a, live.b):
        _wait_delivering(server, "comments.post_9", nats_server.url)
    return live


def _sse(server: Server, channel: str, **kw) -> SseClient:  # type: ignore[no-untyped-def]
    client = SseClient(server.port, f"/live/events/?channel={channel}", timeout=5, **kw)
    assert client.status == 200, client.body()
    return client


def test_event_published_on_nats_reaches_both_web_processes_with_the_same_id(
    ready: Live,
) -> None:
    clients = [_sse(ready.a, "comments.post_7"), _sse(ready.b, "comments.post_7")]
    for c in clients:
        assert c.next_event().event == "stream-open"
    marker = uuid.uuid4().hex
    publish_event("events.comments.post_7", {"marker": marker})
    got = [c.next_event() for c in clients]
    for c in clients:
        c.close()
    assert [json.loads(e.data) for e in got] == [{"marker": marker}] * 2
    assert got[0].event == got[1].event == "message"
    assert got[0].id == got[1].id and got[0].id.startswith("comments.post_7:")


def test_fire_and_forget_publish_reaches_the_stream_in_order(ready: Live) -> None:
    # wait=False (the analytics worker's live updates) returns before the publish is sent.
    client = _sse(ready.a, "metrics.views.1")
    assert client.next_event().event == "stream-open"
    marker = uuid.uuid4().hex
    for n in range(3):
        publish_event("events.metrics.views.1", {"marker": marker, "n": n}, wait=False)
    got = [json.loads(client.next_event().data) for _ in range(3)]
    client.close()
    assert got == [{"marker": marker, "n": n} for n in range(3)]


def test_reconnect_with_last_event_id_replays_missed_events(ready: Live) -> None:
    first = _sse(ready.a, "comments.post_8")
    assert first.next_event().event == "stream-open"
    publish_event("events.comments.post_8", {"n": 0})
    seen = first.next_event()
    assert json.loads(seen.data) == {"n": 0}
    first.close()

    for n in (1, 2, 3):
        publish_event("events.comments.post_8", {"n": n})
        publish_event("events.comments.post_7", {"other": n})  # interleaved, not replayed
    # Let process B see them too, then resume there: ids are the same in both processes.
    watcher = _sse(ready.b, "comments.post_8", headers={"Last-Event-ID": seen.id})
    events = watcher.events()
    assert next(events).event == "stream-open"
    replayed = [next(events) for _ in range(3)]
    watcher.close()
    assert [json.loads(e.data) for e in replayed] == [{"n": 1}, {"n": 2}, {"n": 3}]
    seqs = [int(e.id.rsplit(":", 1)[1]) for e in replayed]
    assert seqs == sorted(seqs) and seqs[0] > int(seen.id.rsplit(":", 1)[1])


def test_resume_from_an_id_outside_the_window_asks_to_refetch(ready: Live) -> None:
    client = _sse(ready.a, "comments.post_8", headers={"Last-Event-ID": "comments.post_8:1"})
    events = client.events()
    assert next(events).event == "stream-open"
    reset = next(events)
    client.close()
    assert reset.event == "stream-reset"
    assert json.loads(reset.data) == {"channels": ["comments.post_8"]}
    assert reset.id and reset.id.startswith("comments.post_8:")


@pytest.mark.parametrize(
    "channel",
    [
        "comments.post_404",  # unknown / unpublished post: no check allows it
        "alerts.errors",  # admin-only, never on the public endpoint
        "metrics.views.2",
        "comments.post_*",
    ],
)
def test_public_endpoint_refuses_channels_that_are_not_public(live: Live, channel: str) -> None:
    client = SseClient(live.a.port, f"/live/events/?channel={channel}")
    status, body = client.status, client.body()
    client.close()
    assert status == 403, body
    assert "not public" in json.loads(body)["error"]


def test_admin_channel_refuses_anonymous_and_non_staff_with_403(live: Live) -> None:
    path = "/live/admin/events/?channel=alerts.errors"
    for headers in ({}, {"Cookie": f"sessionid={live.sessions['reader']}"}):
        client = SseClient(live.a.port, path, headers=headers)
        status, body = client.status, client.body()
        client.close()
        assert status == 403, body
        assert json.loads(body)["channels"] == ["alerts.errors"]


def test_admin_channel_streams_nats_events_to_staff(ready: Live) -> None:
    staff = {"Cookie": f"sessionid={ready.sessions['staff']}"}
    clients = [
        SseClient(s.port, "/live/admin/events/?channel=alerts.errors", headers=staff, timeout=5)
        for s in (ready.a, ready.b)
    ]
    for c in clients:
        assert c.status == 200
        assert c.headers["content-type"].startswith("text/event-stream")
        assert c.next_event().event == "stream-open"
    marker = uuid.uuid4().hex
    publish_event("events.alerts.errors", {"marker": marker})
    got = [c.next_event() for c in clients]
    for c in clients:
        c.close()
    assert [json.loads(e.data) for e in got] == [{"marker": marker}] * 2
    assert got[0].id == got[1].id and got[0].id.startswith("alerts.errors:")


PAGE = """<!doctype html><html><body><p id="state">connecting</p><ul id="out"></ul>
<script>
const es = new EventSource("/live/events/?channel=metrics.views.1");
const state = document.getElementById("state");
es.addEventListener("stream-open", () => { state.textContent = "open"; });
es.onmessage = (e) => {
  const li = document.createElement("li");
  li.textContent = JSON.parse(e.data).text;
  document.getElementById("out").appendChild(li);
};
</script></body></html>"""


@pytest.mark.browser
def test_browser_event_source_shows_event_published_on_nats(ready: Live) -> None:
    from playwright.sync_api import expect, sync_playwright

    text = f"views now {uuid.uuid4().hex[:8]}"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            # The page comes from the test, at the app's origin, so EventSource is same-origin.
            page.route(
                f"{ready.a.url}/live-test-page",
                lambda route: route.fulfill(status=200, content_type="text/html", body=PAGE),
            )
            page.goto(f"{ready.a.url}/live-test-page")
            expect(page.locator("#state")).to_have_text("open", timeout=10_000)
            publish_event("events.metrics.views.1", {"text": text})
            expect(page.locator("#out")).to_contain_text(text, timeout=10_000)
        finally:
            browser.close()


def test_delivery_resumes_after_nats_restart_and_old_ids_reset(ready: Live, nats_server) -> None:  # type: ignore[no-untyped-def]
    client = _sse(ready.a, "comments.post_9")
    assert client.next_event().event == "stream-open"
    publish_event("events.comments.post_9", {"before": True})
    before = client.next_event()
    nats_server.stop()
    try:
        time.sleep(0.5)
    finally:
        nats_server.start()
    # The memory stream died with the server; the web process recreates it and its consumer.
    marker = uuid.uuid4().hex
    client.sock.settimeout(0.5)

    def marked() -> SseEvent | None:
        publish_event("events.comments.post_9", {"marker": marker})
        try:
            for ev in client.events():
                if ev.event == "message" and json.loads(ev.data).get("marker") == marker:
                    return ev
        except TimeoutError:
            pass
        return None

    got = None
    with contextlib.suppress(AssertionError):
        got = wait_until(marked, timeout=30, interval=0)
    client.close()
    assert got is not None, "no delivery after nats-server restart"
    assert int(got.id.rsplit(":", 1)[1]) > int(before.id.rsplit(":", 1)[1])
    # Events published while the stream was gone may be lost: resuming across that must reset.
    again = _sse(ready.a, "comments.post_9", headers={"Last-Event-ID": before.id})
    events = again.events()
    assert next(events).event == "stream-open"
    assert next(events).event == "stream-reset"
    again.close()


def test_publish_returns_quickly_and_drops_when_nats_is_unreachable(settings) -> None:  # type: ignore[no-untyped-def]
    from web.core.testing.server import free_port
    from web.live import publish

    settings.ENV = dataclasses.replace(settings.ENV, nats_url=f"nats://127.0.0.1:{free_port()}")
    dropped = publish.dropped
    started = time.monotonic()
    for n in range(5):
        publish_event("events.alerts.errors", {"x": n})
    # Bounded: the first call waits up to 0.5 s for a connection, the rest drop at once.
    assert time.monotonic() - started < 3
    assert publish.dropped == dropped + 5


def test_publish_rejects_bad_subjects_and_payloads() -> None:
    with pytest.raises(ValueError):
        publish_event("jobs.images.process", {})
    with pytest.raises(ValueError):
        publish_event("events.>", {})
    with pytest.raises(TypeError):
        publish_event("events.alerts.errors", ["not", "a", "dict"])  # type: ignore[arg-type]
