"""The analytics worker's batch pipeline: enrich, sessionize, roll up, store. One transaction.

Order of work for one fetched batch (see docs/architecture/analytics.md):
1. validate every payload and give it its dedupe key (job id, or job id + index);
2. BEGIN IMMEDIATE; skip event ids already stored or already dropped (redelivery);
3. enrichment steps (steps.enrich): visitor id, UA, country, referrer/campaign (each may Drop);
4. catch up with the visitor-state journal (web/analytics/visitorstates.py), take the batch's
   visitors' states from memory and load their open sessions not cached (one query;
   caches.load_state);
5. sessionize in time order and aggregate rollup deltas in memory (sessionize.py,
   rollupcount.py);
6. write raw events, sessions and rollups (multi-row INSERTs and upserts, sqlbatch.py), the
   hourly graph and daily counters (executemany upserts), one journal row of the changed
   visitor states (writers.py), group errors into issues; COMMIT.
The caller acks only after this returns. Everything lives in data.db, so a crash before
COMMIT leaves no trace and a crash after it is deduped on redelivery.

This module is the orchestration: units and dedupe, the transaction, the process-wide lock
and GC handling. Record types are in records.py, caches in caches.py.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
import time
from collections import Counter

from django.db import connections, transaction

from web.analytics import caches, metrics, steps, writers
from web.analytics.caches import CACHE, reset_caches, salts_for
from web.analytics.records import BatchResult, Rec
from web.analytics.rollupcount import Batch
from web.analytics.sessionize import sessionize
from web.analytics.timefmt import DAY

__all__ = ["CACHE", "DB", "BatchResult", "content_id", "process_batch", "reset_caches"]

DB = "default"


def content_id(p: dict) -> str:
    """Deterministic dedupe key for a payload that came without a job id."""
    raw = json.dumps(p, sort_keys=True, separators=(",", ":"), default=str)
    return "c:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def process_batch(
    *,
    payloads: list[dict],
    job_ids: list[str] | None = None,
    now: float | None = None,
    pack_sizes: list[int] | None = None,
) -> BatchResult:
    """Enrich and store a batch in one data.db transaction; idempotent under redelivery.

    Dedupe is by unit: a unit already stored is skipped whole. Without `pack_sizes` each
    payload is a unit and `job_ids[i]` its key (without job ids, the payload's own "id",
    else a content hash); the key is also the event id. With `pack_sizes`, `job_ids[k]` is
    the key of pack k, which holds the next `pack_sizes[k]` payloads, and event j of it is
    stored as "<key>:<j>". Returns counts; raises only on database errors, in which case
    nothing was written and the batch should be redelivered.
    """
    now = time.time() if now is None else now
    b = Batch(now)
    b.res.received = len(payloads)
    conn = connections[DB]
    with _ONE_BATCH_AT_A_TIME:
        # The batch allocates ~10 small objects per event and frees them all at the end;
        # the cyclic GC would scan them many times over for nothing (see _gc_after_batch).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            try:
                stored = _run_txn(conn, b, _units(payloads, job_ids, pack_sizes), now)
            except BaseException:
                caches.STATES.clear()  # memory may hold this batch's uncommitted changes
                CACHE.salts.clear()
                raise
            states = caches.STATES
            states.keep(b, now)
            for site, lv in b.res.live.items():
                lv["visitors_now"] = states.visitors.visitors_now(site, now)
        finally:
            if gc_was_on:
                _gc_after_batch()
                gc.enable()
    b.res.stored = len(stored)
    for kind, n in Counter(rec.kind for rec in stored).items():
        metrics.STORED.labels(kind).inc(n)
    return b.res


# Batches of one process run one at a time (the worker may run two batch threads). The whole
# batch holds SQLite's write lock anyway, and the process-wide state must not change under a
# batch: a failed batch in another thread clears it, visitors_now edits the live window, and
# the GC switch is process-wide. A waiter here is woken at once, where SQLite's busy handler
# sleeps in growing steps (up to 100 ms) between retries.
_ONE_BATCH_AT_A_TIME = threading.Lock()

GC_FULL_EVERY_S = 600.0
_gc_full_at = [-GC_FULL_EVERY_S]


def _gc_after_batch() -> None:
    """Freeze what survived the batch (mostly the state cache) so the collector stops
    rescanning it, with a full collection every GC_FULL_EVERY_S for cycles frozen meanwhile.

    The cache holds up to 200k visitor states and sessions; as they were promoted, full
    collections kept walking them: ~5% of the worker's CPU under ingest load. The pipeline
    makes no reference cycles of its own, so freezing leaks nothing between the sweeps.
    """
    now = time.monotonic()
    if now - _gc_full_at[0] >= GC_FULL_EVERY_S:
        _gc_full_at[0] = now
        gc.unfreeze()
        gc.collect()
    gc.freeze()


_tuned: set[int] = set()


def _units(
    payloads: list[dict], job_ids: list[str] | None, pack_sizes: list[int] | None
) -> list[tuple[str, list[tuple[str, dict]]]]:
    """(dedupe key, [(event id, payload)]) of each unit of a batch, in order."""
    if pack_sizes is None:
        return [
            (eid := str((job_ids[i] if job_ids else "") or p.get("id") or content_id(p))[:80],
             [(eid, p)])
            for i, p in enumerate(payloads)
        ]  # fmt: skip
    if job_ids is None or len(job_ids) != len(pack_sizes) or sum(pack_sizes) != len(payloads):
        raise ValueError("pack_sizes needs one job id per pack and adds up to the payloads")
    units = []
    start = 0
    for key, n in zip(job_ids, pack_sizes, strict=True):
        key = key[:70]  # room for ":<index>" in the 80 characters of an event id
        units.append((key, [(f"{key}:{j}", payloads[start + j]) for j in range(n)]))
        start += n
    return units


def _run_txn(conn, b: Batch, units: list, now: float) -> list[Rec]:
    """The batch's transaction; returns the records stored. Writes through
    `writers.write_batch`, looked up at call time (tests replace it)."""
    with transaction.atomic(using=DB):
        conn.ensure_connection()
        cur = conn.connection.cursor()
        if id(conn.connection) not in _tuned:
            # A bigger page cache for this connection: rollup, state and session pages
            # are rewritten every batch (SQLite's default is 2 MiB).
            cur.execute("PRAGMA cache_size=-65536")
            _tuned.add(id(conn.connection))
        CACHE.refresh(cur, now)
        # A unit stored before (a redelivery) is skipped whole, drops included.
        seen = _already_seen(cur, [key for key, _ in units])
        items: list[tuple[str, dict]] = []
        for key, events in units:
            if key in seen:
                b.res.duplicates += len(events)
                metrics.DUPLICATES.inc(len(events))
                continue
            seen.add(key)
            b.keys.append(key)
            items += events
        valid: list[tuple[str, dict]] = []
        for eid, p in items:
            try:
                steps.validate(p)
                if p["site"] not in CACHE.sites:
                    CACHE.refresh(cur, now, force=True)
                    if p["site"] not in CACHE.sites:
                        raise steps.Drop("validate", "unknown_site")
            except steps.Drop as d:
                b.drop(d, eid, p, site_known=False)
                continue
            valid.append((eid, p))
        recs: list[Rec] = []
        today = int(now // DAY)
        salts = salts_for(cur, today, now)
        for eid, p in valid:
            try:
                recs.append(steps.enrich(p, eid, salts, today))
            except steps.Drop as d:
                b.drop(d, eid, p, site_known=True)
        recs.sort(key=lambda r: r.ts)
        caches.load_state(cur, b, recs)
        stored: list[Rec] = []
        for rec in recs:
            try:
                sessionize(b, rec)
            except steps.Drop as d:
                b.drop(d, rec.eid, rec.p, site_known=True)
                continue
            stored.append(rec)
        writers.write_batch(cur, b, stored)
        writers.write_issues(cur, b)
    return stored


def _already_seen(cur, keys: list[str]) -> set[str]:
    """The units of this batch that a committed batch already stored."""
    seen: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for (k,) in cur.execute(
            f"SELECT key FROM analytics_dedupekey WHERE key IN ({marks})", chunk
        ):
            seen.add(k)
    return seen
