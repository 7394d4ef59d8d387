"""Alerts: detection (traffic spikes, new/reopened issues, dead-letter growth, failed
backups), deduplication and delivery (live on ``events.alerts.<kind>``, email, and an
optional HMAC-signed webhook).

A storm is one alert: ``alert_raise`` claims the alert key in ttl.db with one atomic UPSERT
that only succeeds when the key's quiet period has passed; every other raise in the period is
counted as suppressed and delivers nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connections

from web.analytics.timefmt import sec_str

log = logging.getLogger(__name__)

KINDS = ("traffic", "errors", "deadletters", "backups")
QUIET_S = 3600  # one alert per key per hour
BUCKET_S = 600  # traffic rate is measured over 10 minutes
BASELINE_BUCKETS = 144  # trailing 24 h
STORM_ITEMS = 3  # more findings of one kind in one check are sent as one alert
TITLE_MAX = 200
_TRACEBACK = "Traceback (most recent call last)"


def one_line(text: str, *, limit: int = TITLE_MAX) -> str:
    """A one-line summary of ``text`` for a title or an email subject (a header value may not
    contain a line break). A traceback is summed up by the first line of the exception it
    ends with (its own first line says only "Traceback ..."); any other text by its first
    non-blank line. Whitespace runs become one space; longer than ``limit`` is cut with an
    ellipsis."""
    lines = text.splitlines()
    if _TRACEBACK in text:
        # The exception line is the first unindented one after the last traceback's frames.
        tail = text[text.rindex(_TRACEBACK) :].splitlines()[1:]
        lines = [ln for ln in tail if ln.strip() and not ln[0].isspace()] or lines
    line = " ".join(next((ln for ln in lines if ln.strip()), "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Spike:
    current: int
    baseline: float
    factor: float


def spike_detect(
    rates: Sequence[int], *, factor: float = 3.0, min_count: int = 30, sigmas: float = 4.0
) -> Spike | None:
    """``rates`` are event counts per 10-minute bucket, oldest first; the last is the current
    one. A spike is a current rate at least ``factor`` times the trailing median, at least
    ``min_count`` events, and ``sigmas`` Poisson standard deviations above the median (so a
    quiet site going from 1 to 4 is not a spike). The median ignores earlier spikes."""
    if len(rates) < 7:
        return None  # not enough history for a baseline
    *history, current = rates
    baseline = statistics.median(history)
    threshold = max(min_count, factor * baseline, baseline + sigmas * math.sqrt(max(baseline, 1)))
    if current >= threshold:
        return Spike(
            current=int(current), baseline=float(baseline), factor=current / max(baseline, 1)
        )
    return None


def traffic_rates(site_id: int, *, now: float | None = None) -> list[int]:
    """Events per 10 minutes over the trailing 24 h plus the current bucket (raw events,
    bounded to one day by the (site, ts) index)."""
    now = time.time() if now is None else now
    current = int(now // BUCKET_S)
    first = current - BASELINE_BUCKETS
    since = sec_str(first * BUCKET_S)
    with connections["default"].cursor() as cur:
        cur.execute(
            "SELECT CAST(strftime('%%s', substr(ts,1,19)) AS INTEGER) / %s, COUNT(*) "
            "FROM analytics_event WHERE site_id=%s AND ts>=%s GROUP BY 1",
            [BUCKET_S, site_id, since],
        )
        by = dict(cur.fetchall())
    return [int(by.get(b, 0)) for b in range(first, current + 1)]


def _claim(key: str, now: float, quiet_s: int) -> bool:
    """Atomically take the right to send alert ``key``; False (and counted) when it was
    sent less than ``quiet_s`` ago."""
    with connections["ttl"].cursor() as cur:
        cur.execute(
            "INSERT INTO dashboard_alertstate (key, first_at, last_sent_at, suppressed) "
            "VALUES (%s, %s, %s, 0) ON CONFLICT(key) DO UPDATE SET "
            "last_sent_at=excluded.last_sent_at, "
            "suppressed=0 WHERE dashboard_alertstate.last_sent_at < %s RETURNING key",
            [key, now, now, now - quiet_s],
        )
        won = cur.fetchone() is not None
        if not won:
            cur.execute(
                "UPDATE dashboard_alertstate SET suppressed=suppressed+1 WHERE key=%s", [key]
            )
    return won


def alert_raise(
    *,
    kind: str,
    key: str,
    title: str,
    data: dict[str, Any] | None = None,
    publish: bool = True,
    quiet_s: int = QUIET_S,
    now: float | None = None,
) -> bool:
    """Deliver an alert unless the same ``key`` was delivered within ``quiet_s``. Returns
    True when delivered. ``title`` is made one line (it is the email subject); details such
    as a traceback belong in ``data``, which is the email body. ``publish=False`` skips the
    live event (its producer published it already, as the analytics worker does for errors).
    Raises when the email cannot be sent, after releasing the key, so the next check tries
    again (the cron run records the failure); the live event and the webhook are best
    effort."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; use one of {KINDS}")
    now = time.time() if now is None else now
    title = one_line(title, limit=2 * TITLE_MAX)
    if not _claim(f"{kind}:{key}", now, quiet_s):
        return False
    payload = {"kind": kind, "key": key, "title": title, "ts": now, **(data or {})}
    try:
        _email(title, payload)
    except Exception:
        # Not delivered: give the claim back so that the next check raises it again.
        _release(f"{kind}:{key}")
        raise
    if publish:
        _publish(kind, payload)
    _webhook(payload)
    return True


def _release(key: str) -> None:
    with connections["ttl"].cursor() as cur:
        cur.execute("UPDATE dashboard_alertstate SET last_sent_at=0 WHERE key=%s", [key])


def _publish(kind: str, payload: dict[str, Any]) -> None:
    from web.live.publish import publish_best_effort

    publish_best_effort(f"events.alerts.{kind}", payload)  # the email still goes out


def _recipients() -> list[str]:
    from django.contrib.auth import get_user_model

    extra = list(getattr(settings, "DASHBOARD_ALERT_EMAILS", []))
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return sorted({*extra, *staff.values_list("email", flat=True)})


def _email(title: str, payload: dict[str, Any]) -> None:
    from django.core.mail import send_mail

    to = _recipients()
    if not to:
        return
    body = "\n".join(f"{k}: {v}" for k, v in payload.items())
    send_mail(f"[Hearth alert] {one_line(title, limit=2 * TITLE_MAX)}", body, None, to)


def webhook_signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>`` HMAC of the raw body, sent as X-Hearth-Signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _webhook(payload: dict[str, Any]) -> None:
    url = getattr(settings, "DASHBOARD_ALERT_WEBHOOK_URL", "")
    if not url:
        return
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    secret = getattr(settings, "DASHBOARD_ALERT_WEBHOOK_SECRET", "")
    try:
        import httpx

        httpx.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hearth-Signature": webhook_signature(body, secret),
            },
            timeout=5,
        ).raise_for_status()
    except Exception as exc:  # email and the live view already carry the alert
        log.warning("alert webhook to %s failed: %s", url, exc)


# --- the periodic check (cron) --------------------------------------------------------------


def alerts_check(
    *, dry_run: bool = False, progress: bool = False, now: float | None = None
) -> dict[str, int]:
    """Cron job (every 10 minutes): traffic spikes per site, new or reopened issues, dead
    letters in the last interval, failed backup runs. Returns counts of alerts sent."""
    from web.analytics.models import Issue, Site

    now = time.time() if now is None else now
    since = datetime.fromtimestamp(now - BUCKET_S, UTC)
    sent = {"traffic": 0, "errors": 0, "deadletters": 0, "backups": 0}
    found: list[tuple[str, str, str, dict[str, Any], bool]] = []
    for site in Site.objects.all():
        spike = spike_detect(traffic_rates(site.pk, now=now))
        if spike:
            found.append(("traffic", f"site:{site.pk}", f"Traffic spike on {site.name}: "
                          f"{spike.current} events in 10 min, {spike.factor:.1f}x the usual "
                          f"{spike.baseline:.0f}", {"site": site.pk, "current": spike.current,
                          "baseline": spike.baseline}, True))  # fmt: skip
    for issue in Issue.objects.filter(status=Issue.Status.OPEN, last_seen__gte=since).filter(
        first_seen__gte=since
    ) | Issue.objects.filter(
        status=Issue.Status.OPEN, resolved_at__isnull=False, last_seen__gte=since
    ):
        found.append(("errors", f"issue:{issue.pk}", f"Error: {issue.type}: "
                      f"{one_line(issue.message, limit=120)}",
                      {"site": issue.site_id, "issue": issue.pk}, False))  # fmt: skip
    try:
        from web.messaging.models import DeadLetter

        n = DeadLetter.objects.filter(last_dead_at__gte=since).count()
        if n:
            found.append(("deadletters", "growth", f"{n} job(s) dead-lettered in 10 min",
                          {"count": n}, True))  # fmt: skip
    except Exception as exc:  # messaging not installed or migrated: nothing to watch
        log.debug("dead letters not available: %s", exc)
    try:
        from web.jobs.models import JobRun

        for run in JobRun.objects.filter(outcome=JobRun.FAILED, started_at__gte=since):
            # The error is a traceback: its last line goes in the title, all of it in the body.
            found.append(("backups", f"job:{run.job}", f"Job {run.job} failed: "
                          f"{one_line(run.error) or run.outcome}",
                          {"job": run.job, "run": run.pk, "error": run.error}, True))  # fmt: skip
    except Exception as exc:  # as above
        log.debug("job runs not available: %s", exc)
    by_kind: dict[str, list[tuple[str, str, str, dict[str, Any], bool]]] = {}
    for item in found:
        by_kind.setdefault(item[0], []).append(item)
    for kind, items in by_kind.items():
        if len(items) > STORM_ITEMS:  # a burst of new issues or failures is one alert
            titles = "; ".join(i[2] for i in items[:5])
            by_kind[kind] = [(kind, "many", f"{len(items)} {kind} alerts: {titles}",
                              {"count": len(items)}, items[0][4])]  # fmt: skip
    for kind, key, title, data, publish in (i for items in by_kind.values() for i in items):
        if dry_run or alert_raise(
            kind=kind, key=key, title=title, data=data, publish=publish, now=now
        ):
            sent[kind] += 1
    return sent
