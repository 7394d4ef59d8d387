"""Weekly and monthly email reports per site: top stats (with change against the period
before), top pages, sources and countries. Plain functions; cron and manage.py call them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.mail import send_mail

from web.dashboard import panels as P
from web.dashboard import selectors as sel

LABELS = {
    "visitors": "Visitors (sum of daily uniques)",
    "visits": "Visits",
    "pageviews": "Pageviews",
    "views_per_visit": "Views per visit",
    "bounce_rate": "Bounce rate",
    "visit_duration_s": "Visit duration (s)",
}


def report_range(period: str, today: date) -> tuple[date, date]:
    """(first, last) inclusive: the 7 days before today, or the previous calendar month."""
    if period == "weekly":
        return today - timedelta(days=7), today - timedelta(days=1)
    if period == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError("period is 'weekly' or 'monthly'")


def _figure(metric: str, value: float) -> str:
    """A top stat as the dashboard shows it: 1,234 / 41% / 2.30 (not 2.2957) / 97 s."""
    if metric == "bounce_rate":
        return f"{value * 100:.0f}%"
    if metric == "views_per_visit":
        return f"{value:.2f}"
    if metric == "visit_duration_s":
        return f"{value:.0f}"
    return f"{int(value):,}"


def report_build(*, site_id: int, period: str, today: date | None = None) -> tuple[str, str]:
    """Subject and plain-text body of one site's report."""
    from web.analytics.models import Site

    site = Site.objects.get(pk=site_id)
    first, last = report_range(period, today or datetime.now(UTC).date())
    q = sel.parse_query(site_id, {"range": "custom", "from": str(first), "to": str(last)})
    stats = sel.compare(sel.top_stats(q), sel.top_stats(q.previous()))
    lines = [f"{site.name}: {period} report for {first} to {last} (UTC)", ""]
    for k, v in stats.items():
        change = "" if v["change"] is None else f" ({v['change']:+.1f}%)"
        lines.append(f"{LABELS[k]}: {_figure(k, v['value'])}{change}")
    for dim, title in (
        ("page", "Top pages"),
        ("source", "Top sources"),
        ("country", "Top countries"),
    ):
        lines += ["", title]
        for r in sel.breakdown(q, dim, limit=10):
            n = r["pageviews"] if dim == "page" else r["visitors"]
            value = P.country_name(r["value"]) if dim == "country" else r["value"]
            lines.append(f"  {n:>8,}  {value}")
    return f"[Hearth] {site.name} {period} report {first}..{last}", "\n".join(lines) + "\n"


def reports_send(*, period: str, dry_run: bool = False, progress: bool = False) -> dict[str, Any]:
    """Build and email the report of every site to staff (and DASHBOARD_REPORT_EMAILS)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from web.analytics.models import Site

    to = sorted(
        {
            *getattr(settings, "DASHBOARD_REPORT_EMAILS", []),
            *get_user_model()
            .objects.filter(is_staff=True, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True),
        }
    )
    counts = {"sites": 0, "sent": 0}
    for site_id in Site.objects.values_list("pk", flat=True):
        subject, body = report_build(site_id=site_id, period=period)
        counts["sites"] += 1
        if to and not dry_run:
            send_mail(subject, body, None, to)
            counts["sent"] += 1
    return counts


def reports_weekly(*, dry_run: bool = False, progress: bool = False) -> dict[str, Any]:
    return reports_send(period="weekly", dry_run=dry_run)


def reports_monthly(*, dry_run: bool = False, progress: bool = False) -> dict[str, Any]:
    return reports_send(period="monthly", dry_run=dry_run)
