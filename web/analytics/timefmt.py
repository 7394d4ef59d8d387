"""Unix seconds to and from the text Django's SQLite backend stores for datetimes.

The worker writes with raw SQL for speed, so it formats datetimes itself, exactly as Django
does ("YYYY-MM-DD HH:MM:SS[.ffffff]", UTC), with small caches because events arrive in time
order and repeat seconds and hours.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

DAY = 86_400
HOUR = 3_600

_hour_cache: dict[int, str] = {}
_day_cache: dict[int, str] = {}


def hour_str(h: int) -> str:
    """Hour number (unix // 3600) as Django's SQLite datetime text."""
    s = _hour_cache.get(h)
    if s is None:
        if len(_hour_cache) > 10_000:
            _hour_cache.clear()
        s = _hour_cache[h] = time.strftime("%Y-%m-%d %H:00:00", time.gmtime(h * HOUR))
    return s


def day_str(d: int) -> str:
    s = _day_cache.get(d)
    if s is None:
        if len(_day_cache) > 10_000:
            _day_cache.clear()
        s = _day_cache[d] = time.strftime("%Y-%m-%d", time.gmtime(d * DAY))
    return s


_sec_cache: dict[int, str] = {}


def ts_str(ts: float) -> str:
    """Unix seconds as Django's SQLite datetime text (microseconds kept)."""
    sec = int(ts)
    prefix = _sec_cache.get(sec)
    if prefix is None:
        if len(_sec_cache) > 100_000:
            _sec_cache.clear()
        prefix = _sec_cache[sec] = time.strftime("%Y-%m-%d %H:%M:%S.", time.gmtime(sec))
    return f"{prefix}{int((ts - sec) * 1e6):06d}"


def ms_str(ms: int) -> str:
    """Unix milliseconds as ts_str's text, exact (no float rounding of the fraction)."""
    sec, frac = divmod(ms, 1000)
    prefix = _sec_cache.get(sec)
    if prefix is None:
        if len(_sec_cache) > 100_000:
            _sec_cache.clear()
        prefix = _sec_cache[sec] = time.strftime("%Y-%m-%d %H:%M:%S.", time.gmtime(sec))
    return f"{prefix}{frac:03d}000"


def sec_str(ts: float | None = None) -> str:
    """Unix seconds (default: now) as Django's SQLite datetime text, whole seconds."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() if ts is None else ts))


def iso_z(dt: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a trailing Z (the JSON API's time text)."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_ts(v: object) -> float:
    """Unix seconds from a stored datetime/date (Django's SQLite converters may already
    have turned the text into a datetime or date)."""
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC).timestamp()
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC).timestamp()
    raise TypeError(f"not a stored datetime: {v!r}")
