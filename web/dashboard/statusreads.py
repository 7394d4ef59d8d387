"""Reads for the realtime view, the error pages and the status page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from web.analytics.models import Site
from web.analytics.selectors import issue_search, visitors_now
from web.dashboard.querying import DAY
from web.dashboard.rollupreads import day_text, fetch, ts_text


def realtime_snapshot(site_id: int, *, now: float | None = None) -> dict[str, Any]:
    """Initial state of the realtime view; updates then arrive over SSE. Visitors now = visitor
    ids seen in the last 5 minutes (the worker publishes the same count live)."""
    now = now or datetime.now(UTC).timestamp()
    visitors = visitors_now(site_id=site_id, now=now)
    since = datetime.fromtimestamp(now - 1800, UTC)
    pages = fetch(
        "SELECT path, COUNT(*) FROM (SELECT path FROM analytics_event WHERE site_id=%s AND ts>=%s "
        "AND kind='pageview' ORDER BY ts DESC LIMIT 5000) GROUP BY path ORDER BY 2 DESC LIMIT 10",
        [site_id, ts_text(since)],
    )
    return {"visitors_now": int(visitors), "pages": [{"path": p, "pageviews": n} for p, n in pages]}


def issues_search(
    site_id: int, *, search: str = "", status: str = "open", limit: int = 50
) -> list[dict[str, Any]]:
    """The error list: web.analytics.selectors.issue_search as rows for the template."""
    keys = ("id", "kind", "type", "message", "culprit", "count", "sessions", "status")
    found = issue_search(q=search, site_id=site_id, status=status, limit=limit)
    return [
        {
            **{k: getattr(i, k) for k in keys},
            "first_seen": _dt(i.first_seen),
            "last_seen": _dt(i.last_seen),
        }
        for i in found
    ]


def _dt(value: Any) -> Any:
    """SQLite text as an aware datetime (for the templates' date formats); others as is."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            return value
    return value


def issue_detail(issue_id: int, *, days: int = 14) -> dict[str, Any]:
    """An issue, its occurrences per day for the last ``days`` days and 10 sample events."""
    from web.analytics.models import Issue, IssueEvent

    issue = Issue.objects.get(pk=issue_id)
    since = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - (days - 1) * DAY
    counts = dict(
        fetch(
            "SELECT substr(ts,1,10), COUNT(*) FROM analytics_issueevent WHERE issue_id=%s "
            "AND ts>=%s GROUP BY 1",
            [issue_id, ts_text(since)],
        )
    )
    series = [
        {"t": day_text(since + i * DAY), "events": int(counts.get(day_text(since + i * DAY), 0))}
        for i in range(days)
    ]
    samples = list(IssueEvent.objects.filter(issue_id=issue_id).order_by("-ts")[:10])
    return {"issue": issue, "series": series, "samples": samples}


def status_overview() -> dict[str, Any]:
    """Queue and backup health for the status page. Each part is read lazily and reports
    "not available" instead of failing the page when its app or server is missing."""
    from django.conf import settings

    out: dict[str, Any] = {}
    try:
        from web.messaging import services as msvc

        summary = getattr(msvc, "queue_summary", None)
        if summary is None:
            from web.messaging import selectors as msel  # type: ignore[attr-defined]

            summary = msel.queue_summary
        out["queues"] = summary()
    except Exception as exc:  # the page reports what it could not read
        out["queues"] = {"error": f"not available ({type(exc).__name__}: {exc})"}
    out["worker"] = worker_liveness(settings.ENV.data_dir)
    try:
        from web.messaging.models import DeadLetter

        out["dead_letters"] = DeadLetter.objects.count()
    except Exception as exc:  # as above
        out["dead_letters"] = f"not available ({type(exc).__name__})"
    try:
        from web.analytics.history import engine

        out["history"] = engine.status()
    except Exception as exc:  # as above
        out["history"] = {"error": f"not available ({type(exc).__name__}: {exc})"}
    try:
        from web.core.litestream import replication_status
        from web.jobs.selectors import jobruns_recent

        out["replication"] = replication_status(settings.ENV, timeout=1.0)
        tiers: dict[str, dict[str, Any]] = {}
        for run in jobruns_recent(limit=500):
            if not run.job.startswith("backup"):
                continue
            tier = tiers.setdefault(run.job, {"last": run, "last_ok": None})
            if tier["last_ok"] is None and run.outcome == "ok":
                tier["last_ok"] = run
        out["backups"] = tiers
    except Exception as exc:  # as above
        out["replication"] = {"ok": False, "detail": f"not available ({type(exc).__name__})"}
        out["backups"] = {}
    return out


def worker_liveness(data_dir: Any) -> dict[str, Any]:
    """The worker's state from its heartbeat (web.core.health), not from when it last
    processed a message: an idle worker beats every few seconds and is healthy however long
    ago its last message was (issue 17, item 10).

    {"ok": bool, "state": "running" | "stopped" | "stale" | "never", "beat_s_ago": s | None,
    "pid": n | None, "limit_s": WORKER_STALE_S}."""
    from web.core import health

    beat = health.worker_heartbeat_read(data_dir)
    out: dict[str, Any] = {"limit_s": health.WORKER_STALE_S, "beat_s_ago": None, "pid": None}
    if beat is None:
        return {**out, "ok": False, "state": "never"}
    out.update(beat_s_ago=beat["age_s"], pid=beat.get("pid"))
    if beat.get("stopped"):
        return {**out, "ok": False, "state": "stopped"}
    if beat["age_s"] > health.WORKER_STALE_S:
        return {**out, "ok": False, "state": "stale"}
    return {**out, "ok": True, "state": "running"}


def sites_for(user: Any) -> list[Site]:
    return list(Site.objects.order_by("pk")) if getattr(user, "is_staff", False) else []
