"""Analytics data in data.db. Dashboards read rollups, never raw events."""

from __future__ import annotations

import secrets

from django.db import models


def _new_public_key() -> str:
    return secrets.token_urlsafe(12)


class Site(models.Model):
    """A tracked property. The Hearth blog itself is site 1 (created by a data migration)."""

    name = models.CharField(max_length=200)
    domains = models.JSONField(
        default=list, help_text="Host names allowed to send events, e.g. ['example.com']."
    )
    public_key = models.CharField(max_length=40, unique=True, default=_new_public_key)
    timezone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)
    # Other names ingest accepts for this site, so a migrating owner's snippets keep working
    # (issue 16, item 4). Unique across all sites (checked by the admin form); matched
    # case-insensitively by web/ingest/sites.py.
    aliases = models.JSONField(
        default=list,
        blank=True,
        help_text="Other names your existing snippets use for this site: an Umami website id, "
        "a Plausible data-domain, a GoatCounter code, a Matomo idsite, a GA4 measurement id.",
    )

    def __str__(self) -> str:
        return self.name

    def allows_host(self, host: str) -> bool:
        """True when host is one of the domains or a subdomain of one."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)


# --- Enrichment state -------------------------------------------------------------------
# Everything below is written only by the analytics worker (web.analytics.services), in one
# transaction per batch, so redelivery of a batch either sees all of it or none of it.


class Salt(models.Model):
    """The daily secret mixed into visitor ids. Today's and yesterday's are kept (so a session
    survives midnight); older ones are deleted, which makes old visitor ids unlinkable."""

    day = models.DateField(primary_key=True)
    value = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)


class StateJournal(models.Model):
    """Append-only journal of visitor states (see web/analytics/visitorstates.py).

    Each analytics batch appends one "delta" row holding every visitor state it changed:
    packed records (visitor id, open session, the rollup keys already counted as unique this
    hour and UTC day), zlib-compressed. A "snapshot" (one or more rows written together)
    replaces all earlier rows. The worker keeps the states in memory and replays this table
    on start. States older than 48 h are dropped at each snapshot (their salt is gone).
    """

    token = models.BigIntegerField()  # random: tells a writer its own last row is still there
    kind = models.CharField(max_length=8)  # delta | snapshot
    states = models.IntegerField()  # records in `data`
    data = models.BinaryField()
    created_at = models.FloatField()  # unix seconds


class Session(models.Model):
    """A visit: closed by 30 min of inactivity or split by a campaign change.

    Session-level attributes (source, campaign, country, device ...) are those of its first
    event. `duration_ms` is engaged (visible) time reported by the tracker, not wall time.
    """

    id = models.BigIntegerField(primary_key=True)  # deterministic hash, see services
    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    visitor_id = models.BigIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    entry_path = models.CharField(max_length=500, default="")
    exit_path = models.CharField(max_length=500, default="")
    pageviews = models.IntegerField(default=0)
    events = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    duration_ms = models.BigIntegerField(default=0)
    is_bounce = models.BooleanField(default=True)
    source = models.CharField(max_length=200, default="")
    medium = models.CharField(max_length=50, default="")
    referrer = models.CharField(max_length=300, default="")  # referring host only
    utm_source = models.CharField(max_length=200, default="")
    utm_medium = models.CharField(max_length=200, default="")
    utm_campaign = models.CharField(max_length=200, default="")
    utm_term = models.CharField(max_length=200, default="")
    utm_content = models.CharField(max_length=200, default="")
    click_id = models.CharField(max_length=20, default="")  # kind only ("gclid"), never value
    country = models.CharField(max_length=2, default="")
    device = models.CharField(max_length=20, default="")
    browser = models.CharField(max_length=100, default="")
    os = models.CharField(max_length=100, default="")
    active_hour = models.DateTimeField()  # last hour counted in SessionsHourly.active

    class Meta:
        indexes = [
            models.Index(fields=["site", "started_at"], name="analytics_session_site_start"),
            # No index on last_seen: every event of a returning visitor moves its session's
            # entry in it (measured 5.9 -> 8.1 us a session update with it). "Visitors now"
            # reads raw events instead; retention scans in rowid order, oldest first.
        ]


class Event(models.Model):
    """One enriched raw event. Kept HEARTH_ANALYTICS_RETENTION_DAYS days; no IP, ever."""

    # The unit's dedupe key (a job id) + ":<index>" for an event of a pack; not unique, not
    # indexed: redelivery is caught per unit by DedupeKey (one index entry per pack instead
    # of one per event).
    event_id = models.CharField(max_length=80)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    ts = models.DateTimeField()
    kind = models.CharField(max_length=12)  # pageview | custom | engagement | error | csp
    name = models.CharField(max_length=200)
    hostname = models.CharField(max_length=253, default="")
    path = models.CharField(max_length=500, default="")
    visitor_id = models.BigIntegerField()
    session_id = models.BigIntegerField(default=0)
    referrer = models.CharField(max_length=300, default="")
    source = models.CharField(max_length=200, default="")
    medium = models.CharField(max_length=50, default="")
    utm_campaign = models.CharField(max_length=200, default="")
    country = models.CharField(max_length=2, default="")
    device = models.CharField(max_length=20, default="")
    browser = models.CharField(max_length=100, default="")
    os = models.CharField(max_length=100, default="")
    screen = models.IntegerField(default=0)
    lang = models.CharField(max_length=35, default="")
    engaged_ms = models.IntegerField(default=0)
    scroll = models.IntegerField(default=0)
    props = models.JSONField(default=dict)

    class Meta:
        # (site, ts) only: every extra index costs each insert; retention goes per site.
        indexes = [models.Index(fields=["site", "ts"], name="analytics_event_site_ts")]


class Goal(models.Model):
    """A conversion: a custom event name, or a page pattern (``*`` matches any characters;
    normalised like stored paths). The rule lives in web/analytics/goals.py."""

    class Kind(models.TextChoices):
        EVENT = "event"
        PAGE = "page"

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.EVENT)
    match = models.CharField(max_length=500)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="analytics_goal_site_name")
        ]

    def __str__(self) -> str:
        return self.name


# --- Rollups (kept forever) ---------------------------------------------------------------


class RollupCounters(models.Model):
    """The counters every rollup table sums (hourly rollups, the hourly site graph and the
    dashboard's day/month compactions), so they are named and typed once."""

    pageviews = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    visitors_day = models.BigIntegerField(default=0)  # a visitor once per UTC day
    bounces = models.BigIntegerField(default=0)
    duration_ms = models.BigIntegerField(default=0)  # engaged time

    class Meta:
        abstract = True


class Rollup(RollupCounters):
    """Hourly counters per site x dimension x value, upserted by the worker.

    Dimensions: page, entry, exit, source, medium, referrer, utm_source, utm_medium,
    utm_campaign, country, device, browser, os, event, goal. `visitors` counts a visitor once
    per hour; `visitors_day` counts a visitor once per UTC day (in the hour first seen), so
    summing `visitors_day` over a day is that day's exact unique count. See analytics.md.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    hour = models.DateTimeField()  # UTC, truncated to the hour
    dim = models.CharField(max_length=16)
    value = models.CharField(max_length=500)
    visitors = models.BigIntegerField(default=0)
    sessions = models.BigIntegerField(default=0)  # sessions whose attribute/entry/exit is value

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "dim", "hour", "value"], name="analytics_rollup_key"
            )
        ]


class SessionsHourly(RollupCounters):
    """The site-level hourly graph: sessions started and active, visitors, bounces, time."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    hour = models.DateTimeField()
    started = models.BigIntegerField(default=0)
    active = models.BigIntegerField(default=0)  # sessions with any event in this hour
    errors = models.BigIntegerField(default=0)
    visitors = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "hour"], name="analytics_sessionshourly_key")
        ]


class DailyCounter(models.Model):
    """Daily request and denial counters: `received`, `stored`, `dropped:<step>:<reason>`
    (worker-side drops; ingest drops and redeliveries are Prometheus-only)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    day = models.DateField()
    name = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "day", "name"], name="analytics_daily_key")
        ]


# --- Errors (TrackX-style issues) -------------------------------------------------------


class Issue(models.Model):
    """Error events grouped by fingerprint. Kept forever; occurrences expire with raw events.

    Full-text search: the FTS5 table analytics_issue_fts (trigram) mirrors type, message and
    culprit through triggers (migration 0004)."""

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"
        IGNORED = "ignored"

    class Kind(models.TextChoices):
        JS = "js"  # tracker: window.onerror / unhandledrejection
        CSP = "csp"  # CSP violation / Reporting API
        SERVER = "server"  # exceptions in Hearth's own web and worker processes

    site = models.ForeignKey(Site, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    type = models.CharField(max_length=200, default="")
    message = models.TextField(default="")
    culprit = models.CharField(max_length=500, default="")  # top frame or where
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.BigIntegerField(default=0)
    sessions = models.BigIntegerField(default=0)  # unique sessions that hit it
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_url = models.CharField(max_length=500, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "fingerprint"], name="analytics_issue_fp")
        ]
        indexes = [
            models.Index(fields=["site", "status", "last_seen"], name="analytics_issue_list")
        ]

    def __str__(self) -> str:
        return f"{self.type}: {self.message[:80]}"


class IssueEvent(models.Model):
    """One occurrence of an issue (kept like raw events)."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="occurrences")
    event_id = models.CharField(max_length=80, unique=True)
    ts = models.DateTimeField()
    session_id = models.BigIntegerField(default=0)
    url = models.CharField(max_length=500, default="")
    message = models.TextField(default="")
    stack = models.TextField(default="")
    browser = models.CharField(max_length=100, default="")
    os = models.CharField(max_length=100, default="")
    extra = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["issue", "session_id"], name="analytics_issueev_sess"),
            models.Index(fields=["ts"], name="analytics_issueev_ts"),
        ]


class DroppedEvent(models.Model):
    """The id of an event a step dropped, so that a redelivered batch does not count the drop
    twice (and so "why is my event missing" has an answer). Kept like raw events."""

    event_id = models.CharField(max_length=80, primary_key=True)
    site_id = models.BigIntegerField()
    ts = models.DateTimeField()
    step = models.CharField(max_length=20)
    reason = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["ts"], name="analytics_dropped_ts")]


class DedupeKey(models.Model):
    """A unit of events the worker stored: a job id (a pack of events, or one event) or an
    event's own key. A redelivered unit is skipped whole (pipeline._already_seen), in the
    same transaction that would store it. Kept like raw events (by `stored_at`, in rowid
    order: no index on it)."""

    key = models.CharField(max_length=80, primary_key=True)
    stored_at = models.DateTimeField()


# --- Columnar history (web/analytics/history, ADR-15 in analytics.md) ---------------------


class Segment(models.Model):
    """One immutable Parquet file of sealed events (the history's catalog: a file is part of
    the history exactly when its row is here). Events with ``min_seq <= seq <= max_seq`` are
    in it; segments never overlap. ``level`` grows with each merge (compaction)."""

    name = models.CharField(max_length=120, unique=True)
    level = models.IntegerField()
    min_seq = models.BigIntegerField()
    max_seq = models.BigIntegerField()
    rows = models.BigIntegerField()
    bytes = models.BigIntegerField()
    min_ts = models.DateTimeField(null=True)
    max_ts = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    uploaded = models.BooleanField(default=False)  # copied to the backup bucket


class HistoryState(models.Model):
    """The sealed watermark (every event with id <= ``sealed_seq`` is in exactly one segment)
    and the largest distance between an event and its session's start seen in the history, so
    that a query reads every event of the sessions it covers (one row, pk=1)."""

    sealed_seq = models.BigIntegerField(default=0)
    span_s = models.IntegerField(default=0)
    updated_at = models.DateTimeField(null=True)
