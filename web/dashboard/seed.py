"""Synthetic traffic for demos, tests and the benchmark (``manage.py dashboard_seed``).

Simulates visits hour by hour (diurnal and weekly shape, Zipf-like pages, weighted sources,
countries, devices, browsers, OS, a few UTM campaigns, custom events with props, two goals)
and writes the rollup rows those visits would produce, the way the analytics worker would:
``analytics_rollup`` (every dimension), ``analytics_sessionshourly`` and the ``stored``
daily counter, by ``executemany`` UPSERTs. With ``raw=True`` it also writes the visits
(``analytics_session``) and their events (``analytics_event``), so that filtered views,
funnels and event props have data; use that for small volumes only.

Simplifications (documented in dashboard.md): each visit is a new visitor-day (visitors =
visits), and all of a visit's events fall in the hour it started.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connections, transaction

PAGES = (
    ["/", "/blog/", "/about/", "/pricing/", "/signup/", "/docs/", "/contact/"]
    + [f"/blog/post-{i}/" for i in range(1, 241)]
    + [f"/docs/{s}/" for s in ("install", "config", "api", "faq", "deploy", "backup", "sse")]
)
PAGE_W = [30, 12, 6, 8, 5, 7, 2] + [40 / (i**0.9) for i in range(1, 241)] + [3, 2, 2, 1, 1, 1, 1]
ENTRY_W = [w * (3 if p in ("/", "/pricing/") else 1) for p, w in zip(PAGES, PAGE_W, strict=True)]
SOURCES = [  # source, medium, referrer host, weight
    ("Direct", "", "", 30), ("Google", "search", "www.google.com", 28),
    ("Bing", "search", "www.bing.com", 4), ("DuckDuckGo", "search", "duckduckgo.com", 4),
    ("Hacker News", "social", "news.ycombinator.com", 6), ("Reddit", "social", "www.reddit.com", 5),
    ("Twitter", "social", "t.co", 4), ("Mastodon", "social", "mastodon.social", 3),
    ("GitHub", "referral", "github.com", 5), ("Lobsters", "social", "lobste.rs", 2),
    ("Newsletter", "email", "", 3), ("LinkedIn", "social", "www.linkedin.com", 2),
    ("dev.to", "referral", "dev.to", 1), ("Stack Overflow", "referral", "stackoverflow.com", 2),
    ("Ecosia", "search", "www.ecosia.org", 1),
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
EVENTS = [  # name, weight, props factory
    ("signup", 3, lambda r: {"plan": r.choice(["free", "pro", "team"])}),
    ("download", 4, lambda r: {"file": r.choice(["hearth.tar.gz", "guide.pdf", "slides.pdf"])}),
    ("outbound", 6, lambda r: {"url": r.choice(["github.com", "docs.djangoproject.com"])}),
    ("play", 2, lambda r: {"video": r.choice(["intro", "demo"])}),
]  # fmt: skip
GOALS = [("Signup", "event", "signup"), ("Pricing visit", "page", "/pricing/")]
NPAGES = list(range(1, 11))
NPAGES_W = [52, 18, 10, 7, 5, 3, 2, 1, 1, 1]
EVENTS_PER_VISIT = sum(n * w for n, w in zip(NPAGES, NPAGES_W, strict=True)) / sum(NPAGES_W) + 0.2


@dataclass
class Visit:
    id: int
    start: float
    source: tuple[str, str, str]
    utm: tuple[str, str, str]
    country: str
    device: str
    browser: str
    os: str
    pages: list[str]
    custom: list[tuple[str, dict[str, str]]]
    duration_ms: int

    @property
    def bounce(self) -> bool:
        return len(self.pages) == 1 and not self.custom


def _hour_weights(start: datetime, hours: int) -> list[float]:
    out = []
    for i in range(hours):
        t = start + timedelta(hours=i)
        diurnal = 0.35 + (1 - abs(t.hour - 15) / 12) ** 2
        weekly = 0.75 if t.weekday() >= 5 else 1.0
        out.append(diurnal * weekly)
    return out


def _visits_for_hour(rnd: random.Random, hour: datetime, n: int) -> list[Visit]:
    k = n
    sources = rnd.choices(SOURCES, [s[3] for s in SOURCES], k=k)
    countries = rnd.choices(COUNTRIES, COUNTRY_W, k=k)
    devices = rnd.choices(DEVICES, DEVICE_W, k=k)
    browsers = rnd.choices(BROWSERS, BROWSER_W, k=k)
    oses = rnd.choices(OSES, OS_W, k=k)
    npages = rnd.choices(NPAGES, NPAGES_W, k=k)
    entries = rnd.choices(PAGES, ENTRY_W, k=k)
    rest = iter(rnd.choices(PAGES, PAGE_W, k=sum(npages) - k))
    base = hour.timestamp()
    visits = []
    for i in range(k):
        pages = [entries[i]] + [next(rest) for _ in range(npages[i] - 1)]
        custom = []
        if rnd.random() < 0.2:
            name, _, props = rnd.choices(EVENTS, [e[1] for e in EVENTS])[0]
            custom.append((name, props(rnd)))
        utm = rnd.choice(CAMPAIGNS) if rnd.random() < 0.1 else ("", "", "")
        bounce = len(pages) == 1 and not custom
        dur = rnd.randint(0, 15_000) if bounce else len(pages) * rnd.randint(10_000, 90_000)
        visits.append(
            Visit(
                id=rnd.getrandbits(62) + 1,
                start=base + rnd.randint(0, 2999),
                source=sources[i][:3],
                utm=utm,
                country=countries[i],
                device=devices[i],
                browser=browsers[i],
                os=oses[i],
                pages=pages,
                custom=custom,
                duration_ms=dur,
            )
        )
    return visits


def _rollup_rows(visits: list[Visit]) -> tuple[dict[tuple[str, str], list[int]], list[int]]:
    """(dim, value) -> [pageviews, events, visitors, visitors_day, sessions, bounces, dur]
    and the site-level hourly totals."""
    roll: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 7)
    hourly = [0] * 7  # started, pageviews, events, visitors, bounces, duration, -
    for v in visits:
        pv, ev, b, d = len(v.pages), len(v.custom), int(v.bounce), v.duration_ms
        hourly[0] += 1
        hourly[1] += pv
        hourly[2] += ev
        hourly[4] += b
        hourly[5] += d
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
                r[3] += 1
                r[4] += 1
                r[5] += b
                r[6] += d
        r = roll[("entry", v.pages[0])]
        r[2] += 1
        r[3] += 1
        r[4] += 1
        r[5] += b
        r[6] += d
        roll[("exit", v.pages[-1])][4] += 1
        per_page = d // pv
        for p in v.pages:
            r = roll[("page", p)]
            r[0] += 1
            r[6] += per_page
        for p in set(v.pages):
            r = roll[("page", p)]
            r[2] += 1
            r[3] += 1
        names = set()
        for name, _ in v.custom:
            roll[("event", name)][1] += 1
            names.add(name)
        for name in names:
            r = roll[("event", name)]
            r[2] += 1
            r[3] += 1
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
                r[3] += 1
    hourly[3] = hourly[0]
    return roll, hourly


def _ts(t: float) -> str:
    dt = datetime.fromtimestamp(t, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S") + f".{dt.microsecond:06d}"


_ROLLUP_SQL = (
    "INSERT INTO analytics_rollup (site_id, hour, dim, value, pageviews, events, visitors, "
    "visitors_day, sessions, bounces, duration_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(site_id, dim, hour, value) DO UPDATE SET pageviews=pageviews+excluded.pageviews, "
    "events=events+excluded.events, visitors=visitors+excluded.visitors, "
    "visitors_day=visitors_day+excluded.visitors_day, sessions=sessions+excluded.sessions, "
    "bounces=bounces+excluded.bounces, duration_ms=duration_ms+excluded.duration_ms"
)
_HOURLY_SQL = (
    "INSERT INTO analytics_sessionshourly (site_id, hour, started, active, pageviews, events, "
    "errors, visitors, visitors_day, bounces, duration_ms) VALUES (?,?,?,?,?,?,0,?,?,?,?) "
    "ON CONFLICT(site_id, hour) DO UPDATE SET started=started+excluded.started, "
    "active=active+excluded.active, pageviews=pageviews+excluded.pageviews, "
    "events=events+excluded.events, visitors=visitors+excluded.visitors, "
    "visitors_day=visitors_day+excluded.visitors_day, bounces=bounces+excluded.bounces, "
    "duration_ms=duration_ms+excluded.duration_ms"
)
_DAILY_SQL = (
    "INSERT INTO analytics_dailycounter (site_id, day, name, count) VALUES (?,?,'stored',?) "
    "ON CONFLICT(site_id, day, name) DO UPDATE SET count=count+excluded.count"
)
_SESSION_SQL = (
    "INSERT INTO analytics_session (id, site_id, visitor_id, started_at, last_seen, entry_path, "
    "exit_path, pageviews, events, errors, duration_ms, is_bounce, source, medium, referrer, "
    "utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id, country, device, "
    "browser, os, active_hour) VALUES (?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,'','','',?,?,?,?,?)"
)
_EVENT_SQL = (
    "INSERT INTO analytics_event (event_id, site_id, ts, kind, name, hostname, path, visitor_id, "
    "session_id, referrer, source, medium, utm_campaign, country, device, browser, os, screen, "
    "lang, engaged_ms, scroll, props) VALUES (?,?,?,?,?,'example.com',?,?,?,?,?,?,?,?,?,?,?,"
    "1280,'en',0,0,?)"
)


def _raw_rows(site_id: int, visits: list[Visit], hour_s: str, tag: str) -> tuple[list, list]:
    sessions, events = [], []
    for v in visits:
        t = v.start
        last = t + 30 * (len(v.pages) + len(v.custom) - 1)
        src, med, ref = v.source
        sessions.append(
            (v.id, site_id, v.id, _ts(v.start), _ts(last), v.pages[0], v.pages[-1],
             len(v.pages), len(v.custom), v.duration_ms, int(v.bounce), src, med, ref, *v.utm,
             v.country, v.device, v.browser, v.os, hour_s)
        )  # fmt: skip
        common = (v.id, v.id, ref, src, med, v.utm[2], v.country, v.device, v.browser, v.os)
        items = [("pageview", "pageview", p, {}) for p in v.pages]
        items[1:1] = [("custom", n, v.pages[0], props) for n, props in v.custom]
        for i, (kind, name, path, props) in enumerate(items):
            events.append(
                (f"{tag}:{v.id}:{i}", site_id, _ts(t + 30 * i), kind, name, path, *common,
                 json.dumps(props))
            )  # fmt: skip
    return sessions, events


def goals_ensure(site_id: int) -> None:
    from web.analytics.models import Goal

    for name, kind, match in GOALS:
        Goal.objects.get_or_create(
            site_id=site_id, name=name, defaults={"kind": kind, "match": match}
        )


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
    """Write the rollups (and with ``raw`` the visits and events) of about ``events`` events
    spread over the ``days`` UTC days ending with ``end``'s day (default today). Deterministic
    for a given seed. Returns counts of what was written."""
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
    counts = {"visits": 0, "events": 0, "rollup_rows": 0, "hours": hours}
    conn = connections["default"]
    buf_roll: list[tuple] = []
    buf_hourly: list[tuple] = []
    daily: dict[str, int] = defaultdict(int)
    buf_sess: list[tuple] = []
    buf_ev: list[tuple] = []

    def flush() -> None:
        with transaction.atomic(using="default"), conn.cursor() as cur:
            cur.executemany(_ROLLUP_SQL, buf_roll)
            cur.executemany(_HOURLY_SQL, buf_hourly)
            if buf_sess:
                cur.executemany(_SESSION_SQL, buf_sess)
                cur.executemany(_EVENT_SQL, buf_ev)
        counts["rollup_rows"] += len(buf_roll)
        for b in (buf_roll, buf_hourly, buf_sess, buf_ev):
            b.clear()

    bar = tqdm(total=hours, unit="h", disable=not progress, desc="seeding")
    for i in range(hours):
        hour = start + timedelta(hours=i)
        expected = weights[i] * scale
        n = int(expected) + (1 if rnd.random() < expected - int(expected) else 0)
        if n:
            visits = _visits_for_hour(rnd, hour, n)
            roll, h = _rollup_rows(visits)
            hs = hour.strftime("%Y-%m-%d %H:00:00")
            buf_roll.extend((site_id, hs, dim, val, *vals) for (dim, val), vals in roll.items())
            buf_hourly.append((site_id, hs, h[0], h[0], h[1], h[2], h[3], h[3], h[4], h[5]))
            daily[hs[:10]] += h[1] + h[2]
            counts["visits"] += h[0]
            counts["events"] += h[1] + h[2]
            if raw:
                s, e = _raw_rows(site_id, visits, hs, f"seed{seed}")
                buf_sess.extend(s)
                buf_ev.extend(e)
        if len(buf_roll) >= 50_000 or len(buf_ev) >= 50_000:
            flush()
        if on_hour:
            on_hour(i)
        bar.update(1)
    flush()
    bar.close()
    with transaction.atomic(using="default"), conn.cursor() as cur:
        cur.executemany(_DAILY_SQL, [(site_id, d, n) for d, n in daily.items()])
    return counts
