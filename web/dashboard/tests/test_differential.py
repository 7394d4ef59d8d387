"""Differential test of the query engine: every dashboard panel against a brute force.

Seeded random traffic (a few hundred visitors over 20 days) goes through the real worker
path (``events_process_batch``), is sealed into several merged history segments, and the raw
rows of the older days are then pruned as retention would. Random queries (1-3 filters from
values that occur, sometimes one that does not; whole-hour ranges that cut sessions, straddle
midnight and cover pruned days) are answered by ``web.dashboard.selectors`` and by
``bruteforce.Oracle`` (the spec in plain Python over a snapshot of the raw rows taken before
pruning). Any difference fails the test with the query and both answers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from web.analytics import goals as gm
from web.analytics import pipeline
from web.analytics.history import services as hs
from web.analytics.services import analytics_retention, events_process_batch, goal_create
from web.dashboard import selectors as sel
from web.dashboard.tests.bruteforce import (
    SESSION_DIMS,
    Ev,
    Oracle,
    Snapshot,
    Visit,
    load,
    site_goals,
)

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])

H = 3600
DAY_S = 86_400
DAYS = 20
# 2026-11-01 00:00 UTC: the first day of traffic (20 days, to 2026-11-21 00:00).
T0 = 1_793_491_200.0
END = T0 + DAYS * DAY_S
RETENTION_DAYS = 8  # raw rows before END - 8 days are pruned after sealing
SITE = 1
HOST = "https://hearth.test"

UAS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1",
)
# IPv4 prefixes in different countries (iptocc, offline); 10.x and TEST-NET have none.
IP_PREFIXES = ("81.2.69", "8.8.8", "5.9.0", "2.16.0", "133.1.1", "62.1.1", "190.1.1", "10.1.2")
PATHS = (
    "/", "/pricing", "/pricing/", "/about/index.html", "/signup", "/blog", "/blog/post-1",
    "/blog/post-2", "/blog/a_b", "/docs/intro", "/docs/api/c", "/docs/guide/c", "/docs//x",
    "/app#/settings", "/100%",
)  # fmt: skip
REFERRERS = (
    "", "", "", "https://www.google.com/search?q=x", "https://t.co/abc",
    "https://news.ycombinator.com/item?id=1", "https://someblog.example/post",
    "https://hearth.test/blog", "https://duckduckgo.com/",
)  # fmt: skip
CAMPAIGNS = (
    ("news", "email", "nov"), ("news", "email", "dec"), ("twitter", "social", "launch"),
    ("google.com", "cpc", "brand"), ("partner", "", "x_y"),
)  # fmt: skip
EVENT_NAMES = ("signup", "play", "download", "share")
PROPS = {"plan": ("free", "pro", "team"), "variant": ("a", "b"), "src": ("nav", "footer", "n/a")}


# --- traffic ---------------------------------------------------------------------------------


def _payload(ts: float, vis: tuple[str, str, int | None], kind: str, url: str, **kw: Any) -> dict:
    ip, ua, screen = vis
    if "#" in url and "?" in url:  # the query goes before a hash route
        path, _, rest = url.partition("#")
        frag, _, query = rest.partition("?")
        url = f"{path}?{query}#{frag}"
    p = {
        "v": 1, "site": SITE, "kind": kind, "name": kw.pop("name", kind), "url": HOST + url,
        "ref": kw.pop("ref", ""), "ts": round(ts, 3), "ip": ip, "ua": ua, "src": "hearth",
    }  # fmt: skip
    if screen is not None:
        p["screen"] = screen
    p.update(kw)
    return p


def _visit(rng: random.Random, vis: tuple[str, str, int | None], t: float) -> list[dict]:
    """One person's visit: pageviews, engagement, custom events, sometimes a long gap or a
    campaign change (both start a new session in the worker)."""
    out = []
    path = rng.choice(PATHS)
    query = ""
    r = rng.random()
    if r < 0.25:
        src, med, camp = rng.choice(CAMPAIGNS)
        parts = {"utm_source": src, "utm_campaign": camp}
        if med:
            parts["utm_medium"] = med
        query = "?" + urlencode(parts)
    elif r < 0.3:
        query = "?gclid=abc"
    elif r < 0.35:
        query = "?ref=producthunt"
    ref = rng.choice(REFERRERS)
    n = rng.choice((1, 1, 1, 2, 2, 3, 4, 6, 9))
    marathon = rng.random() < 0.03  # a visit of several hours (its events span segments)
    if marathon:
        n = rng.randint(8, 14)
    for i in range(n):
        out.append(_payload(t, vis, "pageview", path + query, ref=ref if i == 0 else ""))
        if rng.random() < 0.25:
            name = rng.choice(EVENT_NAMES)
            keys = rng.sample(sorted(PROPS), rng.randint(0, 2))
            props = {k: rng.choice(PROPS[k]) for k in keys}
            same = rng.random() < 0.3  # same timestamp: (ts, seq) order decides
            extra = {"props": props} if props else {}
            at = t if same else t + rng.uniform(1, 30)
            out.append(_payload(at, vis, "custom", path, name=name, **extra))
        if rng.random() < 0.4:
            out.append(_payload(t + rng.uniform(1, 60), vis, "engagement", path,
                                engaged_ms=rng.randint(500, 90_000)))  # fmt: skip
        if rng.random() < 0.02:
            out.append(_payload(t + 2, vis, "error", path, error={"message": "boom"}))
        g = rng.random()
        if marathon or 0.06 <= g < 0.12:
            t += rng.uniform(15 * 60, 29 * 60)  # still the same session
        elif g < 0.06:
            t += rng.uniform(31 * 60, 3 * H)  # the worker starts a new session
        else:
            t += rng.uniform(5, 300)
        if rng.random() < 0.08:  # on a whole hour: a range bound falls right on it
            t = math.ceil(t / H) * H
        path = rng.choice(PATHS)
        query = ""
        if rng.random() < 0.03:
            src, med, camp = rng.choice(CAMPAIGNS)
            query = "?" + urlencode({"utm_source": src, "utm_campaign": camp + "2"})
    return out


def _straggler(rng: random.Random, n: int) -> list[tuple[float, dict]]:
    """A visit of ~7 hours with one event sent hours late, dated hours BEFORE the visit's
    start (a retried beacon): the visit's events then lie up to ~12 h apart, more than
    the largest |event - visit start|; a query must still see the visit whole."""
    vis = (f"5.9.0.{200 + n}", UAS[n % len(UAS)], None)
    day = rng.randrange(1, DAYS - 1)
    t = T0 + day * DAY_S + rng.uniform(8 * H, 12 * H)
    out = []
    for i in range(rng.randint(14, 18)):
        path = "/docs/api/c" if i % 5 == 4 else rng.choice(PATHS)
        out.append((t, _payload(t, vis, "pageview", path)))
        t += rng.uniform(20 * 60, 28 * 60)
    start = out[0][0]
    late = _payload(start - rng.uniform(3 * H, 6 * H), vis, "custom", "/beacon",
                    name="retry", props={"plan": "legacy"})  # fmt: skip
    out.append((start + 2.5 * H, late))  # in a later batch than the visit's first pageview
    return out


def make_traffic(seed: int = 7, visitors: int = 320) -> list[tuple[float, dict]]:
    """(delivery time, payload) in delivery order."""
    rng = random.Random(seed)
    people = []
    for i in range(visitors):
        ip = f"{IP_PREFIXES[i % len(IP_PREFIXES)]}.{1 + i // len(IP_PREFIXES)}"
        screen = rng.choice((None, None, None, 500, 900, 1400))
        people.append((ip, rng.choice(UAS), screen))
    payloads = []
    for vis in people:
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6))):
            if rng.random() < 0.12:  # cross midnight
                day = rng.randrange(DAYS - 1)
                t = T0 + (day + 1) * DAY_S - rng.uniform(60, 40 * 60)
            else:
                t = T0 + rng.uniform(0, DAYS * DAY_S - 4 * H)
            if rng.random() < 0.08:  # starts on a whole hour (or midnight)
                t = math.floor(t / H) * H
            payloads += _visit(rng, vis, t)
    # a few events arrive up to 2 hours late (sessionized late, stored with a later seq)
    timed = [(p["ts"] + (rng.uniform(60, 2 * H) if rng.random() < 0.03 else 0), p)
             for p in payloads]  # fmt: skip
    for n in range(6):
        timed += _straggler(rng, n)
    timed = [(at, p) for at, p in timed if at < END - 60]
    timed.sort(key=lambda x: x[0])
    for i, (_, p) in enumerate(timed):
        p["id"] = f"d{seed}-{i}"
    return timed


def deliver(timed: list[tuple[float, dict]], *, seal_every_h: int = 61) -> None:
    """Feed the worker in 2-hour batches by delivery time (now = the batch's end); seal and
    merge every ``seal_every_h`` hours, in small segments."""
    i = 0
    window = T0 + 2 * H
    hours = 0
    while i < len(timed):
        batch = []
        while i < len(timed) and timed[i][0] < window:
            batch.append(timed[i][1])
            i += 1
        if batch:
            events_process_batch(payloads=batch, now=window + 5)
        window += 2 * H
        hours += 2
        if hours % seal_every_h < 2:
            seal()


def seal() -> None:
    while hs.history_seal(batch=101)["events"]:
        hs.history_compact()


# --- the scenario ----------------------------------------------------------------------------


@pytest.fixture
def history(settings, history_dir, monkeypatch):
    settings.ANALYTICS_LIVE = False
    monkeypatch.setattr(hs, "FANOUT", 4)
    pipeline.reset_caches()
    yield
    pipeline.reset_caches()


@dataclass
class World:
    snap: Snapshot
    oracle: Oracle
    payloads: list[dict]


def build_world() -> World:
    # Goals before the traffic (the worker counts them) and after it (retroactive).
    goal_create(site_id=SITE, name="Signup", kind="event", match="signup")
    goal_create(site_id=SITE, name="Pricing", kind="page", match="/pricing/")
    timed = make_traffic()
    deliver(timed)
    seal()
    goal_create(site_id=SITE, name="Blog", kind="page", match="/blog/*")
    goal_create(site_id=SITE, name="Docs C", kind="page", match="/docs/*/c")
    goal_create(site_id=SITE, name="Underscore", kind="page", match="/blog/a_*")
    snap = load(SITE)
    analytics_retention(days=RETENTION_DAYS, now=END)
    return World(snap, Oracle(snap), [p for _, p in timed])


# --- random queries ----------------------------------------------------------------------------

PROP_KEYS = (*sorted(PROPS), "nokey")  # "plan" also has "legacy" (the stragglers)
# patterns and unnormalised spellings (a filter value is normalised like a stored path)
PAGE_PATTERNS = (
    "/blog/*", "/docs/*/c", "/pricing/", "*", "/blog/a_*", "/100%", "/nope", "docs//x",
    "/about/index.html", "*/c", "/blog*",
)  # fmt: skip
GOAL_NAMES = ("Signup", "Pricing", "Blog", "Docs C", "Underscore", "No such goal")
MISSING = "zz-missing"


def _values(snap: Snapshot) -> dict[str, list[str]]:
    """Filter values that occur in the traffic, per filter dim."""
    vals: dict[str, set[str]] = {d: set() for d in (*SESSION_DIMS, "entry", "exit")}
    for v in snap.visits.values():
        for d in SESSION_DIMS:
            vals[d].add(v.attrs[d])
        vals["entry"].add(v.entry)
        vals["exit"].add(v.exit)
    out = {d: sorted(x for x in vs if x) for d, vs in vals.items()}
    pvs = {e.path for e in snap.events if e.kind == "pageview"}
    out["page"] = sorted(pvs) + list(PAGE_PATTERNS)
    out["event"] = sorted({e.name for e in snap.events if e.kind == "custom"})
    out["goal"] = list(GOAL_NAMES)
    for k in PROP_KEYS:
        out["prop:" + k] = sorted(
            {e.props[k] for e in snap.events if e.kind == "custom" and k in e.props}
        ) or [MISSING]
    return out


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def random_range(rng: random.Random) -> tuple[datetime, datetime]:
    """Whole UTC hours: up to 2 days anywhere (hourly buckets, cutting sessions, across
    midnight), or whole UTC days (daily buckets; parse_query makes no other multi-day range,
    and the chart's days start at q.start)."""
    if rng.random() < 0.45:
        start = T0 - 2 * H + rng.randrange(DAYS * 24 + 4) * H
        return _dt(start), _dt(start + rng.choice((1, 2, 3, 5, 9, 24, 30, 47, 48)) * H)
    first = rng.randrange(-1, DAYS)
    days = rng.choice((3, 4, 7, 10, DAYS - first + 1, DAYS + 2))
    return _dt(T0 + first * DAY_S), _dt(T0 + (first + days) * DAY_S)


def random_filters(rng: random.Random, values: dict[str, list[str]]) -> dict[str, str]:
    dims = sorted(values)
    out = {}
    for dim in rng.sample(dims, rng.choice((1, 1, 2, 2, 3))):
        out[dim] = MISSING if rng.random() < 0.08 else rng.choice(values[dim])
    return out


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)


def own_filters(rng: random.Random, v: Visit, evs: list[Ev] | None = None) -> dict[str, str]:
    """1-3 filters that visit ``v`` satisfies; event filters from ``evs`` (default: all)."""
    evs = v.evs if evs is None else evs
    own: dict[str, list[str]] = {d: [v.attrs[d]] for d in SESSION_DIMS if v.attrs[d]}
    if evs is v.evs:
        own["entry"] = [v.entry]
        if v.exit:
            own["exit"] = [v.exit]
    pages = sorted({x.path for x in evs if x.kind == "pageview"})
    if pages:
        own["page"] = pages
    customs = [x for x in evs if x.kind == "custom"]
    if customs:
        own["event"] = sorted({x.name for x in customs})
        for x in customs:
            for k, val in sorted(x.props.items()):
                own.setdefault("prop:" + k, []).append(val)
    goals = site_goals(SITE)
    hit = [n for n, (k, pat) in sorted(goals.items())
           if any(gm.matches(k, pat, x.kind, x.name, x.path) for x in evs)]  # fmt: skip
    if hit:
        own["goal"] = hit
    event_dims = sorted(d for d in own if d in ("page", "event", "goal") or d.startswith("prop:"))
    if evs is not v.evs and event_dims:  # at least one filter on the events asked for
        first = rng.choice(event_dims)
        rest = rng.sample(sorted(set(own) - {first}), rng.choice((0, 0, 1)))
        dims = [first, *rest]
    else:
        dims = rng.sample(sorted(own), min(len(own), rng.choice((1, 2, 3))))
    return {d: rng.choice(own[d]) for d in dims}


def _visits(snap: Snapshot) -> list[Visit]:
    return sorted(snap.visits.values(), key=lambda v: v.evs[0].seq)  # ids vary with salts


def targeted(rng: random.Random, snap: Snapshot) -> tuple[datetime, datetime, dict[str, str]]:
    """A range starting at or just before one of a visit's events (often mid-visit: event
    panels then need the visit's earlier events) and 1-3 filters that visit satisfies."""
    v = rng.choice(_visits(snap))
    start = _hour(rng.choice(v.evs).ts) - timedelta(hours=rng.choice((0, 0, 1)))
    return start, start + timedelta(hours=rng.choice((1, 2, 3, 6, 30))), own_filters(rng, v)


def spread_queries(rng: random.Random, snap: Snapshot, n: int = 6) -> list[tuple]:
    """For the visits whose events lie furthest apart: the hour of their last event, with a
    filter on their earliest events (a late-sent event can be dated before the visit's
    start: these are the farthest any query has to look back)."""
    spread = sorted(
        _visits(snap), key=lambda v: max(e.ts for e in v.evs) - min(e.ts for e in v.evs)
    )
    out = []
    for v in spread[-n:]:
        by_ts = sorted(v.evs, key=lambda e: (e.ts, e.seq))
        start = _hour(by_ts[-1].ts) - timedelta(hours=rng.choice((0, 1)))
        out.append((start, start + timedelta(hours=2), own_filters(rng, v, by_ts[:2])))
    return out


def boundary_queries(rng: random.Random, snap: Snapshot) -> list[tuple]:
    """Ranges starting or ending by the first or last event of each history segment, with
    filters of a visit active there."""
    from web.analytics.models import Segment

    out = []
    visits = _visits(snap)
    for seg in Segment.objects.order_by("min_seq"):
        for t in (seg.min_ts, seg.max_ts):
            t = t.astimezone(UTC).replace(tzinfo=None)
            v = min(visits, key=lambda v: min(abs((e.ts - t).total_seconds()) for e in v.evs))
            hour = _hour(t)
            if rng.random() < 0.5:
                start, end = (
                    hour - timedelta(hours=rng.choice((0, 1, 2))),
                    hour + timedelta(hours=1),
                )
            else:
                start, end = hour, hour + timedelta(hours=rng.choice((1, 2, 5)))
            out.append((start, end, own_filters(rng, v)))
    return out


def random_steps(rng: random.Random) -> list[str]:
    pool = [
        "/", "/pricing", "/pricing/", "/signup", "/blog/*", "/docs/*/c", "/blog/a_b", "*",
        *(f"event:{n}" for n in EVENT_NAMES),
    ]  # fmt: skip
    return [rng.choice(pool) for _ in range(rng.choice((2, 2, 3)))]


# --- comparison ----------------------------------------------------------------------------------


class Diff:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.compared = 0

    def check(self, what: str, q: sel.Query, expected: Any, got: Any) -> None:
        self.compared += 1
        if expected != got:
            self.found.append(
                f"{what} [{q.start:%Y-%m-%d %H}h .. {q.end:%Y-%m-%d %H}h) "
                f"filters={dict(q.filters)}\n    {_explain(expected, got)}"
            )


def _explain(expected: Any, got: Any) -> str:
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            ev = [r.get("value", r) if isinstance(r, dict) else r for r in expected]
            gv = [r.get("value", r) if isinstance(r, dict) else r for r in got]
            return f"{len(expected)} rows expected, {len(got)} got: expected {ev} got {gv}"
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            if a != b:
                return f"row {i}: expected {a} got {b}"
    return f"expected {expected} got {got}"


def _only(rows: list[dict[str, Any]], like: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The engine's rows reduced to the keys the spec defines for the panel."""
    keys = set(like[0]) if like else {"value"}
    return [{k: r.get(k) for k in keys} for r in rows]


def compare_query(d: Diff, o: Oracle, q: sel.Query, rng: random.Random) -> None:
    filtered = bool(q.filters)
    if filtered:
        d.check("top_stats", q, o.top_stats(q), sel.top_stats(q))
        d.check("timeseries", q, o.timeseries(q), sel.timeseries(q))
        for dim in ("page", "entry", "exit", *SESSION_DIMS, "event"):
            exp = o.breakdown(q, dim, limit=1000)
            d.check(f"breakdown {dim}", q, exp, _only(sel.breakdown(q, dim, limit=1000), exp))
    for dim in (f"props:{k}" for k in PROP_KEYS):
        exp = o.breakdown(q, dim, limit=1000)
        d.check(f"breakdown {dim}", q, exp, _only(sel.breakdown(q, dim, limit=1000), exp))
    # conversion_rate divides by top_stats(q).visitors: the rollups' figure when unfiltered
    # and starting at UTC midnight (not modelled here; its own tests check it), else the
    # history's (rollup visitor-days of a range starting mid-day undercount: rates over 1)
    exact_rollup = not filtered and (q.start.hour, q.start.minute) == (0, 0)
    total = sel.top_stats(q)["visitors"] if exact_rollup else o.top_stats(q)["visitors"]
    exp = o.goals(q, total)
    d.check("breakdown goal", q, exp, _only(sel.breakdown(q, "goal", limit=1000), exp))
    for name in (*sorted({e.name for e in o.snap.events if e.kind == "custom"}), MISSING):
        d.check(f"event_props {name}", q, o.event_props(q, name, 1000),
                sel.event_props(q, name, limit=1000))  # fmt: skip
    steps = random_steps(rng)
    d.check(f"funnel {steps}", q, o.funnel(q, steps), sel.funnel(q, steps))
    # paging and search through one list
    dim = rng.choice(("goal", "props:plan", *(("page", "event", "entry", "source") * filtered)))
    limit, offset = rng.randint(1, 4), rng.randint(0, 6)
    search = rng.choice(("", "", "o", "O", "/b", "%", "_", "E"))
    exp = o.breakdown(q, dim, limit=limit, offset=offset, search=search)
    if dim == "goal":
        exp = [r for r in o.goals(q, total) if search.lower() in r["value"].lower()]
        exp = exp[offset : offset + limit]
    got = sel.breakdown(q, dim, limit=limit, offset=offset, search=search)
    d.check(f"breakdown {dim} limit={limit} offset={offset} search={search!r}", q, exp,
            _only(got, exp))  # fmt: skip


RANDOM_QUERIES = 75


def test_every_panel_matches_the_brute_force(history):
    w = build_world()
    from web.analytics.models import Event, Segment

    # The scenario is what it claims: several merged segments, raw rows pruned.
    assert Event.objects.count() < len(w.snap.events) // 2
    levels = list(Segment.objects.values_list("level", flat=True))
    assert len(levels) >= 3 and max(levels) >= 1, levels
    values = _values(w.snap)
    rng = random.Random(11)
    queries = spread_queries(rng, w.snap) + boundary_queries(rng, w.snap)
    for i in range(RANDOM_QUERIES):
        if i % 3 == 1:
            queries.append(targeted(rng, w.snap))
        else:
            start, end = random_range(rng)
            queries.append((start, end, random_filters(rng, values) if i % 6 else {}))
    d = Diff()
    nonempty = 0
    for start, end, filters in queries:
        q = sel.Query(site_id=SITE, start=start, end=end, range="custom", filters=filters)
        nonempty += bool(filters) and w.oracle.top_stats(q)["visits"] > 0
        compare_query(d, w.oracle, q, rng)
    print(f"{d.compared} panels compared over {len(queries)} queries; {nonempty} with visits")
    assert nonempty >= len(queries) // 3, "too few filtered queries found anything"
    assert not d.found, f"{len(d.found)} of {d.compared} panels differ:\n" + "\n".join(d.found[:40])


def test_stats_api_answers_like_the_brute_force(history, client):
    """The same figures through /api/v1 (parse_query from URL parameters, a bearer token),
    for whole days whose raw rows were pruned."""
    from web.dashboard.services import token_create

    w = build_world()
    token = token_create(name="differential", site_ids=[SITE])[1]
    first, last = _dt(T0 + 2 * DAY_S).date(), _dt(T0 + 6 * DAY_S).date()
    cases = [
        {"prop:plan": "pro", "device": "mobile"},
        {"page": "/blog/*", "goal": "Pricing"},
        {"exit": "/pricing", "event": "signup"},
    ]
    for filters in cases:
        params = {"site_id": SITE, "range": "custom", "from": str(first), "to": str(last)}
        params.update(filters)
        q = sel.Query(
            site_id=SITE,
            start=datetime(first.year, first.month, first.day, tzinfo=UTC),
            end=datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1),
            range="custom",
            filters=filters,
        )
        assert w.oracle.top_stats(q)["visits"] > 0, filters
        got = _api(client, token, "aggregate", params)
        assert got["filters"] == filters
        assert got["results"] == w.oracle.top_stats(q), filters
        assert _api(client, token, "timeseries", params)["results"] == w.oracle.timeseries(q)
        for prop in ("page", "source", "exit", "props:variant", "goal"):
            exp = w.oracle.breakdown(q, prop, limit=1000)
            if prop == "goal":
                exp = w.oracle.goals(q, w.oracle.top_stats(q)["visitors"])
            rows = _api(client, token, "breakdown", {**params, "property": prop, "limit": 1000})
            assert _only(rows["results"], exp) == exp, (filters, prop)


def _api(client: Any, token: str, op: str, params: dict[str, Any]) -> dict[str, Any]:
    resp = client.get(f"/api/v1/{op}", params, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.content
    return resp.json()
