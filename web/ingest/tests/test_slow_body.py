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
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
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
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"connection: close" in answer.lower()


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
