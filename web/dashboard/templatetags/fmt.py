"""Numbers as a person reads them (issue 17, item 2): thousands separators, compact figures
where a column is narrow, percentages, durations, country names and byte sizes.

The same functions format the weekly report (reports.py), so mail and page agree."""

from __future__ import annotations

from typing import Any

from django import template

from web.dashboard import panels as P

register = template.Library()


@register.filter
def num(value: Any) -> str:
    """1234567 -> '1,234,567'; None -> a dash."""
    if value is None or value == "":
        return "\u2013"
    return f"{round(float(value)):,}"


@register.filter
def compact(value: Any) -> str:
    """Short figures for narrow columns: 999 -> '999', 18_454 -> '18.5k', 184_547 -> '185k',
    2_300_000 -> '2.3M'. Below 10,000 the whole number with separators."""
    if value is None or value == "":
        return "\u2013"
    n = float(value)
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size and abs(n) >= 10_000:
            short = n / size
            text = f"{short:.0f}" if abs(short) >= 100 else f"{short:.1f}".removesuffix(".0")
            return text + unit
    return num(n)


@register.filter
def pct(value: Any) -> str:
    """A 0-1 ratio as a whole percentage: 0.4123 -> '41%'."""
    return f"{round(float(value or 0) * 100)}%"


@register.filter
def ratio(value: Any) -> str:
    """Two decimals: 2.2957 -> '2.30'."""
    return f"{float(value or 0):.2f}"


@register.filter
def duration(value: Any) -> str:
    """Seconds as '45s', '1m 37s' or '2h 05m'."""
    return P.fmt_cell(value, "s")


@register.filter
def country(code: Any) -> str:
    """ISO alpha-2 -> its English name ('US' -> 'United States'); unknown codes unchanged."""
    return P.country_name(str(code))


@register.filter
def metric(value: Any, kind: str) -> str:
    """A metric by its kind (int, pct, s, ratio) as the panels show it."""
    return P.fmt_cell(value, kind)


@register.filter
def headline(issue: Any) -> str:
    """An error's title without saying its type twice: a browser's message often carries it
    already ("Uncaught ReferenceError: x is not defined"), so it is not prefixed again."""
    get = issue.get if isinstance(issue, dict) else lambda k: getattr(issue, k, "")
    kind, message = (get("type") or "").strip(), (get("message") or "").strip()
    if not kind:
        return message or "Error"
    if not message:
        return kind
    if kind in message.split(":", 1)[0]:
        return message
    return f"{kind}: {message}"


@register.filter
def plural(count: Any, words: str) -> str:
    """``3|plural:"event,events"`` -> '3 events'; ``1`` -> '1 event' (separators added)."""
    one, many = words.split(",")
    n = int(count or 0)
    return f"{n:,} {one if n == 1 else many}"
