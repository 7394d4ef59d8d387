"""Visitor states in memory, made durable by the append-only journal in data.db."""

from __future__ import annotations

from array import array
from types import SimpleNamespace

import pytest
from django.db import connection

from web.analytics import caches, visitorstates
from web.analytics.models import Rollup, Session, SessionsHourly, StateJournal
from web.analytics.services import events_process_batch
from web.analytics.visitorstates import _HEAD, KEEP_S, StateStore, VState, pack, unpack
from web.core.testing.events import DAY0, ev

pytestmark = pytest.mark.django_db

H = 3600
T = DAY0 + 10 * H


def run(payloads: list[dict], now: float | None = None) -> object:
    now = now if now is not None else max(p["ts"] for p in payloads) + 1
    return events_process_batch(payloads=payloads, now=now)


def restart_worker() -> None:
    """A new worker process: nothing in memory, the same data.db."""
    caches.STATES = caches.StateCache()


def loaded_store(now: float) -> StateStore:
    store = StateStore()
    connection.ensure_connection()
    store.sync(connection.connection.cursor(), now)
    return store


@pytest.fixture(autouse=True)
def _own_state_cache(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(caches, "STATES", caches.StateCache())


def test_record_round_trip() -> None:
    st = VState(2**62 + 5, 7)
    st.session_id, st.last_seen, st.hour, st.day = 2**61, T + 0.25, 491_234, 20_412
    st.seen_hour, st.seen_day = {1, 2**32 - 1}, {3, 4, 5}
    back = unpack(pack(st))
    assert [getattr(back, k) for k in VState.__slots__] == [
        getattr(st, k) for k in VState.__slots__
    ]
    # The bytes journals already hold: the head, then the two id arrays.
    head = _HEAD.pack(2**62 + 5, 7, 2**61, T + 0.25, 491_234, 20_412, 2, 3)
    hour, day = array("I", st.seen_hour).tobytes(), array("I", st.seen_day).tobytes()
    assert pack(st) == head + hour + day


def test_each_batch_appends_one_journal_row_with_its_changed_states() -> None:
    run([ev(T, ip="81.2.69.1"), ev(T + 1, ip="81.2.69.2"), ev(T + 2, ip="81.2.69.1")])
    run([ev(T + 60, ip="81.2.69.3")])
    rows = list(StateJournal.objects.order_by("id").values_list("kind", "states"))
    assert rows == [("delta", 2), ("delta", 1)]


def test_a_restarted_worker_continues_sessions_and_counts_no_unique_twice() -> None:
    run([ev(T, url="https://hearth.test/a")])
    restart_worker()
    run([ev(T + 60, url="https://hearth.test/b"), ev(T + 90, url="https://hearth.test/a")])
    s = Session.objects.get()
    assert (s.pageviews, s.exit_path, s.is_bounce) == (3, "/a", False)
    graph = SessionsHourly.objects.get()
    assert (graph.pageviews, graph.visitors, graph.started) == (3, 1, 1)
    page_a = Rollup.objects.get(dim="page", value="/a")
    assert (page_a.pageviews, page_a.visitors) == (2, 1)


def test_a_snapshot_replaces_the_journal_and_keeps_every_live_state(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(visitorstates, "SNAPSHOT_MIN_BYTES", 1)  # snapshot at every chance
    monkeypatch.setattr(visitorstates, "SNAPSHOT_ROW_BYTES", 200)  # several rows a snapshot
    for i in range(6):
        run([ev(T + 10 * i + k, ip=f"81.2.{i}.{k + 1}") for k in range(4)])
    kinds = "".join(
        k[0] for k in StateJournal.objects.order_by("id").values_list("kind", flat=True)
    )
    assert kinds.startswith("ss") and set(kinds.lstrip("s")) <= {"d"}, kinds  # deltas were cut
    mine = caches.STATES.visitors.records
    assert len(mine) == 24
    assert loaded_store(T + 100).records == mine  # what a restart would rebuild


def test_states_older_than_48_hours_are_dropped_at_the_next_snapshot(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    run([ev(T, ip="81.2.69.1")])
    later = T + KEEP_S + 60
    monkeypatch.setattr(visitorstates, "SNAPSHOT_MIN_BYTES", 1)
    run([ev(later, ip="81.2.69.2")], now=later + 1)
    assert len(caches.STATES.visitors.records) == 1
    assert sum(StateJournal.objects.values_list("states", flat=True)) == 1
    assert len(loaded_store(later + 2).records) == 1


def test_memory_follows_data_db_when_the_journal_changes_underneath() -> None:
    """A journal restored from an older backup (here: emptied) must not be shadowed by
    memory: the states this process remembers are no longer in data.db."""
    run([ev(T, url="https://hearth.test/a")])
    StateJournal.objects.all().delete()
    Session.objects.all().delete()
    run([ev(T + 60, url="https://hearth.test/b")])
    s = Session.objects.get()  # a new session (the old one is gone), not a dangling update
    assert (s.entry_path, s.pageviews) == ("/b", 1)
    assert len(caches.STATES.visitors.records) == 1


def test_migration_turns_visitorstate_rows_into_a_snapshot() -> None:
    """Upgrading keeps open sessions and unique counts: 0008 copies the old table's rows."""
    import importlib

    migration = importlib.import_module("web.analytics.migrations.0008_state_journal")
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE analytics_visitorstate (visitor_id bigint PRIMARY KEY, site_id int, "
            "session_id bigint, last_seen real, hour datetime, seen_hour blob, day date, "
            "seen_day blob)"
        )
        cur.execute(
            "INSERT INTO analytics_visitorstate VALUES (%s, 1, 77, %s, %s, %s, %s, %s)",
            [12345, T + 5, "2026-11-20 10:00:00", bytes([1, 0, 0, 0]), "2026-11-20", b""],
        )
    migration.states_to_journal(None, SimpleNamespace(connection=connection))
    st = loaded_store(T + 10).get(12345)
    assert st is not None
    assert (st.site, st.session_id, st.last_seen) == (1, 77, T + 5)
    assert (st.hour, st.day, st.seen_hour, st.seen_day) == (
        int(T // H),
        int(T // 86400),
        {1},
        set(),
    )
