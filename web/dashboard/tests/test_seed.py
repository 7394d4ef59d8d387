"""The seed writes raw rows the way the worker would: each session's counters, entry/exit,
bounce, duration and times agree with its events, and the rollups with the raw rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from django.db import connection

from web.analytics.steps import SESSION_EPOCH, normalise_path
from web.dashboard.seed import traffic_seed
from web.dashboard.tests.conftest import DAYS, END


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _t(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.django_db
def test_seeded_sessions_match_their_events() -> None:
    counts = traffic_seed(site_id=1, events=4000, days=DAYS, end=END, raw=True, seed=5)
    events = _rows(
        "SELECT id, session_id, visitor_id, ts || '', kind, name, path, engaged_ms, props, source, "
        "country FROM analytics_event ORDER BY id"
    )
    assert len(events) == counts["events"] > 3000
    by_session: dict[int, list[tuple]] = defaultdict(list)
    for e in events:
        by_session[e[1]].append(e)
    sessions = _rows(
        "SELECT id, visitor_id, started_at || '', last_seen || '', entry_path, exit_path, "
        "pageviews, events, is_bounce, duration_ms, source, country, active_hour || '' "
        "FROM analytics_session"
    )
    assert len(sessions) == counts["visits"] == len(by_session)
    kinds = Counter(e[4] for e in events)
    assert kinds["pageview"] == counts["pageviews"] and kinds["custom"] == counts["custom"] > 0
    assert kinds["engagement"] == counts["engagement"] == kinds["pageview"]
    for sid, vid, started, last, entry, exit_, pvs, evs, bounce, dur, src, cc, active in sessions:
        evts = by_session[sid]
        assert [e[3] for e in evts] == sorted(e[3] for e in evts)  # seq order is time order
        pages = [e for e in evts if e[4] == "pageview"]
        custom = [e for e in evts if e[4] == "custom"]
        assert pvs == len(pages) and evs == len(custom)
        assert bool(bounce) == (len(pages) < 2 and not custom)
        assert dur == sum(e[7] for e in evts if e[4] == "engagement") > 0
        assert entry == pages[0][6] and exit_ == pages[-1][6]
        assert started == evts[0][3] and last == evts[-1][3]
        assert len(started) == 26 and started[19] == "."  # the worker's ts_str text
        assert sid >> 32 == int(_t(started)) - SESSION_EPOCH  # start second in the high bits
        assert active == started[:13] + ":00:00"  # every event in the start hour
        assert {e[3][:13] for e in evts} == {started[:13]}
        assert {(e[2], e[9], e[10]) for e in evts} == {(vid, src, cc)}
        assert all(e[6] == normalise_path(e[6]) for e in evts)
        assert all(e[8] != "{}" for e in custom)


@pytest.mark.django_db
def test_seeded_rollups_match_the_raw_rows() -> None:
    counts = traffic_seed(site_id=1, events=3000, days=DAYS, end=END, raw=True, seed=6)
    (hourly,) = _rows(
        "SELECT SUM(started), SUM(pageviews), SUM(events), SUM(bounces), SUM(duration_ms) "
        "FROM analytics_sessionshourly"
    )
    (raw,) = _rows(
        "SELECT COUNT(*), SUM(pageviews), SUM(events), SUM(is_bounce), SUM(duration_ms) "
        "FROM analytics_session"
    )
    assert hourly == raw
    pages = dict(
        _rows("SELECT value, SUM(pageviews) FROM analytics_rollup WHERE dim='page' GROUP BY 1")
    )
    assert pages == dict(
        _rows("SELECT path, COUNT(*) FROM analytics_event WHERE kind='pageview' GROUP BY 1")
    )
    assert "/pricing" in pages and not any(p.endswith("/") and p != "/" for p in pages)
    goals = dict(
        _rows("SELECT value, SUM(events) FROM analytics_rollup WHERE dim='goal' GROUP BY 1")
    )
    (signups,) = _rows("SELECT COUNT(*) FROM analytics_event WHERE name='signup'")[0]
    (pricing,) = _rows(
        "SELECT COUNT(*) FROM analytics_event WHERE path='/pricing' AND kind='pageview'"
    )[0]
    assert goals == {"Signup": signups, "Pricing visit": pricing}
    stored = _rows("SELECT SUM(count) FROM analytics_dailycounter WHERE name='stored'")[0][0]
    assert stored == counts["events"]


@pytest.mark.django_db
def test_seeded_visitors_return_and_are_counted_once_a_day() -> None:
    """Some visitors come back the same UTC day (so visitors < visits in breakdowns), and
    every rollup's visitors_day is the exact number of distinct visitors of that key and day,
    as the worker counts it; visitors per hour equal visits (one visit per visitor-hour)."""
    counts = traffic_seed(site_id=1, events=6000, days=DAYS, end=END, raw=True, seed=8)
    sessions = _rows(
        "SELECT visitor_id, substr(started_at, 1, 10), substr(started_at, 1, 13), source, "
        "country, device, entry_path FROM analytics_session"
    )
    visitor_days = {(s[0], s[1]) for s in sessions}
    assert counts["visitors"] == len(visitor_days) < 0.85 * counts["visits"]
    # Never two visits of one visitor in one hour.
    assert len({(s[0], s[2]) for s in sessions}) == len(sessions)
    for col, dim in ((3, "source"), (4, "country"), (5, "device"), (6, "entry")):
        want: dict[tuple[str, str], set[int]] = defaultdict(set)
        for s in sessions:
            want[(s[1], s[col])].add(s[0])
        got = _rows(
            f"SELECT substr(hour, 1, 10), value, SUM(visitors_day), SUM(sessions) "
            f"FROM analytics_rollup WHERE dim='{dim}' GROUP BY 1, 2"
        )
        assert {(d, v): n for d, v, n, _ in got} == {k: len(v) for k, v in want.items()}, dim
        if dim in ("country", "device"):  # the same person keeps these: fewer visitors
            assert sum(n for *_, n, _ in got) < sum(m for *_, m in got), dim
    pages: dict[tuple[str, str], set[int]] = defaultdict(set)
    for vid, ts, path in _rows(
        "SELECT visitor_id, substr(ts, 1, 10), path FROM analytics_event WHERE kind='pageview'"
    ):
        pages[(ts, path)].add(vid)
    got_pages = _rows(
        "SELECT substr(hour, 1, 10), value, SUM(visitors_day) FROM analytics_rollup "
        "WHERE dim='page' GROUP BY 1, 2"
    )
    assert {(d, v): n for d, v, n in got_pages} == {k: len(v) for k, v in pages.items()}
    graph = _rows(
        "SELECT SUM(visitors), SUM(visitors_day), SUM(started) FROM analytics_sessionshourly"
    )[0]
    assert graph == (counts["visits"], len(visitor_days), counts["visits"])
