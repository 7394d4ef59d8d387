"""uvicorn's httptools protocol, with a response's writes coalesced into one socket send.

uvicorn writes the status line and headers, then the body, as two `transport.write` calls:
two send() syscalls and two TCP segments per response. For small answers (ingest's 202,
the health check) that doubled the kernel work of the busiest path: the header write alone
was ~18% of a web worker's CPU under ingest load. Here writes made in one event-loop step
are joined and sent once at the end of the step, so a response that is ready goes out as
one segment; anything large (over FLUSH_AT) goes out at once, so streaming and big bodies
keep uvicorn's flow control.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

FLUSH_AT = 64 * 1024


class CoalescingTransport:
    """Wraps a transport: write() buffers until the end of the loop step (or FLUSH_AT)."""

    __slots__ = ("_buf", "_loop", "_scheduled", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buf: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._buf.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        buf = self._buf
        if not buf:
            return
        self._buf = []
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(buf[0] if len(buf) == 1 else b"".join(buf))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._buf = []
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose transport coalesces each response's writes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)  # type: ignore[arg-type]
