"""Grouping error occurrences into issues (TrackX-style), inside the caller's transaction.

Used by the worker pipeline (tracker JS errors, CSP reports) and by services.error_capture
(Hearth's own exceptions). Raw SQL on the caller's sqlite3 cursor, like the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from web.analytics import metrics
from web.analytics.fingerprints import Grouping
from web.analytics.timefmt import ts_str


@dataclass
class IssueItem:
    """One error occurrence to group (from an error/csp event or from error_capture)."""

    site: int
    kind: str
    grouping: Grouping
    event_id: str
    ts: float
    session_id: int = 0
    url: str = ""
    message: str = ""
    stack: str = ""
    browser: str = ""
    os: str = ""
    extra: dict = field(default_factory=dict)


def issues_record(cur, items: list[IssueItem]) -> tuple[list[int], list[int]]:
    """Group occurrences into issues inside the caller's transaction.

    Creates missing issues, bumps count/last_seen, counts sessions not seen before on that
    issue, reopens resolved issues, and stores the occurrences. Returns (new issue ids,
    reopened issue ids). Occurrences whose event_id is already stored are skipped.
    """
    by_key: dict[tuple[int, str], list[IssueItem]] = {}
    for it in items:
        by_key.setdefault((it.site, it.grouping.fingerprint), []).append(it)
    new: list[int] = []
    reopened: list[int] = []
    for (site, fp), group in by_key.items():
        group.sort(key=lambda it: it.ts)
        ids = [it.event_id for it in group]
        marks = ",".join("?" * len(ids))
        known = {
            e
            for (e,) in cur.execute(
                f"SELECT event_id FROM analytics_issueevent WHERE event_id IN ({marks})", ids
            )
        }
        group = [it for it in group if it.event_id not in known]
        if not group:
            continue
        first, last = group[0], group[-1]
        row = cur.execute(
            "SELECT id, status FROM analytics_issue WHERE site_id=? AND fingerprint=?", (site, fp)
        ).fetchone()
        if row is None:
            g = first.grouping
            cur.execute(
                "INSERT INTO analytics_issue (site_id, fingerprint, kind, type, message, culprit, "
                "first_seen, last_seen, count, sessions, status, last_url) "
                "VALUES (?,?,?,?,?,?,?,?,0,0,'open','')",
                (site, fp, first.kind, g.type, g.message, g.culprit, ts_str(first.ts),
                 ts_str(first.ts)),
            )  # fmt: skip
            issue_id, status = cur.lastrowid, "open"
            new.append(issue_id)
            metrics.ISSUES_NEW.inc()
        else:
            issue_id, status = row
        sids = sorted({it.session_id for it in group if it.session_id})
        new_sessions = len(sids)
        if sids:
            marks = ",".join("?" * len(sids))
            new_sessions -= cur.execute(
                "SELECT COUNT(DISTINCT session_id) FROM analytics_issueevent "
                f"WHERE issue_id=? AND session_id IN ({marks})",
                [issue_id, *sids],
            ).fetchone()[0]
        if status == "resolved":
            reopened.append(issue_id)
        cur.execute(
            "UPDATE analytics_issue SET count=count+?, sessions=sessions+?, "
            "last_seen=MAX(last_seen, ?), last_url=?, "
            "status=CASE status WHEN 'resolved' THEN 'open' ELSE status END, "
            "resolved_at=CASE status WHEN 'resolved' THEN NULL ELSE resolved_at END "
            "WHERE id=?",
            (len(group), new_sessions, ts_str(last.ts), last.url[:500], issue_id),
        )
        cur.executemany(
            "INSERT INTO analytics_issueevent (issue_id, event_id, ts, session_id, url, message, "
            "stack, browser, os, extra) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    issue_id,
                    it.event_id,
                    ts_str(it.ts),
                    it.session_id,
                    it.url[:500],
                    it.message,
                    it.stack,
                    it.browser[:100],
                    it.os[:100],
                    json.dumps(it.extra),
                )
                for it in group
            ],
        )
    return new, reopened
