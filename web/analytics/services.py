"""Writes of the analytics domain: the worker's batch entry point, error capture, issue
status, goals, and retention. Handlers, commands and cron stay thin and call these."""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from web.analytics import goals, pipeline
from web.analytics.fingerprints import group_exception
from web.analytics.issues import IssueItem, issues_record
from web.analytics.models import Goal, Issue, Site
from web.analytics.pipeline import BatchResult
from web.analytics.timefmt import DAY, day_str, ts_str
from web.analytics.visitorstates import journal_compact

log = logging.getLogger(__name__)

HEARTH_SITE_ID = 1
LIVE_PAGES = 10

__all__ = [
    "BatchResult",
    "analytics_retention",
    "error_capture",
    "events_process_batch",
    "goal_create",
    "issue_set_status",
]


# --- live and alerts (core NATS, best effort) ---------------------------------------------


def _publish(subject: str, data: dict, *, wait: bool = True) -> None:
    """Publish a live event. Live views are best effort: a failure here must never fail (and
    so redeliver) a batch that is already committed.
    settings.ANALYTICS_LIVE = False turns it off (unit tests, the worker benchmark)."""
    if not getattr(settings, "ANALYTICS_LIVE", True):
        return
    from web.live.publish import publish_best_effort

    publish_best_effort(subject, data, wait=wait)


def _publish_batch(res: BatchResult, now: float) -> None:
    if not res.live:
        return
    for site, lv in res.live.items():
        pages = sorted(lv["pages"].items(), key=lambda kv: kv[1], reverse=True)[:LIVE_PAGES]
        _publish(
            f"events.metrics.views.{site}",
            {
                "site": site,
                "ts": now,
                "pageviews": lv["pageviews"],
                "events": lv["events"],
                "errors": lv["errors"],
                "visitors_now": lv["visitors_now"],  # from the visitor states in memory
                "pages": [p for p, _ in pages],
                "countries": dict(lv["countries"].most_common(10)),
            },
            wait=False,  # a hint that the next batch supersedes: never hold the worker
        )


def _alert_issues(new: list[int], reopened: list[int]) -> None:
    if not new and not reopened:
        return
    for issue in Issue.objects.filter(pk__in=[*new, *reopened]):
        _publish(
            "events.alerts.errors",
            {
                "issue": issue.pk,
                "site": issue.site_id,
                "kind": issue.kind,
                "type": issue.type,
                "message": issue.message[:300],
                "culprit": issue.culprit,
                "reopened": issue.pk in reopened,
            },
        )


# --- the worker's entry point -----------------------------------------------------------


def events_process_batch(
    *,
    payloads: list[dict],
    job_ids: list[str] | None = None,
    now: float | None = None,
    pack_sizes: list[int] | None = None,
) -> BatchResult:
    """Enrich and store one fetched batch of `analytics.event` payloads (one transaction),
    then publish the live view and new-issue alerts. Idempotent: redelivered job ids are
    skipped (one per payload, or one per pack with `pack_sizes`: see
    pipeline.process_batch). Raises on database errors (nothing written; redeliver)."""
    now = time.time() if now is None else now
    res = pipeline.process_batch(payloads=payloads, job_ids=job_ids, now=now, pack_sizes=pack_sizes)
    _publish_batch(res, now)
    _alert_issues(res.new_issues, res.reopened_issues)
    return res


# --- errors of Hearth's own processes ----------------------------------------------------

_capturing = threading.local()


def _record_exception(exc: BaseException, where: str, site_id: int) -> int | None:
    grouping, stack = group_exception(exc, where=where)
    item = IssueItem(
        site=site_id,
        kind="server",
        grouping=grouping,
        event_id="srv:" + uuid.uuid4().hex,
        ts=time.time(),
        url=where[:500],
        message=str(exc)[:2000],
        stack=stack[-8000:],
        extra={"where": where[:300]},
    )
    conn = connections[pipeline.DB]
    with transaction.atomic(using=pipeline.DB):
        conn.ensure_connection()
        new, reopened = issues_record(conn.connection.cursor(), [item])
    _alert_issues(new, reopened)
    row = Issue.objects.filter(site_id=site_id, fingerprint=grouping.fingerprint).first()
    return row.pk if row else None


def _record_quietly(exc: BaseException, where: str, site_id: int) -> int | None:
    if getattr(_capturing, "active", False):
        return None  # an error while capturing an error: do not recurse
    _capturing.active = True
    try:
        return _record_exception(exc, where, site_id)
    except Exception as inner:  # capturing must never raise into the failing code path
        log.warning("error_capture failed for %s: %s", where, inner)
        return None
    finally:
        _capturing.active = False


def error_capture(*, exc: BaseException, where: str, site_id: int = HEARTH_SITE_ID) -> int | None:
    """Record an exception raised in Hearth's own web or worker process as an issue occurrence.

    Never raises. Returns the issue id when it was written at once. Inside a transaction the
    write waits for its commit (transaction.on_commit) and None is returned: writing inside
    it would vanish with a rollback, and a side connection would wait on this thread's own
    write lock. If that transaction rolls back, the record is dropped with it; the exception
    then normally propagates and is captured again where it is logged outside (Django's 500
    logging, the analytics job handlers).
    """
    conn = connections[pipeline.DB]
    if conn.in_atomic_block:
        transaction.on_commit(
            lambda: _record_quietly(exc, where, site_id), using=pipeline.DB, robust=True
        )
        return None
    return _record_quietly(exc, where, site_id)


# --- issues and goals -------------------------------------------------------------------


def issue_set_status(*, issue_id: int, status: str) -> Issue:
    """Set open/resolved/ignored. A resolved issue reopens on its next occurrence."""
    if status not in Issue.Status.values:
        raise ValueError(f"unknown issue status {status!r}; use one of {Issue.Status.values}")
    issue = Issue.objects.get(pk=issue_id)
    issue.status = status
    issue.resolved_at = timezone.now() if status == Issue.Status.RESOLVED else None
    issue.save(update_fields=["status", "resolved_at"])
    return issue


def goal_create(*, site_id: int, name: str, kind: str, match: str) -> Goal:
    """Add a conversion goal, its pattern normalised by the one rule (web/analytics/goals.py;
    raises GoalError, a ValueError, for a bad one). Dashboards count it retroactively; the
    worker's rollups pick it up within their 30 s cache window."""
    match = goals.normalise_pattern(kind, match)
    goal = Goal.objects.create(site_id=site_id, name=name, kind=kind, match=match)
    pipeline.reset_caches()
    return goal


# --- retention --------------------------------------------------------------------------

_CHUNK = 5000


def analytics_retention(
    *, days: int | None = None, dry_run: bool = False, now: float | None = None
) -> dict[str, int]:
    """Delete raw analytics older than `days` (default HEARTH_ANALYTICS_RETENTION_DAYS; raw
    events only once sealed into the columnar history), visitor states and salts older than
    48 h, and history rows older than HEARTH_ANALYTICS_HISTORY_DAYS (0 = kept forever).
    Rollups, the hourly graph, counters and issues are kept forever. Deletes in chunks of
    5,000 rows per transaction so the worker is never blocked long. Returns rows deleted
    (or that would be, with dry_run) per table."""
    days = settings.ENV.analytics_retention_days if days is None else days
    if days < 1:
        raise ValueError("retention days must be at least 1")
    now = time.time() if now is None else now
    raw_cutoff = ts_str(now - days * DAY)
    today = int(now // DAY)
    site_ids = list(Site.objects.values_list("pk", flat=True))
    # (table, WHERE clause, params); raw events go per site to use the (site, ts) index.
    # An event leaves data.db only once it is in the columnar history (id <= watermark).
    with connections[pipeline.DB].cursor() as cur:
        cur.execute("SELECT coalesce(max(sealed_seq), 0) FROM analytics_historystate")
        sealed = int(cur.fetchone()[0])
    targets: list[tuple[str, str, list]] = [
        ("analytics_event", "site_id = %s AND ts < %s AND id <= %s", [site, raw_cutoff, sealed])
        for site in site_ids
    ]
    targets += [
        ("analytics_droppedevent", "ts < %s", [raw_cutoff]),
        ("analytics_dedupekey", "stored_at < %s", [raw_cutoff]),
        ("analytics_issueevent", "ts < %s", [raw_cutoff]),
        ("analytics_session", "last_seen < %s", [raw_cutoff]),
        ("analytics_salt", "day < %s", [day_str(today - 1)]),
    ]
    out: dict[str, int] = {"analytics_event": 0}
    conn = connections[pipeline.DB]
    for table, where, params in targets:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
            count = cur.fetchone()[0]
        out[table] = out.get(table, 0) + count
        if dry_run or not count:
            continue
        while True:
            with transaction.atomic(using=pipeline.DB), conn.cursor() as cur:
                cur.execute(
                    f"DELETE FROM {table} WHERE rowid IN "
                    f"(SELECT rowid FROM {table} WHERE {where} LIMIT {_CHUNK})",
                    params,
                )
                deleted = cur.rowcount
            if deleted < _CHUNK:
                break
    with transaction.atomic(using=pipeline.DB):
        conn.ensure_connection()
        out["visitor_states"] = journal_compact(conn.connection.cursor(), now, dry_run=dry_run)
    if not dry_run:
        pipeline.CACHE.salts.clear()
        from web.analytics.history.services import history_retention

        out.update(history_retention(now=now))
    return out
