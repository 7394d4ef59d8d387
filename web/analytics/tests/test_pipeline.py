"""The worker pipeline against a real (test) data.db: salts, sessions, rollups, redelivery."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from web.analytics.models import (
    DailyCounter,
    DroppedEvent,
    Event,
    Rollup,
    Salt,
    Session,
    SessionsHourly,
)
from web.analytics.services import events_process_batch, goal_create
from web.core.testing.events import DAY0, UA_IPHONE, ev

pytestmark = pytest.mark.django_db

H = 3600
T = DAY0 + 10 * H  # 2026-11-20 10:00 UTC


def run(payloads: list[dict], now: float | None = None, **kw: object):
    now = now if now is not None else max(p["ts"] for p in payloads) + 1
    return events_process_batch(payloads=payloads, now=now, **kw)


def hour(h: int, day: int = 20) -> datetime:
    return datetime(2026, 11, day, h, tzinfo=UTC)


def roll(dim: str, value: str, h: int = 10, day: int = 20) -> Rollup:
    return Rollup.objects.get(site_id=1, dim=dim, value=value, hour=hour(h, day))


# --- salts and the visitor id --------------------------------------------------------------


def test_salt_rotation_across_midnight_keeps_the_session_and_deletes_old_salts():
    midnight = DAY0 + 86400  # 2026-11-21 00:00
    run([ev(midnight - 600, url="https://hearth.test/late")], now=midnight - 590)
    run([ev(midnight + 600, url="https://hearth.test/early")], now=midnight + 610)

    # One visit across midnight, under two different visitor ids (one per day's salt).
    sessions = list(Session.objects.all())
    assert len(sessions) == 1
    assert (sessions[0].pageviews, sessions[0].entry_path, sessions[0].exit_path) == (
        2,
        "/late",
        "/early",
    )
    vids = list(Event.objects.order_by("ts").values_list("visitor_id", flat=True))
    assert len(set(vids)) == 2
    assert sessions[0].visitor_id == vids[1]  # the session moved to today's id
    assert set(Salt.objects.values_list("day", flat=True)) == {
        date(2026, 11, 20),
        date(2026, 11, 21),
    }
    # Each UTC day counts the person once: visitor-days, not people (see analytics.md).
    assert SessionsHourly.objects.get(hour=hour(23, 20)).visitors_day == 1
    assert SessionsHourly.objects.get(hour=hour(0, 21)).visitors_day == 1

    # Two days later: a new salt; salts older than 48 h are gone, and so is linkability.
    later = midnight + 2 * 86400 + 60
    run([ev(later, url="https://hearth.test/again")], now=later + 1)
    # The 22nd's salt is made too (for late events), the 20th's and 21st's are gone.
    assert set(Salt.objects.values_list("day", flat=True)) == {
        date(2026, 11, 22),
        date(2026, 11, 23),
    }
    assert Session.objects.count() == 2
    assert Event.objects.order_by("-ts").first().visitor_id not in vids


def test_event_older_than_yesterdays_salt_is_dropped_as_stale():
    res = run([ev(T - 3 * 86400)], now=T)
    assert res.dropped == {"visitor:stale": 1}
    assert Event.objects.count() == 0
    assert DroppedEvent.objects.get().reason == "stale"
    day = date.fromtimestamp(T - 3 * 86400)
    assert DailyCounter.objects.get(day=day, name="dropped:visitor:stale").count == 1


def test_ip_is_never_stored():
    run([ev(T, ip="203.0.113.77")])
    row = Event.objects.values().get()
    assert all("203.0.113.77" not in str(v) for v in row.values())


# --- sessionization ------------------------------------------------------------------------

CASES = [
    # (description, list of (seconds offset, kind, path, extra), expected session count)
    ("29 min gap continues", [(0, "pageview", "/a", {}), (29 * 60, "pageview", "/b", {})], 1),
    ("31 min gap splits", [(0, "pageview", "/a", {}), (31 * 60, "pageview", "/b", {})], 2),
    (
        "gap measured from last activity, not start",
        [(0, "pageview", "/a", {}), (25 * 60, "custom", "/a", {}), (50 * 60, "pageview", "/b", {})],
        1,
    ),
    (
        "campaign change splits",
        [(0, "pageview", "/a?utm_campaign=x", {}), (60, "pageview", "/a?utm_campaign=y", {})],
        2,
    ),
    (
        "same campaign again does not split",
        [(0, "pageview", "/a?utm_campaign=x", {}), (60, "pageview", "/a?utm_campaign=x", {})],
        1,
    ),
    (
        "navigation without UTM stays in the campaign's session",
        [(0, "pageview", "/a?utm_campaign=x", {}), (60, "pageview", "/b", {})],
        1,
    ),
    (
        "click id starts a new campaign",
        [(0, "pageview", "/a", {}), (60, "pageview", "/a?gclid=1", {})],
        2,
    ),
    ("error alone starts no session", [(0, "error", "/a", {"error": {"message": "x"}})], 0),
    ("custom event starts a session", [(0, "custom", "/a", {})], 1),
]


@pytest.mark.parametrize(("what", "events", "expected"), CASES, ids=[c[0] for c in CASES])
def test_sessionization(what, events, expected):
    run([ev(T + off, kind=k, url="https://hearth.test" + path, **x) for off, k, path, x in events])
    assert Session.objects.count() == expected, what
    assert SessionsHourly.objects.get().started == expected


def test_out_of_order_batch_is_sessionized_in_time_order():
    run([ev(T + 120, url="https://hearth.test/c"), ev(T, url="https://hearth.test/a"),
         ev(T + 60, url="https://hearth.test/b")])  # fmt: skip
    s = Session.objects.get()
    assert (s.entry_path, s.exit_path, s.pageviews) == ("/a", "/c", 3)


def test_engagement_without_session_is_dropped_and_with_one_sets_duration():
    res = run([ev(T, kind="engagement", engaged_ms=4000)])
    assert res.dropped == {"session:no_session": 1}
    run([ev(T + 100), ev(T + 130, kind="engagement", engaged_ms=7000),
         ev(T + 140, kind="engagement", engaged_ms=3000)])  # fmt: skip
    s = Session.objects.get()
    assert s.duration_ms == 10_000
    assert roll("page", "/").duration_ms == 10_000
    assert roll("entry", "/").duration_ms == 10_000
    assert SessionsHourly.objects.get().duration_ms == 10_000


def test_bounce_is_cleared_by_a_second_pageview_or_a_custom_event_across_batches():
    ua2 = UA_IPHONE
    run([ev(T), ev(T, ip="198.51.100.1", ua=ua2), ev(T, ip="198.51.100.2")])
    assert SessionsHourly.objects.get().bounces == 3
    run([ev(T + 60, url="https://hearth.test/next")])  # visitor 1: second pageview
    run([ev(T + 70, kind="custom", name="play", ip="198.51.100.1", ua=ua2)])  # visitor 2
    assert SessionsHourly.objects.get().bounces == 1
    assert roll("entry", "/").bounces == 1
    assert roll("entry", "/").sessions == 3
    assert (
        list(
            Session.objects.order_by("started_at", "id").values_list("is_bounce", flat=True)
        ).count(True)
        == 1
    )


def test_exit_page_moves_between_rows():
    run([ev(T, url="https://hearth.test/a")])
    run([ev(T + 60, url="https://hearth.test/b")])
    run([ev(T + 120, url="https://hearth.test/c")])
    exits = dict(Rollup.objects.filter(dim="exit").values_list("value", "sessions"))
    assert exits == {"/a": 0, "/b": 0, "/c": 1}


def test_late_session_counters_stay_in_the_start_hour():
    run([ev(T + 59 * 60, url="https://hearth.test/a")])
    run([ev(T + 62 * 60, url="https://hearth.test/b")])  # next hour, same session
    assert roll("entry", "/a", 10).bounces == 0
    assert roll("exit", "/b", 10).sessions == 1
    assert roll("page", "/b", 11).pageviews == 1
    g10, g11 = SessionsHourly.objects.order_by("hour")
    assert (g10.started, g10.active, g10.bounces) == (1, 1, 0)
    assert (g11.started, g11.active, g11.pageviews, g11.visitors) == (0, 1, 1, 1)


# --- rollup arithmetic -----------------------------------------------------------------

TRAFFIC = [
    # visitor A: google search, 2 pages in hour 10, 1 page in hour 11 (same session)
    ev(T + 10, url="https://hearth.test/", ref="https://www.google.com/search?q=x"),
    ev(T + 20, url="https://hearth.test/post"),
    ev(T + H + 5, url="https://hearth.test/post"),
    # visitor B: newsletter campaign, 1 page + signup event
    ev(T + 30, url="https://hearth.test/post?utm_source=news&utm_medium=email&utm_campaign=nov",
       ip="198.51.100.9", ua=UA_IPHONE),
    ev(T + 40, kind="custom", name="signup", url="https://hearth.test/post", ip="198.51.100.9",
       ua=UA_IPHONE),
    # visitor C: direct, bounce
    ev(T + 50, url="https://hearth.test/", ip="2001:db8::1"),
]  # fmt: skip


def _snapshot() -> dict:
    rows = Rollup.objects.values_list(
        "hour", "dim", "value", "pageviews", "events", "visitors", "visitors_day", "sessions",
        "bounces", "duration_ms",
    )  # fmt: skip
    graph = SessionsHourly.objects.values_list(
        "hour", "started", "active", "pageviews", "events", "visitors", "visitors_day", "bounces"
    )
    return {"rollup": sorted(rows), "graph": sorted(graph)}


def test_rollup_arithmetic():
    goal_create(site_id=1, name="Signed up", kind="event", match="signup")
    goal_create(site_id=1, name="Read a post", kind="page", match="/po*")
    run(TRAFFIC)
    page_post = roll("page", "/post")
    assert (page_post.pageviews, page_post.visitors, page_post.visitors_day) == (2, 2, 2)
    page_post_11 = roll("page", "/post", 11)
    # Visitor A again in hour 11: a new hourly visitor, but not a new daily one.
    assert (page_post_11.pageviews, page_post_11.visitors, page_post_11.visitors_day) == (1, 1, 0)
    assert roll("page", "/").pageviews == 2
    assert (roll("source", "Google").sessions, roll("source", "Google").pageviews) == (1, 2)
    assert roll("medium", "search").visitors == 1
    assert (roll("source", "news").events, roll("medium", "email").sessions) == (1, 1)
    assert roll("utm_campaign", "nov").pageviews == 1
    assert (roll("source", "Direct").sessions, roll("source", "Direct").bounces) == (1, 1)
    assert roll("device", "mobile").visitors == 1
    assert roll("device", "desktop").visitors == 2
    assert roll("country", "GB").visitors == 1
    assert roll("browser", "Mobile Safari").sessions == 1
    assert roll("os", "iOS").pageviews == 1
    assert (roll("event", "signup").events, roll("event", "signup").visitors) == (1, 1)
    assert (roll("goal", "Signed up").events, roll("goal", "Signed up").visitors) == (1, 1)
    assert roll("goal", "Read a post").events == 2  # /post by A and B in hour 10
    assert roll("entry", "/").sessions == 2
    assert roll("entry", "/post").sessions == 1
    g10 = SessionsHourly.objects.get(hour=hour(10))
    assert (g10.started, g10.pageviews, g10.events, g10.visitors, g10.bounces) == (3, 4, 1, 3, 1)
    assert DailyCounter.objects.get(name="stored").count == len(TRAFFIC)


def test_rollups_do_not_depend_on_how_events_are_batched():
    run(TRAFFIC, now=T + 2 * H)
    whole = _snapshot()
    Rollup.objects.all().delete()
    SessionsHourly.objects.all().delete()
    Session.objects.all().delete()
    Event.objects.all().delete()
    from web.analytics import pipeline
    from web.analytics.models import StateJournal

    StateJournal.objects.all().delete()
    pipeline.reset_caches()
    for p in sorted(TRAFFIC, key=lambda p: p["ts"]):
        run([{**p, "id": p["id"] + "-single"}], now=T + 2 * H)
    assert _snapshot() == whole


# --- idempotency -----------------------------------------------------------------------


def test_redelivered_batch_does_not_double_count():
    payloads = [{k: v for k, v in p.items() if k != "id"} for p in TRAFFIC]
    payloads.append(
        ev(T, ua="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    )
    job_ids = [f"job-{i}" for i in range(len(payloads))]
    first = run(payloads, job_ids=job_ids, now=T + 2 * H)
    assert (first.stored, first.dropped) == (len(TRAFFIC), {"ua:bot": 1})
    before = _snapshot()
    counters = sorted(DailyCounter.objects.values_list("name", "count"))
    sessions = sorted(Session.objects.values_list("id", "pageviews", "events", "is_bounce"))

    again = run(payloads, job_ids=job_ids, now=T + 2 * H)
    assert (again.stored, again.duplicates, again.dropped) == (0, len(payloads), {})
    assert _snapshot() == before
    assert sorted(DailyCounter.objects.values_list("name", "count")) == counters
    assert sorted(Session.objects.values_list("id", "pageviews", "events", "is_bounce")) == sessions
    assert Event.objects.count() == len(TRAFFIC)

    # A partly redelivered batch (some old, some new jobs) stores only the new ones.
    extra = ev(T + 2 * H - 10, url="https://hearth.test/new")
    mixed = run([payloads[0], extra], job_ids=[job_ids[0], "job-new"], now=T + 2 * H)
    assert (mixed.stored, mixed.duplicates) == (1, 1)


def test_same_job_twice_in_one_batch_is_stored_once():
    p = ev(T)
    res = run([p, dict(p)], job_ids=["j1", "j1"])
    assert (res.stored, res.duplicates) == (1, 1)
    assert SessionsHourly.objects.get().pageviews == 1


def test_invalid_and_unknown_site_payloads_are_dropped_not_stored():
    res = run([ev(T, site=999), {"site": "1"}, ev(T, kind="nope")], now=T + 1)
    assert res.dropped == {"validate:unknown_site": 1, "validate:invalid": 2}
    assert Event.objects.count() == 0
    assert res.stored == 0


def test_state_cache_notices_another_worker_wrote_the_visitor():
    """Two worker processes share data.db: each one's cached state must yield to the DB."""
    from web.analytics import caches

    run([ev(T, url="https://hearth.test/a")])
    mine = caches.STATES
    caches.STATES = caches.StateCache()  # "another process": empty cache, same DB
    try:
        run([ev(T + 60, url="https://hearth.test/b")])
    finally:
        caches.STATES = mine  # back to this process's now stale cache
    run([ev(T + 120, url="https://hearth.test/c")])
    s = Session.objects.get()
    assert (s.pageviews, s.exit_path, s.is_bounce) == (3, "/c", False)
    exits = dict(Rollup.objects.filter(dim="exit").values_list("value", "sessions"))
    assert exits == {"/a": 0, "/b": 0, "/c": 1}
    assert roll("page", "/c").visitors == 1
    assert SessionsHourly.objects.get().visitors == 1


def test_failed_batch_writes_nothing_and_leaves_no_stale_cache(monkeypatch):
    from web.analytics import writers

    run([ev(T, url="https://hearth.test/a")])

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writers, "write_batch", broken)
    with pytest.raises(RuntimeError):
        run([ev(T + 60, url="https://hearth.test/b")], job_ids=["redo"])
    monkeypatch.undo()
    assert Event.objects.count() == 1
    res = run([ev(T + 60, url="https://hearth.test/b")], job_ids=["redo"])  # the redelivery
    assert res.stored == 1
    s = Session.objects.get()
    assert (s.pageviews, s.exit_path) == (2, "/b")
    assert SessionsHourly.objects.get().pageviews == 2


def test_a_full_session_cache_is_cut_to_half_once_not_rescanned_every_batch(monkeypatch):
    """All cached sessions can be recent (a busy hour): pruning by age alone left the cache
    over its cap, and the full scan ran again on every batch. Visitor states are not
    capped: they all stay in memory."""
    from web.analytics import caches

    monkeypatch.setattr(caches.StateCache, "MAX", 10)
    monkeypatch.setattr(caches, "STATES", caches.StateCache())
    visitors = [ev(T + i, ip=f"81.2.69.{i + 1}") for i in range(12)]  # 12 recent visitors
    run(visitors, now=T + 60)
    assert len(caches.STATES.sessions) == 5
    assert len(caches.STATES.visitors.records) == 12
    run([ev(T + 61, ip="81.2.69.200")], now=T + 62)  # under the cap again: just added
    assert len(caches.STATES.sessions) == 6
    # Sessions dropped from the cache are reloaded from data.db: the 1st visitor's next
    # pageview continues its session.
    run([ev(T + 90, ip="81.2.69.1", url="https://hearth.test/next")], now=T + 91)
    first = Session.objects.get(entry_path="/", exit_path="/next")
    assert first.pageviews == 2


# --- goals ------------------------------------------------------------------------------


def test_goal_patterns_are_normalised_like_paths_when_loaded():
    """A page goal stored as "/pricing/" (as typed, before patterns were normalised) matches
    the stored path "/pricing"; "*" matches anywhere in the pattern; an event goal matches
    the event name exactly."""
    from web.analytics.models import Goal

    # Stored directly: the rows as an older admin saved them, not through normalise_pattern.
    Goal.objects.create(site_id=1, name="Pricing", kind="page", match="/pricing/")
    Goal.objects.create(site_id=1, name="Docs", kind="page", match="docs//*/setup")
    Goal.objects.create(site_id=1, name="Signed up", kind="event", match=" signup ")
    Goal.objects.create(site_id=1, name="Never", kind="page", match="  ")
    run(
        [
            ev(T, url="https://hearth.test/pricing/"),
            ev(T + 1, url="https://hearth.test/docs/v2/setup"),
            ev(T + 2, url="https://hearth.test/docs/setup"),
            ev(T + 3, kind="custom", name="signup"),
        ]
    )
    assert roll("page", "/pricing").pageviews == 1
    assert roll("goal", "Pricing").events == 1
    assert roll("goal", "Docs").events == 1  # /docs/v2/setup, not /docs/setup
    assert roll("goal", "Signed up").events == 1
    assert not Rollup.objects.filter(dim="goal", value="Never").exists()
