"""Grouping error occurrences into issues (TrackX-style), inside the caller's transaction.

Used by the worker pipeline (tracker JS errors, CSP reports) and by services.error_capture
(Hearth's own exceptions). Raw SQL on the caller's sqlite3 cursor, like the pipeline.

Issues are kept forever, so a site gets at most NEW_ISSUES_PER_HOUR new ones per hour (of
the occurrence's time); occurrences of further new fingerprints that hour are folded into
one issue per site and hour whose message counts them (security item 7 of issue 15: 300
new issues in 43 s from one IP under the ingest rate limit). Known issues are unaffected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from web.analytics import metrics
from web.analytics.fingerprints import Grouping
from web.analytics.timefmt import HOUR, hour_str, ts_str

NEW_ISSUES_PER_HOUR = 50
FOLD_PREFIX = "fold:"  # fingerprint of a fold issue: "fold:YYYY-MM-DD HH"; never a hash
FOLD_TYPE = "Too many new errors"


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
    Past NEW_ISSUES_PER_HOUR new issues for a site in an hour, a fingerprint without an
    issue goes to that hour's fold issue instead (see _fold); its id is new once.
    """
    by_key: dict[tuple[int, str], list[IssueItem]] = {}
    for it in items:
        by_key.setdefault((it.site, it.grouping.fingerprint), []).append(it)
    new: list[int] = []
    reopened: list[int] = []
    created: dict[tuple[int, int], int] = {}  # (site, hour) -> new issues that hour so far
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
            hour = int(first.ts // HOUR)
            if _created_in_hour(cur, created, site, hour) >= NEW_ISSUES_PER_HOUR:
                row, group = _fold(cur, site, hour, fp, group, new)
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
            created[(site, int(first.ts // HOUR))] += 1
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


def _created_in_hour(cur, created: dict[tuple[int, int], int], site: int, hour: int) -> int:
    """New issues (fold issues aside) whose first occurrence falls in that hour, read once
    per call and then counted along."""
    if (site, hour) not in created:
        created[(site, hour)] = cur.execute(
            "SELECT COUNT(*) FROM analytics_issue WHERE site_id=? AND first_seen>=? "
            "AND first_seen<? AND fingerprint NOT LIKE ?",
            (site, hour_str(hour), hour_str(hour + 1), FOLD_PREFIX + "%"),
        ).fetchone()[0]
    return created[(site, hour)]


def fold_message(n: int) -> str:
    return (
        f"{n} more new errors this hour were folded here (cap {NEW_ISSUES_PER_HOUR}/hour); "
        "each occurrence keeps its own message and stack"
    )


def _fold(
    cur, site: int, hour: int, fp: str, group: list[IssueItem], new: list[int]
) -> tuple[tuple[int, str], list[IssueItem]]:
    """Put the occurrences of a would-be new issue into the site's fold issue for that hour.

    Returns the fold issue's (id, status) and the occurrences, each marked with the
    fingerprint, type and culprit it would have had. The fold issue is created (and reported
    as new, so it alerts once) on the first overflow of the hour; its message counts the
    distinct fingerprints folded into it, so a repeated error does not count again.
    """
    fold_fp = FOLD_PREFIX + hour_str(hour)[:13]
    row = cur.execute(
        "SELECT id, status FROM analytics_issue WHERE site_id=? AND fingerprint=?",
        (site, fold_fp),
    ).fetchone()
    if row is None:
        start = ts_str(group[0].ts)
        cur.execute(
            "INSERT INTO analytics_issue (site_id, fingerprint, kind, type, message, culprit, "
            "first_seen, last_seen, count, sessions, status, last_url) "
            "VALUES (?,?,?,?,?,?,?,?,0,0,'open','')",
            (site, fold_fp, group[0].kind, FOLD_TYPE, fold_message(0),
             f"new issues over {NEW_ISSUES_PER_HOUR} in {hour_str(hour)[:13]}h UTC", start, start),
        )  # fmt: skip
        row = (cur.lastrowid, "open")
        new.append(row[0])
        metrics.ISSUES_NEW.inc()
    fold_id = row[0]
    seen = cur.execute(
        "SELECT 1 FROM analytics_issueevent WHERE issue_id=? "
        "AND json_extract(extra, '$.folded_fingerprint')=? LIMIT 1",
        (fold_id, fp),
    ).fetchone()
    if seen is None:
        n = cur.execute(
            "SELECT COUNT(DISTINCT json_extract(extra, '$.folded_fingerprint')) "
            "FROM analytics_issueevent WHERE issue_id=?",
            (fold_id,),
        ).fetchone()[0]
        cur.execute(
            "UPDATE analytics_issue SET message=? WHERE id=?", (fold_message(n + 1), fold_id)
        )
    g = group[0].grouping
    marks = {
        "folded_fingerprint": fp,
        "folded_type": g.type[:300],
        "folded_culprit": g.culprit[:300],
    }
    folded = [replace(it, extra={**it.extra, **marks}) for it in group]
    return row, folded
