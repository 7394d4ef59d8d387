"""Issue 15, S10 (ingest part): a request body that trickles in is cut off with a 408 and
the connection closed, instead of holding a connection and a task for as long as the client
likes (the attack held 500 slow POSTs for 60 s)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from web.core.testing import wait_until
from web.ingest import handler
from web.ingest.tests.helpers import BROWSER_UA, make_app
from web.stack.servers import free_port

TIMEOUT_S = 0.5  # handler.BODY_TIMEOUT_S in these tests (10 s in production)
BEACON = b'{"k":"hearthkey","n":"pageview","u":"http://127.0.0.1/slow"}'


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "BODY_TIMEOUT_S", TIMEOUT_S, raising=False)


def test_a_body_that_never_completes_is_a_408_that_closes_the_connection(
    short_timeout: None,
) -> None:
    app, rec = make_app()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ingest/e",
        "query_string": b"",
        "headers": [
            (b"user-agent", BROWSER_UA.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BEACON)).encode()),
        ],
        "client": ("203.0.113.9", 40000),
    }
    first = [{"type": "http.request", "body": BEACON[:5], "more_body": True}]

    async def receive() -> dict[str, Any]:
        if first:
            return first.pop()
        await asyncio.sleep(3600)  # the rest of the body never comes
        raise AssertionError("unreachable")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> float:
        start = time.monotonic()
        await asyncio.wait_for(app(scope, receive, send), timeout=TIMEOUT_S + 4)
        return time.monotonic() - start

    try:
        took = asyncio.run(run())
    except TimeoutError:
        pytest.fail(f"the handler was still waiting for the body {TIMEOUT_S + 4} s later")
    assert TIMEOUT_S - 0.05 <= took < TIMEOUT_S + 1
    assert sent[0]["status"] == 408
    headers = dict(sent[0]["headers"])
    assert headers[b"connection"] == b"close"
    assert b"did not arrive within" in sent[1]["body"]
    assert rec.jobs == []


# --- over a real socket: uvicorn with the protocol the stack runs ---------------------------


@pytest.fixture
def server(short_timeout: None) -> Iterator[int]:
    app, _ = make_app()
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="web.core.http_protocol:CoalescingHttpToolsProtocol",
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_until(lambda: srv.started, timeout=10, interval=0.02, message="uvicorn to start")
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _slow_post(port: int) -> socket.socket:
    """Headers and half the body, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S + 5)
    head = (
        f"POST /ingest/e HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSER_UA}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BEACON)}\r\n\r\n"
    )
    sock.sendall(head.encode() + BEACON[:10])
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; socket timeout if it never does."""
    out = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return out
        out += data


def test_many_slow_posts_are_all_answered_408_and_closed_in_time(server: int) -> None:
    socks = [_slow_post(server) for _ in range(50)]
    start = time.monotonic()
    answers = []
    try:
        for sock in socks:
            try:
                answers.append(_read_until_closed(sock))
            except TimeoutError:
                pytest.fail(f"a slow POST was still open {time.monotonic() - start:.1f} s later")
    finally:
        for sock in socks:
            sock.close()
    took = time.monotonic() - start
    assert took < TIMEOUT_S + 3
    # One address: the first MAX_OPEN_PER_IP time out (408), the rest are refused at once
    # (429); every connection is closed.
    statuses = [answer[9:12] for answer in answers]
    assert statuses.count(b"408") == handler.MAX_OPEN_PER_IP, statuses
    assert statuses.count(b"429") == 50 - handler.MAX_OPEN_PER_IP, statuses
    for answer in answers:
        assert b"connection: close" in answer.lower(), answer[:200]


def test_a_quick_post_on_the_same_server_is_still_accepted(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=5) as sock:
        head = (
            f"POST /ingest/e HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSER_UA}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BEACON)}\r\n"
            "Connection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + BEACON)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 202 "), answer[:300]


def test_one_address_cannot_hold_more_than_the_cap_of_open_requests() -> None:
    """Slow bodies from one IP past MAX_OPEN_PER_IP get a 429 at once; another address and
    the same address after its requests finished are served (issue 15, S10)."""
    app, _ = make_app()

    def scope(ip: str) -> dict[str, Any]:
        return {
            "type": "http", "method": "POST", "path": "/ingest/e", "query_string": b"",
            "headers": [(b"user-agent", BROWSER_UA.encode()),
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(BEACON)).encode())],
            "client": (ip, 40000),
        }  # fmt: skip

    async def run() -> tuple[list[int], int, int, int]:
        release = asyncio.Event()

        def slow_receive() -> Any:
            async def receive() -> dict[str, Any]:
                await release.wait()
                return {"type": "http.request", "body": BEACON, "more_body": False}

            return receive

        async def whole() -> dict[str, Any]:
            return {"type": "http.request", "body": BEACON, "more_body": False}

        async def call(ip: str, receive: Any) -> int:
            sent: list[dict[str, Any]] = []

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            await app(scope(ip), receive, send)
            return next(m["status"] for m in sent if m["type"] == "http.response.start")

        held = [
            asyncio.create_task(call("203.0.113.7", slow_receive()))
            for _ in range(handler.MAX_OPEN_PER_IP)
        ]
        await asyncio.sleep(0.05)
        over = await asyncio.wait_for(call("203.0.113.7", whole), 1)
        other = await asyncio.wait_for(call("198.51.100.4", whole), 1)
        release.set()
        statuses = await asyncio.gather(*held)
        after = await asyncio.wait_for(call("203.0.113.7", whole), 1)
        return statuses, over, other, after

    statuses, over, other, after = asyncio.run(run())
    assert over == 429
    assert other == 202 and after == 202
    assert set(statuses) == {202}
    assert app.open_per_ip == {}
