"""Synthetic traffic for demos, tests and the benchmark (``manage.py dashboard_seed``).

Simulates visits hour by hour (diurnal and weekly shape, Zipf-like pages, weighted sources,
countries, devices, browsers, OS, a few UTM campaigns, custom events with props, two goals)
and writes the rollup rows those visits would produce, the way the analytics worker would:
``analytics_rollup`` (every dimension), ``analytics_sessionshourly`` and the ``stored`` /
``received`` daily counters, by ``executemany`` UPSERTs.

With ``raw=True`` it also writes the visits (``analytics_session``) and their events
(``analytics_event``) as the worker stores them: normalised paths (no trailing slash),
session ids from ``steps.session_id_for`` (start second in the high bits), datetime text
with microseconds, per visit a pageview per page, each followed by the tracker's
``engagement`` event for that page (``engaged_ms``, ``scroll``; their sum is the visit's
duration), and custom events with JSON props during the first page. Rows go in by
multi-row INSERTs (``sqlbatch.insert_rows``, the worker's writer) in transactions of about
50,000 events, each hour's events in time order: ~10M events in a few minutes.

``events`` counts every raw row the worker would store (pageview, custom and engagement);
without ``raw`` the same visits are simulated and only their rollups are written.

Returning visitors: about ``RETURN_SHARE`` of visits come from a visitor already seen that
UTC day (the worker's visitor id rotates daily, so "returning" means the same day), whose
last visit ended over 30 minutes (the session timeout) before this hour: the same country,
device, browser and OS, and either the same source and campaign as before or Direct. Unique
visitors are counted as the worker counts them: per key once per hour (``visitors``) and once
per UTC day (``visitors_day``), so breakdowns show fewer visitors than visits.

Simplifications (documented in dashboard.md): a visitor has at most one visit per hour, all
of a visit's events fall in the hour it started, and no dedupe keys or visitor state journal
rows are written (nothing will be redelivered).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from django.db import connections, transaction

from web.analytics import writers
from web.analytics.records import SESSION_TIMEOUT
from web.analytics.sqlbatch import insert_rows
from web.analytics.steps import session_id_for
from web.analytics.timefmt import ms_str

PAGES = (
    ["/", "/blog", "/about", "/pricing", "/signup", "/docs", "/contact"]
    + [f"/blog/post-{i}" for i in range(1, 241)]
    + [f"/docs/{s}" for s in ("install", "config", "api", "faq", "deploy", "backup", "sse")]
)
PAGE_W = [30, 12, 6, 8, 5, 7, 2] + [40 / (i**0.9) for i in range(1, 241)] + [3, 2, 2, 1, 1, 1, 1]
ENTRY_W = [w * (3 if p in ("/", "/pricing") else 1) for p, w in zip(PAGES, PAGE_W, strict=True)]
# (source, medium, referrer host, weight), as steps.classify names them: the referrer host
# without "www.", "(none)" for direct traffic.
SOURCES = [
    ("Direct", "(none)", "", 30), ("Google", "search", "google.com", 28),
    ("Bing", "search", "bing.com", 4), ("DuckDuckGo", "search", "duckduckgo.com", 4),
    ("Hacker News", "social", "news.ycombinator.com", 6), ("Reddit", "social", "reddit.com", 5),
    ("Twitter", "social", "t.co", 4), ("Mastodon", "social", "mastodon.social", 3),
    ("GitHub", "referral", "github.com", 5), ("Lobsters", "social", "lobste.rs", 2),
    ("Newsletter", "email", "", 3), ("LinkedIn", "social", "linkedin.com", 2),
    ("dev.to", "referral", "dev.to", 1), ("Stack Overflow", "referral", "stackoverflow.com", 2),
    ("Ecosia", "search", "ecosia.org", 1),
]  # fmt: skip
COUNTRIES = [
    "US",
    "DE",
    "GB",
    "FR",
    "IN",
    "CA",
    "NL",
    "BR",
    "ES",
    "IT",
    "PL",
    "SE",
    "JP",
    "AU",
    "CH",
    "AT",
    "BE",
    "DK",
    "NO",
    "FI",
    "RU",
    "UA",
    "CZ",
    "PT",
    "IE",
    "MX",
    "AR",
    "CL",
    "CO",
    "ZA",
    "NG",
    "EG",
    "KE",
    "TR",
    "IL",
    "AE",
    "SA",
    "IR",
    "PK",
    "BD",
    "ID",
    "PH",
    "VN",
    "TH",
    "MY",
    "SG",
    "KR",
    "CN",
    "TW",
    "NZ",
    "GR",
    "HU",
    "RO",
    "BG",
    "RS",
    "HR",
    "SK",
    "SI",
    "LT",
    "LV",
    "EE",
]
COUNTRY_W = [30, 12, 9, 6, 8, 5, 4, 4, 3, 3, 3, 2] + [1] * (len(COUNTRIES) - 12)
DEVICES, DEVICE_W = ["desktop", "mobile", "tablet"], [58, 38, 4]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge", "Mobile Safari", "Samsung Internet", "Opera"]
BROWSER_W = [45, 15, 8, 8, 17, 4, 3]
OSES, OS_W = ["Windows", "macOS", "Linux", "Android", "iOS", "ChromeOS"], [35, 17, 8, 22, 16, 2]
CAMPAIGNS = [  # utm_source, utm_medium, utm_campaign
    ("newsletter", "email", "weekly-digest"), ("twitter", "social", "launch"),
    ("google", "cpc", "brand"), ("reddit", "social", "launch"), ("partner", "referral", "spring"),
]  # fmt: skip
EVENTS = [  # name, weight, prop key, prop values
    ("signup", 3, "plan", ("free", "pro", "team")),
    ("download", 4, "file", ("hearth.tar.gz", "guide.pdf", "slides.pdf")),
    ("outbound", 6, "url", ("github.com", "docs.djangoproject.com")),
    ("play", 2, "video", ("intro", "demo")),
]  # fmt: skip
EVENT_W = [e[1] for e in EVENTS]
# The JSON text the worker stores for each (name, props) a custom event can have here.
_PROPS = {
    name: [json.dumps({key: v}, separators=(",", ":")) for v in values]
    for name, _, key, values in EVENTS
}
# name, kind, pattern (stored normalised, as goals.normalise_pattern does: "/pricing/" is
# "/pricing")
GOALS = [("Signup", "event", "signup"), ("Pricing visit", "page", "/pricing")]
NPAGES = list(range(1, 11))
NPAGES_W = [52, 18, 10, 7, 5, 3, 2, 1, 1, 1]
_MEAN_PAGES = sum(n * w for n, w in zip(NPAGES, NPAGES_W, strict=True)) / sum(NPAGES_W)
# pageviews + one engagement event per pageview + custom events (on 20% of visits)
EVENTS_PER_VISIT = 2 * _MEAN_PAGES + 0.2
SCREEN = {"desktop": 1440, "mobile": 390, "tablet": 820}  # steps.device_for agrees
RETURN_SHARE = 0.3  # visits by a visitor already seen that UTC day (when one is eligible)
RETURN_SAME_SOURCE = 0.5  # a returning visit keeps its source and campaign, else is Direct
_GAP_MS = SESSION_TIMEOUT * 1000  # a new visit starts after the session timed out
HOSTNAME = "example.com"
LANG = "en-US"


@dataclass(slots=True)
class Visit:
    id: int  # session id
    vid: int  # visitor id
    start_ms: int
    source: tuple[str, str, str]  # source, medium, referrer host
    utm: tuple[str, str, str]
    country: str
    device: str
    browser: str
    os: str
    pages: list[str]
    custom: list[tuple[str, str]]  # (name, props JSON), during the first page
    engaged: list[int]  # engaged ms per page (its engagement event)

    @property
    def bounce(self) -> bool:
        return len(self.pages) == 1 and not self.custom

    @property
    def duration_ms(self) -> int:
        return sum(self.engaged)


def _hour_weights(start: datetime, hours: int) -> list[float]:
    out = []
    for i in range(hours):
        t = start + timedelta(hours=i)
        diurnal = 0.35 + (1 - abs(t.hour - 15) / 12) ** 2
        weekly = 0.75 if t.weekday() >= 5 else 1.0
        out.append(diurnal * weekly)
    return out


@dataclass(slots=True)
class Day:
    """One UTC day's visitors: for returning visits and the per-day unique counts."""

    day: str = ""
    vids: list[int] = field(default_factory=list)  # in order of first visit
    last: dict[int, Visit] = field(default_factory=dict)  # each visitor's latest visit
    seen: dict[int, set[tuple[str, str]]] = field(default_factory=dict)  # keys counted today

    def start(self, day: str) -> None:
        if day != self.day:
            self.day, self.vids, self.last, self.seen = day, [], {}, {}

    def returner(self, rnd: random.Random, before_ms: int) -> Visit | None:
        """A visitor of today whose last visit ended at least the session timeout before
        ``before_ms`` (a few random draws; None when none fits)."""
        for _ in range(4 if self.vids else 0):
            last = self.last[self.vids[int(rnd.random() * len(self.vids))]]
            if last.start_ms + last.duration_ms + 1000 * len(last.pages) < before_ms - _GAP_MS:
                return last
        return None

    def record(self, visits: list[Visit]) -> None:
        for v in visits:
            if v.vid not in self.last:
                self.vids.append(v.vid)
            self.last[v.vid] = v


def _visits_for_hour(
    rnd: random.Random, hour: datetime, n: int, day: Day | None = None
) -> list[Visit]:
    k = n
    sources = rnd.choices(SOURCES, [s[3] for s in SOURCES], k=k)
    countries = rnd.choices(COUNTRIES, COUNTRY_W, k=k)
    devices = rnd.choices(DEVICES, DEVICE_W, k=k)
    browsers = rnd.choices(BROWSERS, BROWSER_W, k=k)
    oses = rnd.choices(OSES, OS_W, k=k)
    npages = rnd.choices(NPAGES, NPAGES_W, k=k)
    entries = rnd.choices(PAGES, ENTRY_W, k=k)
    rest = iter(rnd.choices(PAGES, PAGE_W, k=sum(npages) - k))
    base_ms = int(hour.timestamp()) * 1000
    randint, random_, getrandbits = rnd.randint, rnd.random, rnd.getrandbits
    ids: set[int] = set()
    returned: set[int] = set()
    visits = []
    for i in range(k):
        pages = [entries[i]] + [next(rest) for _ in range(npages[i] - 1)]
        custom = []
        if random_() < 0.2:
            name = rnd.choices(EVENTS, EVENT_W)[0][0]
            custom.append((name, rnd.choice(_PROPS[name])))
        if random_() < 0.1:  # a campaign: steps.classify takes source and medium from UTM
            utm = rnd.choice(CAMPAIGNS)
            source = (utm[0], utm[1], sources[i][2])
        else:
            utm = ("", "", "")
            source = sources[i][:3]
        if len(pages) == 1 and not custom:
            engaged = [randint(10, 15_000)]  # the tracker sends nothing under 10 ms
        else:
            engaged = [randint(10_000, 90_000) for _ in pages]
        span = sum(engaged) + 1000 * len(pages)  # 1 s from an engagement to the next page
        start_ms = base_ms + randint(0, 3_599_000 - span)  # the whole visit in this hour
        profile = (countries[i], devices[i], browsers[i], oses[i])
        back = day.returner(rnd, base_ms) if day and random_() < RETURN_SHARE else None
        if back is not None and back.vid in returned:
            back = None  # at most one visit per visitor per hour
        if back is not None:
            returned.add(back.vid)
            vid = back.vid
            profile = (back.country, back.device, back.browser, back.os)
            if random_() < RETURN_SAME_SOURCE:
                source, utm = back.source, back.utm
            else:
                source, utm = ("Direct", "(none)", ""), ("", "", "")
        else:
            vid = getrandbits(63) or 1
        sid = session_id_for(vid, start_ms / 1000)
        while sid in ids or (back is None and day is not None and vid in day.last):
            # same second, same 32 low bits (or a clash with today's visitors): another one
            back, vid = None, getrandbits(63) or 1
            sid = session_id_for(vid, start_ms / 1000)
        ids.add(sid)
        visits.append(
            Visit(sid, vid, start_ms, source, utm, *profile, pages, custom, engaged)
        )  # fmt: skip
    return visits


def _rollup_rows(
    visits: list[Visit], day: Day | None = None
) -> tuple[dict[tuple[str, str], list[int]], list[int]]:
    """(dim, value) -> [pageviews, events, visitors, visitors_day, sessions, bounces, dur]
    and the site-level hourly totals [started, pageviews, events, visitors, bounces,
    duration, engagement events, visitors_day], as the worker counts them (sessionize.py):
    a visitor once per key per hour (one visit per visitor per hour here) and, through
    ``day``'s seen sets, once per key per UTC day."""
    roll: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 7)
    hourly = [0] * 8
    seen_today = day.seen if day is not None else {}
    for v in visits:
        pv, ev, b, d = len(v.pages), len(v.custom), int(v.bounce), v.duration_ms
        seen = seen_today.get(v.vid)
        if seen is None:
            seen = seen_today[v.vid] = set()
            hourly[7] += 1  # a visitor new today

        def first_today(key: tuple[str, str], seen: set[tuple[str, str]] = seen) -> int:
            if key in seen:
                return 0
            seen.add(key)
            return 1

        hourly[0] += 1
        hourly[1] += pv
        hourly[2] += ev
        hourly[4] += b
        hourly[5] += d
        hourly[6] += pv  # one engagement event per pageview
        src, med, ref = v.source
        for dim, val in (
            ("source", src), ("medium", med), ("referrer", ref), ("utm_source", v.utm[0]),
            ("utm_medium", v.utm[1]), ("utm_campaign", v.utm[2]), ("country", v.country),
            ("device", v.device), ("browser", v.browser), ("os", v.os),
        ):  # fmt: skip
            if val:
                r = roll[(dim, val)]
                r[0] += pv
                r[1] += ev
                r[2] += 1
                r[3] += first_today((dim, val))
                r[4] += 1
                r[5] += b
                r[6] += d
        r = roll[("entry", v.pages[0])]
        r[2] += 1
        r[3] += first_today(("entry", v.pages[0]))
        r[4] += 1
        r[5] += b
        r[6] += d
        roll[("exit", v.pages[-1])][4] += 1
        for p, ms in zip(v.pages, v.engaged, strict=True):
            r = roll[("page", p)]
            r[0] += 1
            r[6] += ms  # an engagement event's time goes to its page
        for p in set(v.pages):
            r = roll[("page", p)]
            r[2] += 1
            r[3] += first_today(("page", p))
        names = set()
        for name, _ in v.custom:
            roll[("event", name)][1] += 1
            names.add(name)
        for name in names:
            r = roll[("event", name)]
            r[2] += 1
            r[3] += first_today(("event", name))
        for goal, kind, match in GOALS:
            hits = (
                sum(1 for n, _ in v.custom if n == match)
                if kind == "event"
                else sum(1 for p in v.pages if p == match)
            )
            if hits:
                r = roll[("goal", goal)]
                r[1] += hits
                r[2] += 1
                r[3] += first_today(("goal", goal))
    hourly[3] = hourly[0]  # one visit per visitor per hour
    return roll, hourly


# The worker's statements (web/analytics/writers.py), so seeded rows are written exactly as
# the worker writes them; the hourly graph's errors column is 0 in every seeded row.
_ROLLUP_SQL = f"{writers.UPSERT_ROLLUP} VALUES (?,?,?,?,?,?,?,?,?,?,?) {writers.UPSERT_ROLLUP_TAIL}"
_HOURLY_SQL = writers.UPSERT_SESSIONS_HOURLY
_DAILY_SQL = writers.UPSERT_DAILY_COUNTERS
_SESSION_HEAD = writers.INSERT_SESSIONS
_EVENT_HEAD = writers.INSERT_EVENTS


def _raw_rows(site_id: int, visits: list[Visit], hour_s: str, tag: str) -> tuple[list, list]:
    """The analytics_session and analytics_event rows of one hour's visits (events in time
    order, as the worker inserts a batch)."""
    sessions, events = [], []
    append = events.append
    for v in visits:
        src, med, ref = v.source
        sid, vid = v.id, v.vid
        tail = (vid, sid, ref, src, med, v.utm[2], v.country, v.device, v.browser, v.os,
                SCREEN[v.device], LANG)  # fmt: skip
        eid = f"{tag}:{sid:x}:"
        t = v.start_ms
        n = 0
        for path, ms in zip(v.pages, v.engaged, strict=True):
            append((f"{eid}{n}", site_id, ms_str(t), "pageview", "pageview", HOSTNAME, path,
                    *tail, 0, 0, "{}"))  # fmt: skip
            n += 1
            if n == 1:
                for j, (name, props) in enumerate(v.custom):
                    append((f"{eid}{n}", site_id, ms_str(t + ms // 2 + j), "custom", name,
                            HOSTNAME, path, *tail, 0, 0, props))  # fmt: skip
                    n += 1
            t += ms
            append((f"{eid}{n}", site_id, ms_str(t), "engagement", "engagement", HOSTNAME, path,
                    *tail, ms, 100 if ms > 20_000 else 40, "{}"))  # fmt: skip
            n += 1
            t += 1000
        sessions.append(
            (sid, site_id, vid, ms_str(v.start_ms), ms_str(t - 1000), v.pages[0], v.pages[-1],
             len(v.pages), len(v.custom), 0, v.duration_ms, int(v.bounce), src, med, ref,
             *v.utm, "", "", "", v.country, v.device, v.browser, v.os, hour_s)
        )  # fmt: skip
    events.sort(key=itemgetter(2))
    sessions.sort(key=itemgetter(0))
    return sessions, events


def goals_ensure(site_id: int) -> None:
    from web.analytics.models import Goal

    for name, kind, match in GOALS:
        Goal.objects.get_or_create(
            site_id=site_id, name=name, defaults={"kind": kind, "match": match}
        )


FLUSH_ROWS = 50_000  # raw events (or rollup rows) per transaction


def traffic_seed(
    *,
    site_id: int,
    events: int,
    days: int,
    end: datetime | None = None,
    raw: bool = False,
    seed: int = 1,
    progress: bool = False,
    on_hour: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the rollups (and with ``raw`` the visits and events) of about ``events`` raw
    events spread over the ``days`` UTC days ending with ``end``'s day (default today; hours
    after now stay empty). Deterministic for a given seed. Returns counts of what was
    written: visits, events (every raw event), pageviews, custom, engagement, rollup_rows,
    hours."""
    from tqdm import tqdm

    if events < 1 or days < 1:
        raise ValueError("events and days must be positive")
    end = (end or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days - 1)
    hours = days * 24
    now_ts = datetime.now(UTC).timestamp()
    weights = [
        0.0 if (start + timedelta(hours=i)).timestamp() > now_ts else w
        for i, w in enumerate(_hour_weights(start, hours))
    ]
    total_visits = events / EVENTS_PER_VISIT
    scale = total_visits / sum(weights)
    rnd = random.Random(seed)
    goals_ensure(site_id)
    counts = {"visits": 0, "visitors": 0, "events": 0, "pageviews": 0, "custom": 0,
              "engagement": 0, "rollup_rows": 0, "hours": hours}  # fmt: skip
    day = Day()
    conn = connections["default"]
    buf_roll: list[tuple] = []
    buf_hourly: list[tuple] = []
    daily: dict[str, int] = defaultdict(int)
    buf_sess: list[tuple] = []
    buf_ev: list[tuple] = []

    def flush() -> None:
        with transaction.atomic(using="default"):
            # The sqlite3 cursor itself: Django's (debug) wrapper formats every statement.
            conn.ensure_connection()
            cur = conn.connection.cursor()
            cur.executemany(_ROLLUP_SQL, buf_roll)
            cur.executemany(_HOURLY_SQL, buf_hourly)
            if buf_sess:
                insert_rows(cur, _SESSION_HEAD, buf_sess)
                insert_rows(cur, _EVENT_HEAD, buf_ev)
        counts["rollup_rows"] += len(buf_roll)
        for b in (buf_roll, buf_hourly, buf_sess, buf_ev):
            b.clear()

    tune = raw and not conn.in_atomic_block  # (a test's transaction cannot change it)
    if tune:
        with conn.cursor() as cur:
            # Seed data is rebuilt, not recovered: no fsync per transaction, a bigger cache.
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")
    bar = tqdm(total=hours, unit="h", disable=not progress, desc="seeding")
    try:
        for i in range(hours):
            hour = start + timedelta(hours=i)
            expected = weights[i] * scale
            n = int(expected) + (1 if rnd.random() < expected - int(expected) else 0)
            hs = hour.strftime("%Y-%m-%d %H:00:00")
            day.start(hs[:10])
            if n:
                visits = _visits_for_hour(rnd, hour, n, day)
                roll, h = _rollup_rows(visits, day)
                day.record(visits)
                buf_roll.extend((site_id, hs, dim, val, *vals) for (dim, val), vals in roll.items())
                buf_hourly.append((site_id, hs, h[0], h[0], h[1], h[2], 0, h[3], h[7], h[4], h[5]))
                stored = h[1] + h[2] + h[6]
                daily[hs[:10]] += stored
                counts["visits"] += h[0]
                counts["visitors"] += h[7]
                counts["events"] += stored
                counts["pageviews"] += h[1]
                counts["custom"] += h[2]
                counts["engagement"] += h[6]
                if raw:
                    s, e = _raw_rows(site_id, visits, hs, f"seed{seed}")
                    buf_sess.extend(s)
                    buf_ev.extend(e)
            if len(buf_roll) >= FLUSH_ROWS or len(buf_ev) >= FLUSH_ROWS:
                flush()
            if on_hour:
                on_hour(i)
            bar.update(1)
        flush()
    finally:
        bar.close()
        if tune:
            with conn.cursor() as cur:
                cur.execute("PRAGMA synchronous=NORMAL")
    with transaction.atomic(using="default"), conn.cursor() as cur:
        cur.executemany(
            _DAILY_SQL,
            [(site_id, d, name, n) for d, n in daily.items() for name in ("received", "stored")],
        )
    return counts
