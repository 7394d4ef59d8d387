"""Visitor states: held in the worker's memory, made durable by an append-only journal.

A visitor state (the open session, and the rollup keys already counted as unique this hour
and this UTC day) changes with nearly every event. As rows of a table keyed by the visitor
id, a keyed hash, every batch rewrote one 4 KiB page per new visitor at a random place in the
B-tree: 70% of the WAL that Litestream ships, and a tenth of the worker's time.

Here each batch appends ONE journal row to data.db holding every state it changed (packed
records, compressed), in the same transaction as its events and rollups: a state is exactly
as durable as the counts it guards, and a crash before COMMIT leaves neither. When the rows
appended since the last snapshot are SNAPSHOT_EVERY times its size, a snapshot of the live
states replaces the journal (in the same transaction). States older than KEEP_S are dropped
then: their salt is gone, so nothing could match them any more.

Several worker processes stay consistent through the journal itself: inside its write
transaction each one first applies the rows others appended since its own last row. The
row it last applied is remembered with a random token, so a rolled-back, restored or
compacted journal is noticed and memory is rebuilt from data.db.
"""

from __future__ import annotations

import functools
import secrets
import struct
import zlib
from array import array
from collections.abc import Iterable

KEEP_S = 48 * 3600
SNAPSHOT_MIN_BYTES = 4 * 1024 * 1024  # compressed journal bytes before the first snapshot
# A snapshot is due when the deltas since the last one are SNAPSHOT_EVERY times its size:
# snapshots then add 1/SNAPSHOT_EVERY to the journal's writes (measured: at 2 they were 5% of
# the worker's time in a backlog drain), and a start replays at most 1 + SNAPSHOT_EVERY times
# the live states.
SNAPSHOT_EVERY = 4
SNAPSHOT_ROW_BYTES = 1024 * 1024  # raw record bytes per snapshot row
LIVE_WINDOW_S = 300

# visitor id, site, session id, last_seen, hour number, day number, #seen_hour, #seen_day;
# then the two packed uint32 arrays of crc32("dim\x1fvalue") key ids.
_HEAD = struct.Struct("<qIqdiiHH")
_LAST_SEEN = struct.Struct("<d")  # last_seen, at offset 20 of _HEAD
_ID_SIZE = array("I").itemsize


class VState:
    """One visitor's state while a batch works on it."""

    __slots__ = ("day", "hour", "last_seen", "seen_day", "seen_hour", "session_id", "site", "vid")

    def __init__(self, vid: int, site: int) -> None:
        self.vid = vid
        self.site = site
        self.session_id = 0
        self.last_seen = 0.0
        self.hour = -1
        self.day = -1
        self.seen_hour: set[int] = set()
        self.seen_day: set[int] = set()


@functools.cache
def _record(ids: int) -> struct.Struct:
    """_HEAD followed by `ids` uint32 key ids: a record in one pack() call (0.74 against
    1.2 us for the head and two arrays). Little-endian, as array("I") is on the machines we
    run on (x86-64, arm64); unpack reads the ids with array."""
    return struct.Struct(_HEAD.format + f"{ids}I")


def pack(st: VState) -> bytes:
    """The journal record of a state."""
    h, d = st.seen_hour, st.seen_day
    return _record(len(h) + len(d)).pack(
        st.vid, st.site, st.session_id, st.last_seen, st.hour, st.day, len(h), len(d), *h, *d
    )


def unpack(raw: bytes) -> VState:
    """A state from its journal record."""
    vid, site, sid, last, hour, day, nh, nd = _HEAD.unpack_from(raw)
    st = VState(vid, site)
    st.session_id, st.last_seen, st.hour, st.day = sid, last, hour, day
    ids = array("I")
    ids.frombytes(raw[_HEAD.size :])
    st.seen_hour = set(ids[:nh])
    st.seen_day = set(ids[nh : nh + nd])
    return st


def _last_seen(rec: bytes) -> float:
    return _LAST_SEEN.unpack_from(rec, 20)[0]


def split_records(data: bytes) -> Iterable[tuple[int, int, int, float, bytes]]:
    """(visitor id, site, session id, last_seen, record) of each record in a journal row's
    data."""
    buf = zlib.decompress(data)
    off, end, head = 0, len(buf), _HEAD.size
    unpack_from = _HEAD.unpack_from
    while off < end:
        vid, site, sid, last, _h, _d, nh, nd = unpack_from(buf, off)
        stop = off + head + _ID_SIZE * (nh + nd)
        yield vid, site, sid, last, buf[off:stop]
        off = stop


class StateStore:
    """Every live visitor state of data.db, as packed records (~200 bytes a visitor)."""

    def __init__(self) -> None:
        self.records: dict[int, bytes] = {}
        self.loaded = False
        self.cursor = (0, 0)  # (id, token) of the last journal row applied or written
        self.since_snapshot = 0  # compressed bytes appended since the last snapshot
        self.snapshot_bytes = 0
        # site -> {visitor id: last_seen}, oldest first: the live view's "visitors now"
        self.recent: dict[int, dict[int, float]] = {}

    def clear(self) -> None:
        """Forget everything; the next sync() rebuilds from data.db."""
        self.records.clear()
        self.recent.clear()
        self.loaded = False
        self.cursor = (0, 0)
        self.since_snapshot = self.snapshot_bytes = 0

    def get(self, vid: int) -> VState | None:
        raw = self.records.get(vid)
        return unpack(raw) if raw is not None else None

    def sync(self, cur, now: float) -> set[int] | None:  # type: ignore[no-untyped-def]
        """Catch up with the journal inside the caller's write transaction.

        Returns the session ids that another writer may have changed (their cached copies
        are stale), or None after a full rebuild (no cached session can be trusted).
        """
        if self.loaded:
            cid, token = self.cursor
            row = None
            if cid:
                row = cur.execute(
                    "SELECT token FROM analytics_statejournal WHERE id = ?", (cid,)
                ).fetchone()
            if (row is None and cid) or (row is not None and row[0] != token):
                self.clear()
        if not self.loaded:
            self._load(cur, now - KEEP_S)
            return None
        stale: set[int] = set()
        for rid, token, data in cur.execute(
            "SELECT id, token, data FROM analytics_statejournal WHERE id > ? ORDER BY id",
            (self.cursor[0],),
        ):
            for vid, site, sid, last, rec in split_records(bytes(data)):
                old = self.records.get(vid)
                if old is not None:
                    stale.add(_HEAD.unpack_from(old)[2])
                stale.add(sid)
                self.records[vid] = rec
                self._seen(site, vid, last)
            self.cursor = (rid, token)
        stale.discard(0)
        return stale

    def _load(self, cur, horizon: float) -> None:  # type: ignore[no-untyped-def]
        """Replay the whole journal, keeping states seen at or after `horizon`."""
        records = self.records
        for rid, token, kind, data in cur.execute(
            "SELECT id, token, kind, data FROM analytics_statejournal ORDER BY id"
        ):
            size = len(data)
            if kind == "snapshot":
                self.snapshot_bytes += size
            else:
                self.since_snapshot += size
            for vid, site, _sid, last, rec in split_records(bytes(data)):
                if last >= horizon:
                    records[vid] = rec
                    self._seen(site, vid, last)
                else:
                    records.pop(vid, None)
            self.cursor = (rid, token)
        self.loaded = True

    def _seen(self, site: int, vid: int, last: float) -> None:
        recent = self.recent.get(site)
        if recent is None:
            recent = self.recent[site] = {}
        recent.pop(vid, None)
        recent[vid] = last

    def append(self, cur, states: list[VState], now: float) -> None:  # type: ignore[no-untyped-def]
        """Journal the batch's changed states (one row), and snapshot when it is due."""
        if not states:
            return
        records = self.records
        parts = []
        for st in states:
            rec = pack(st)
            parts.append(rec)
            records[st.vid] = rec
            self._seen(st.site, st.vid, st.last_seen)
        data = zlib.compress(b"".join(parts), 1)
        self._insert(cur, "delta", len(states), data, now)
        self.since_snapshot += len(data)
        if self.since_snapshot > max(SNAPSHOT_MIN_BYTES, SNAPSHOT_EVERY * self.snapshot_bytes):
            self.snapshot(cur, now)

    def snapshot(self, cur, now: float) -> int:  # type: ignore[no-untyped-def]
        """Replace the journal by the live states (those seen in the last KEEP_S), in the
        caller's transaction; returns how many expired states were dropped."""
        horizon = now - KEEP_S
        live = {v: r for v, r in self.records.items() if _last_seen(r) >= horizon}
        dropped = len(self.records) - len(live)
        self.records = live
        first = 0
        total = 0
        chunk: list[bytes] = []
        size = 0
        rows: list[tuple[int, bytes]] = []
        for rec in live.values():
            chunk.append(rec)
            size += len(rec)
            if size >= SNAPSHOT_ROW_BYTES:
                rows.append((len(chunk), zlib.compress(b"".join(chunk), 1)))
                chunk, size = [], 0
        if chunk or not rows:
            rows.append((len(chunk), zlib.compress(b"".join(chunk), 1)))
        for n, data in rows:
            rid = self._insert(cur, "snapshot", n, data, now)
            first = first or rid
            total += len(data)
        cur.execute("DELETE FROM analytics_statejournal WHERE id < ?", (first,))
        self.snapshot_bytes, self.since_snapshot = total, 0
        return dropped

    def _insert(self, cur, kind: str, n: int, data: bytes, now: float) -> int:  # type: ignore[no-untyped-def]
        token = secrets.randbits(62)
        cur.execute(
            "INSERT INTO analytics_statejournal (token, kind, states, data, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (token, kind, n, data, now),
        )
        rid = int(cur.lastrowid)
        self.cursor = (rid, token)
        return rid

    def visitors_now(self, site: int, now: float) -> int:
        """Visitors of `site` with an event in the last LIVE_WINDOW_S (this process's view)."""
        recent = self.recent.get(site)
        if not recent:
            return 0
        cutoff = now - LIVE_WINDOW_S
        expired = []
        for vid, last in recent.items():  # oldest first: stop at the first live one
            if last >= cutoff:
                break
            expired.append(vid)
        for vid in expired:
            del recent[vid]
        return len(recent)


def journal_compact(cur, now: float, *, dry_run: bool = False) -> int:  # type: ignore[no-untyped-def]
    """Snapshot the journal without the states older than KEEP_S, in the caller's write
    transaction; returns how many expire. For the retention job: without traffic the worker
    never snapshots, and expired states (hashes of IP and UA) would stay in data.db."""
    store = StateStore()
    store._load(cur, float("-inf"))
    horizon = now - KEEP_S
    expired = sum(1 for r in store.records.values() if _last_seen(r) < horizon)
    if expired and not dry_run:
        store.snapshot(cur, now)
    return expired
