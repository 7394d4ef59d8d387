"""Per-process fan-out hub: a bounded replay ring per channel and the set of local listeners.

Runs on the web process's event loop; the NATS subscription feeds it, SSE connections listen.
Event ids are JetStream stream sequences of the EVENTS stream (see web/live/stream.py), so both
web processes give the same event the same id, and an id names a position that either process
can resume from. Nothing here does I/O.

Resume rule: a client that saw event ``last`` on channel C gets every later event of C when the
ring still proves it has all of them (``last >= floor(C)``); otherwise it gets a reset and
must refetch state. ``floor(C)`` rises when the ring drops an event, when the process starts
(it knows nothing older), and when the stream skips sequences (events lost to this process).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

KEEPALIVE = b"event: keep-alive\ndata:\n\n"


class Sink(Protocol):
    def push(self, frame: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    seq: int
    data: str  # JSON text on one line
    frame: bytes  # the SSE frame, encoded once for every listener


def event_id(channel: str, seq: int) -> str:
    """django-eventstream's id format for one channel: ``<channel>:<seq>``."""
    return f"{channel}:{seq}"


def parse_last_event_id(raw: str, channel: str) -> int | None:
    """The sequence for ``channel`` in a Last-Event-ID; None when absent; ValueError if bad."""
    raw = raw.strip()
    if not raw:
        return None
    for part in raw.split(","):
        name, sep, value = part.rpartition(":")
        if not sep:
            raise ValueError("Last-Event-ID must look like <channel>:<number>")
        if name == channel:
            seq = int(value)
            if seq < 0:
                raise ValueError("negative event id")
            return seq
    return None


def encode_frame(event_type: str, data: str, ident: str | None) -> bytes:
    """One SSE frame in django-eventstream's field order: event, id, data lines."""
    out = f"event: {event_type}\n"
    if ident is not None:
        out += f"id: {ident}\n"
    for line in data.splitlines() or [""]:
        out += f"data: {line}\n"
    return (out + "\n").encode()


def normalise_payload(payload: bytes) -> str:
    """JSON text on one line; raises ValueError when the payload is not JSON."""
    text = payload.decode()
    value = json.loads(text)
    if "\n" in text or "\r" in text:
        text = json.dumps(value, separators=(",", ":"))
    return text


class Ring:
    __slots__ = ("events", "floor")

    def __init__(self, size: int, floor: int) -> None:
        self.events: deque[Event] = deque(maxlen=size)
        self.floor = floor  # every event of this channel with seq > floor is in events


class Hub:
    """Rings and listeners of one process. Mutations happen on one event loop thread; the
    admin stream's storage reads from Django's sync thread, hence the lock."""

    def __init__(self, *, ring_size: int = 100, max_channels: int = 10_000) -> None:
        self.ring_size = ring_size
        self.max_channels = max_channels
        self.rings: OrderedDict[str, Ring] = OrderedDict()
        self.listeners: dict[str, set[Sink]] = {}
        self.taps: list[Callable[[Event], None]] = []
        self.head = 0  # last stream sequence seen
        self.floor = 0  # nothing at or below this is known to this process
        self.dropped_floor = 0  # highest seq in a ring evicted for lack of room
        self.gaps = 0
        self._lock = threading.Lock()

    def start(self, last_seq: int) -> None:
        """The subscription starts after ``last_seq``: older events are unknown here."""
        with self._lock:
            self.head = max(self.head, last_seq)
            self.floor = max(self.floor, last_seq)

    # --- feeding --------------------------------------------------------------------------
    def publish(self, channel: str, seq: int, data: str) -> Event | None:
        """Record and fan out one event; None for a duplicate (already-seen sequence)."""
        with self._lock:
            if seq <= self.head:
                return None
            if seq != self.head + 1:
                # Sequences are contiguous on the stream: a jump means events this process
                # never saw, so nobody may resume across it.
                self.gaps += 1
                self.floor = seq - 1
            self.head = seq
            ring = self.rings.get(channel)
            if ring is None:
                ring = self._new_ring(channel)
            else:
                self.rings.move_to_end(channel)
            if len(ring.events) == self.ring_size:
                ring.floor = ring.events[0].seq
            event = Event(channel, seq, data, encode_frame("message", data, event_id(channel, seq)))
            ring.events.append(event)
        for sink in tuple(self.listeners.get(channel, ())):
            sink.push(event.frame)
        for tap in self.taps:
            tap(event)
        return event

    def _new_ring(self, channel: str) -> Ring:
        while len(self.rings) >= self.max_channels:
            _, old = self.rings.popitem(last=False)
            if old.events:
                self.dropped_floor = max(self.dropped_floor, old.events[-1].seq)
        ring = Ring(self.ring_size, self.dropped_floor)
        self.rings[channel] = ring
        return ring

    # --- reading --------------------------------------------------------------------------
    def since(self, channel: str, last: int) -> list[Event] | None:
        """Events of channel after ``last``, or None when some may be missing (reset)."""
        with self._lock:
            if last > self.head:
                return None  # an id from another stream incarnation or a made-up one
            ring = self.rings.get(channel)
            floor = max(self.floor, ring.floor if ring is not None else self.dropped_floor)
            if last < floor:
                return None
            if ring is None:
                return []
            return [e for e in ring.events if e.seq > last]

    def subscribe(self, channel: str, sink: Sink) -> None:
        self.listeners.setdefault(channel, set()).add(sink)

    def unsubscribe(self, channel: str, sink: Sink) -> None:
        sinks = self.listeners.get(channel)
        if sinks is not None:
            sinks.discard(sink)
            if not sinks:
                del self.listeners[channel]

    def connection_count(self) -> int:
        return sum(len(s) for s in self.listeners.values())

    def end_channel(self, channel: str, frame: bytes) -> int:
        """Send ``frame`` to every listener of ``channel``, end their responses and forget
        them (the channel stopped being public); return how many were ended."""
        sinks = self.listeners.pop(channel, set())
        for sink in sinks:
            sink.push(frame)
            sink.close()
        return len(sinks)

    def close_all(self) -> None:
        for sinks in tuple(self.listeners.values()):
            for sink in tuple(sinks):
                sink.close()

    def keepalive(self) -> None:
        for sinks in tuple(self.listeners.values()):
            for sink in tuple(sinks):
                sink.push(KEEPALIVE)
