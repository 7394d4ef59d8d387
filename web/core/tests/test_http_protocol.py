"""The coalescing HTTP protocol: one send per ready response, streaming still streams.

Unit tests drive CoalescingTransport on a real event loop with a recording transport (pure
logic); the end-to-end test runs uvicorn with the protocol class, as gunicorn's
HearthUvicornWorker does, and reads the bytes off a socket.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from web.core.http_protocol import FLUSH_AT, CoalescingTransport
from web.core.testing import wait_until
from web.stack.servers import free_port

REPO = Path(__file__).resolve().parents[3]


class Recorder:
    """Stands in for the socket transport: records each write() it is given."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"extra:{name}"


def _run(steps: Any) -> Recorder:
    async def main() -> Recorder:
        rec = Recorder()
        t = CoalescingTransport(rec, asyncio.get_running_loop())  # type: ignore[arg-type]
        await steps(t, rec)
        return rec

    return asyncio.run(main())


def test_writes_of_one_loop_step_leave_as_one_send() -> None:
    async def steps(t: CoalescingTransport, rec: Recorder) -> None:
        t.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
        t.write(b"ok")
        assert rec.writes == []  # nothing sent within the step
        await asyncio.sleep(0)
        assert rec.writes == [b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok"]
        t.write(b"next")  # a later step: its own send
        await asyncio.sleep(0)

    assert _run(steps).writes[1:] == [b"next"]


def test_large_writes_go_out_at_once_and_close_flushes_first() -> None:
    async def steps(t: CoalescingTransport, rec: Recorder) -> None:
        t.write(b"head")
        t.write(b"x" * FLUSH_AT)  # over the threshold: flushed in this step
        assert rec.writes == [b"head" + b"x" * FLUSH_AT]
        t.write(b"tail")
        t.close()
        assert rec.writes[-1] == b"tail" and rec.closed
        assert t.get_extra_info("peername") == "extra:peername"  # the rest is delegated

    assert len(_run(steps).writes) == 2


def test_abort_drops_what_was_buffered() -> None:
    async def steps(t: CoalescingTransport, rec: Recorder) -> None:
        t.write(b"never sent")
        t.abort()
        await asyncio.sleep(0)
        assert rec.aborted and rec.writes == []

    _run(steps)


async def stream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/stream sends three chunks 50 ms apart (like SSE); anything else a small body."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        for i in range(3):
            await send({"type": "http.response.body", "body": f"data: {i}\n\n".encode(),
                        "more_body": True})  # fmt: skip
            await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b""})
        return
    body = b'{"ok": true}'
    await send({"type": "http.response.start", "status": 202,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _read_until(sock: socket.socket, marker: bytes, timeout: float = 5) -> tuple[bytes, list]:
    """Bytes up to marker, and (seconds since start, chunk) of each recv."""
    sock.settimeout(timeout)
    data, chunks, t0 = b"", [], time.monotonic()
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append((time.monotonic() - t0, chunk))
        data += chunk
    return data, chunks


def test_uvicorn_with_the_protocol_answers_and_streams() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "web.core.tests.test_http_protocol:stream_app",
         "--port", str(port), "--http", "web.core.http_protocol:CoalescingHttpToolsProtocol",
         "--no-access-log", "--lifespan", "off"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:

        def listening() -> socket.socket | None:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                return None

        sock = wait_until(listening, timeout=30, interval=0.1, message="uvicorn did not listen")
        with sock:
            for _ in range(2):  # keep-alive: two answers on one connection
                sock.sendall(b"POST /ingest/e HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
                data, _ = _read_until(sock, b'{"ok": true}')
                assert data.startswith(b"HTTP/1.1 202 ") and data.endswith(b'{"ok": true}')
            sock.sendall(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
            data, chunks = _read_until(sock, b"0\r\n\r\n")
        assert b"data: 0\n\n" in data and b"data: 2\n\n" in data and data.endswith(b"0\r\n\r\n")
        # Streamed, not held back until the end: the chunks arrived spread over ~100 ms.
        assert len(chunks) >= 3 and chunks[-1][0] - chunks[0][0] >= 0.08, chunks
    finally:
        proc.terminate()
        proc.wait(timeout=10)
