"""Issue 15, S4 and S10 (SSE part): an open public stream ends when its channel stops being
public, and one client IP holds a bounded number of streams.

End to end: a migrated data dir, the real ASGI app under uvicorn with the apps' real checks
(dashboard: the site has an unrevoked public link; blog: the post is published), a real
nats-server, and the revocation done through the services the dashboard and admin use.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.core.testing import migrate, run_django, wait_until
from web.core.testing.server import (
    Server,
    SseClient,
    SseEvent,
    server_env,
    wait_delivering,
)
from web.live import channels
from web.live.hub import Hub
from web.live.publish import publish_event
from web.live.runtime import end_revoked_streams
from web.live.tests.test_hub import Sink

RECHECK_S = 0.5  # runtime.ACCESS_RECHECK_S in the test server (30 s in production)
MAX_PER_IP = 3  # sse.MAX_STREAMS_PER_IP in the test server (20 in production)


@dataclasses.dataclass
class Stack:
    server: Server
    env: dict[str, str]
    ids: dict[str, int]

    def django(self, code: str) -> str:
        """Run ``code`` with Django set up on the server's data dir; its last printed line."""
        return run_django(self.env, code)


_SETUP = """
import json
from web.analytics.models import Site
from web.blog.models import Post
from web.blog.services import post_publish
from web.dashboard.services import public_link_create
site = Site.objects.create(name="shared", domains=["shared.example"])
link = public_link_create(site_id=site.pk)
posts = [
    post_publish(post=Post(title=f"live {n}", slug=f"live-{n}", body_md="hi")).pk
    for n in range(2)
]
print(json.dumps({"site": site.pk, "link": link.pk, "post": posts[0], "post2": posts[1]}))
"""


@pytest.fixture(autouse=True)
def _publish_to_test_nats(settings, nats_server) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(settings.ENV, nats_url=nats_server.url)


@pytest.fixture(scope="module")
def stack(nats_server, tmp_path_factory) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    root: Path = tmp_path_factory.mktemp("revocation")
    env = server_env(nats_url=nats_server.url, data_dir=root / "data", public=[])
    del env["HEARTH_TEST_PUBLIC_CHANNELS"]  # the apps' real checks, not the test stand-ins
    env.update(
        HEARTH_TEST_LIVE_KNOBS="1",
        HEARTH_TEST_LIVE_RECHECK_S=str(RECHECK_S),
        HEARTH_TEST_LIVE_MAX_PER_IP=str(MAX_PER_IP),
    )
    migrate(env)
    server = Server(env, log=root / "web.log")
    stack = Stack(server, env, {})
    stack.ids = json.loads(stack.django(_SETUP))
    try:
        server.start()
        yield stack
    finally:
        server.stop()


def _open(stack: Stack, channel: str, **kw) -> SseClient:  # type: ignore[no-untyped-def]
    client = SseClient(stack.server.port, f"/live/events/?channel={channel}", timeout=5, **kw)
    assert client.status == 200, client.body()
    assert client.next_event().event == "stream-open"
    return client


def _receive_a_message(client: SseClient, channel: str) -> None:
    """Publish probes until one arrives (the server subscribes in the background)."""
    client.sock.settimeout(0.3)
    try:
        wait_delivering(client, channel, timeout=20)
    finally:
        client.sock.settimeout(5)


def _events_until_end(client: SseClient, channel: str, *, within: float) -> list[SseEvent]:
    """Keep publishing while reading: every event the stream still gets, until it ends.
    Fails if it is still open after ``within`` seconds."""
    client.sock.settimeout(0.2)
    got: list[SseEvent] = []
    next_publish = 0.0

    def ended() -> bool:
        nonlocal next_publish
        if time.monotonic() >= next_publish:
            publish_event(f"events.{channel}", {"after": "revoked"})
            next_publish = time.monotonic() + 0.1
        try:
            got.append(client.next_event())  # a fresh generator: a timeout would end one
        except TimeoutError:
            return False
        except StopIteration:
            return True
        return False

    try:
        wait_until(ended, timeout=within, interval=0)
    except AssertionError:
        kinds = sorted({e.event for e in got})
        raise AssertionError(
            f"{channel}: stream still open {within} s after revocation; it got {len(got)} more"
            f" events ({kinds})"
        ) from None
    return got


def _assert_ended_with_forbidden(got: list[SseEvent], channel: str) -> None:
    assert got, "no final event before the end"
    last = got[-1]
    assert last.event == "stream-error", [e.event for e in got]
    assert last.id is None  # the browser's Last-Event-ID stays a valid position
    data = json.loads(last.data)
    assert data["condition"] == "forbidden"
    assert data["channels"] == [channel]
    assert "no longer public" in data["text"]


def _refused(stack: Stack, channel: str) -> bool:
    """A new connection is refused (403) within a few seconds (the cache's lifetime)."""

    def refused() -> bool:
        client = SseClient(stack.server.port, f"/live/events/?channel={channel}", timeout=5)
        status = client.status
        client.close()
        return status == 403

    with contextlib.suppress(AssertionError):
        return wait_until(refused, timeout=channels.CACHE_SECONDS + 3, interval=0.3)
    return False


def test_share_link_stream_ends_when_the_link_is_revoked(stack: Stack) -> None:
    channel = f"metrics.views.{stack.ids['site']}"
    client = _open(stack, channel)
    _receive_a_message(client, channel)

    stack.django(
        "from web.dashboard.services import public_link_revoke; "
        f"public_link_revoke(link_id={stack.ids['link']})"
    )
    got = _events_until_end(client, channel, within=RECHECK_S + 8)
    client.close()
    _assert_ended_with_forbidden(got, channel)
    assert _refused(stack, channel)


def test_comment_stream_ends_when_the_post_is_unpublished(stack: Stack) -> None:
    channel = f"comments.post_{stack.ids['post']}"
    other = f"comments.post_{stack.ids['post2']}"
    client = _open(stack, channel)
    bystander = _open(stack, other)
    _receive_a_message(client, channel)

    # As the admin does it: the post goes back to draft and is saved.
    stack.django(
        "from web.blog.models import Post; from web.blog.services import post_save; "
        f"p = Post.objects.get(pk={stack.ids['post']}); p.status = Post.Status.DRAFT; "
        "post_save(post=p)"
    )
    got = _events_until_end(client, channel, within=RECHECK_S + 8)
    client.close()
    _assert_ended_with_forbidden(got, channel)
    assert _refused(stack, channel)
    # A still-published post's stream is left alone.
    _receive_a_message(bystander, other)
    bystander.close()


def test_streams_per_client_ip_are_capped_with_a_429(stack: Stack) -> None:
    channel = f"comments.post_{stack.ids['post2']}"
    held = [_open(stack, channel) for _ in range(MAX_PER_IP)]
    try:
        # X-Forwarded-For from an untrusted peer changes nothing.
        for headers in ({}, {"X-Forwarded-For": "198.51.100.7"}):
            over = SseClient(stack.server.port, f"/live/events/?channel={channel}", headers=headers)
            status, body = over.status, over.body()
            over.close()
            assert status == 429, body
            assert "too many open live streams" in json.loads(body)["error"]
        # A closed stream frees its place.
        held.pop().close()

        def reopened() -> SseClient | None:
            client = SseClient(stack.server.port, f"/live/events/?channel={channel}")
            if client.status == 200:
                return client
            client.close()
            return None

        client = wait_until(reopened, timeout=5, interval=0.1, message="a place for a stream")
        held.append(client)
        assert client.status == 200
    finally:
        for c in held:
            c.close()


# --- the re-check itself, in process --------------------------------------------------------


def test_recheck_ends_only_revoked_channels_and_not_on_a_failing_check(registry: None) -> None:
    published = {"1", "2"}
    channels.register_public_check("comments.post_", lambda key: key in published)

    def broken(key: str) -> bool:
        raise RuntimeError("database is locked")

    channels.register_public_check("metrics.views.", broken)
    hub = Hub()
    sinks = {c: Sink() for c in ("comments.post_1", "comments.post_2", "metrics.views.1")}
    for channel, sink in sinks.items():
        hub.subscribe(channel, sink)

    published.discard("2")
    ended = asyncio.run(end_revoked_streams(hub))

    assert ended == ["comments.post_2"]
    assert sinks["comments.post_2"].closed
    assert sinks["comments.post_2"].frames[-1].startswith(b"event: stream-error\n")
    assert not sinks["comments.post_1"].closed and not sinks["comments.post_1"].frames
    # A check that raises is no revocation: the stream stays (new ones are still refused).
    assert not sinks["metrics.views.1"].closed
    assert set(hub.listeners) == {"comments.post_1", "metrics.views.1"}
    # The fresh answer is cached for new connections.
    assert not asyncio.run(channels.public_channel_allowed("comments.post_2"))
