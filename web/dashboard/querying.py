"""Dashboard queries from URL parameters: the range, the filters, and what they mean.

Ranges are UTC. Filters: one value per dimension (see FILTER_DIMS) and ``prop:<key>`` for a
custom-event property. Parsing errors are QueryError (HTTP 400 with the message).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from web.analytics import goals as goal_rules
from web.analytics.history.schema import SESSION_ATTRS

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RANGES = ("realtime", "today", "yesterday", "7d", "30d", "month", "year", "custom")
# Filterable dimensions; each is also a breakdown panel.
SESSION_DIMS = SESSION_ATTRS
FILTER_DIMS = ("page", "entry", "exit", *SESSION_DIMS, "event", "goal")
BREAKDOWN_DIMS = FILTER_DIMS
PROP_FILTER = "prop:"  # filter on a custom-event property: prop:<key>=<value>
PROP_DIM = "props:"  # breakdown by one property's values: props:<key>
MAX_PROP_KEY = 100
# compare=previous: the period of the same length just before; compare=year: a year before.
COMPARE_MODES = ("previous", "year")
MAX_RANGE_DAYS = 3 * 366
# Custom ranges lie within these days: the range, the previous period it is compared with
# and its session-id bounds (web.analytics.steps.SESSION_EPOCH: 31 bits of seconds from
# 2020, to January 2088) all fit, where 9999-12-31 + 1 day overflowed (a 500).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2087, 12, 31)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Whole numbers in URL parameters: ASCII digits only (str.isdigit() also accepts "²" and
# "٣", which int() then rejects or reads), at most 19 of them (as many as MAX_ID has).
_WHOLE = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1  # SQLite's largest INTEGER
MAX_OFFSET = 10**9  # paging offsets (the stats API documents it in openapi.py)


class QueryError(ValueError):
    """Bad range or filter in a request; the message is shown to the user (HTTP 400)."""


@dataclass(frozen=True)
class Query:
    site_id: int
    start: datetime  # UTC, inclusive, whole hour
    end: datetime  # UTC, exclusive, whole hour
    range: str = "30d"
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def interval(self) -> str:
        return "hour" if self.end - self.start <= 2 * DAY else "day"

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    def previous(self) -> Query:
        """The period of the same length just before this one (for comparison)."""
        span = self.end - self.start
        return replace(self, start=self.start - span, end=self.start)

    def year_before(self) -> Query:
        """The same days one year earlier (year-over-year comparison); 29 February maps to
        the 28th."""

        def back(t: datetime) -> datetime:
            try:
                return t.replace(year=t.year - 1)
            except ValueError:  # 29 February
                return t.replace(year=t.year - 1, day=28)

        return replace(self, start=back(self.start), end=back(self.end))

    def compared(self, mode: str) -> Query:
        """The period a comparison ``mode`` (COMPARE_MODES) sets beside this one."""
        return self.year_before() if mode == "year" else self.previous()

    def compared_so_far(self, mode: str, now: datetime) -> Query:
        """The compared period cut to as much of it as has elapsed of this one: "today" at
        09:40 is compared with yesterday until 10:00, not all of yesterday (a partial
        period against a whole one always reads as a fall). Whole periods: compared()."""
        other = self.compared(mode)
        if not self.start < now < self.end:
            return other
        elapsed = _floor_hour(now) + HOUR - self.start
        return replace(other, end=min(other.end, other.start + elapsed))

    def params(self, **override: str | None) -> dict[str, str]:
        """URL parameters that reproduce this query (for links and shareable views)."""
        out: dict[str, str] = {"range": self.range}
        if self.range == "custom":
            out["from"] = self.start.date().isoformat()
            out["to"] = (self.end - DAY).date().isoformat()
        out.update(self.filters)
        for k, v in override.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out


def parse_whole(raw: str, *, lo: int, hi: int) -> int | None:
    """``raw`` as an int if it is 1-19 ASCII digits within lo..hi, else None (the caller
    raises its own error naming the parameter). No sign, no spaces, no other digits."""
    if not _WHOLE.fullmatch(raw):
        return None
    value = int(raw)
    return value if lo <= value <= hi else None


def parse_day(raw: str, name: str) -> date:
    """A YYYY-MM-DD day between FIRST_DAY and LAST_DAY; QueryError naming ``name``."""
    try:
        if not _ISO_DAY.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise QueryError("custom range needs from= and to= as YYYY-MM-DD") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise QueryError(f"custom range: {name}= must be between {FIRST_DAY} and {LAST_DAY}")
    return day


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def parse_query(site_id: int, params: Mapping[str, str], *, now: datetime | None = None) -> Query:
    """Build a Query from URL parameters (range, from, to and one value per filter dim).

    Ranges are UTC: today, yesterday, 7d and 30d (ending with today), month and year (to
    date), custom (from/to inclusive YYYY-MM-DD days between FIRST_DAY and LAST_DAY, at most
    MAX_RANGE_DAYS apart). Raises QueryError with a readable message.
    """
    now = now or datetime.now(UTC)
    rng = params.get("range") or "30d"
    if rng not in RANGES:
        raise QueryError(f"unknown range {rng!r}; use one of {', '.join(RANGES)}")
    today = day_start(now.date())
    end = today + DAY
    if rng == "realtime":
        start, end = _floor_hour(now) - HOUR, _floor_hour(now) + HOUR
    elif rng == "today":
        start = today
    elif rng == "yesterday":
        start, end = today - DAY, today
    elif rng == "7d":
        start = today - 6 * DAY
    elif rng == "30d":
        start = today - 29 * DAY
    elif rng == "month":
        start = today.replace(day=1)
    elif rng == "year":
        start = today.replace(month=1, day=1)
    else:
        first = parse_day(params.get("from", ""), "from")
        last = parse_day(params.get("to", ""), "to")
        if last < first:
            raise QueryError(
                f"custom range: to= is before from= ({last} is before {first}): pick an end "
                "day on or after the start"
            )
        start, end = day_start(first), day_start(last) + DAY
        if (end - start).days > MAX_RANGE_DAYS:
            raise QueryError(f"custom range is longer than {MAX_RANGE_DAYS} days")
    filters: dict[str, str] = {}
    for dim in FILTER_DIMS:
        value = params.get(dim)
        if value is None or value == "":
            continue
        if len(value) > 500:
            raise QueryError(f"filter {dim} is longer than 500 characters")
        if dim == "page":  # read as a page pattern (historyreads.event_condition)
            try:
                goal_rules.normalise_pattern("page", value)
            except goal_rules.GoalError as exc:
                raise QueryError(f"filter page must be a path or a pattern with *: {exc}") from exc
        filters[dim] = value
    for key, value in params.items():
        if not key.startswith(PROP_FILTER) or value == "":
            continue
        if not 0 < len(key) - len(PROP_FILTER) <= MAX_PROP_KEY:
            raise QueryError(f"property filter needs a key of 1-{MAX_PROP_KEY} characters")
        if len(value) > 500:
            raise QueryError(f"filter {key} is longer than 500 characters")
        filters[key] = value
    return Query(site_id=site_id, start=start, end=end, range=rng, filters=filters)
