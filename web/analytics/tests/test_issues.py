"""Error grouping into issues: fingerprints, counts, status, FTS search, Hearth's own errors."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from django.db import connection, transaction

from web.analytics.fingerprints import group_csp, group_error, parse_stack
from web.analytics.models import Issue, IssueEvent
from web.analytics.selectors import issue_search
from web.analytics.services import error_capture, events_process_batch, issue_set_status
from web.core.testing.events import DAY0, UA_IPHONE, ev

T = DAY0 + 12 * 3600

CHROME_V1 = """TypeError: Cannot read properties of undefined (reading 'title')
    at renderPost (https://cdn.hearth.test/static/app.3f2a91bc.js:120:17)
    at Array.map (<anonymous>)
    at async loadFeed (https://cdn.hearth.test/static/app.3f2a91bc.js:88:5)"""
# The same bug after a deploy: other host, other build hash, other line numbers.
CHROME_V2 = """TypeError: Cannot read properties of undefined (reading 'title')
    at renderPost (https://hearth.test/static/app.9bd0e1aa.js:131:9)
    at Array.map (<anonymous>)
    at async loadFeed (https://hearth.test/static/app.9bd0e1aa.js:90:2)"""
FIREFOX_MSG = 'TypeError: can\'t access property "title", post is undefined'
FIREFOX = """renderPost@https://hearth.test/static/app.9bd0e1aa.js:131:9
loadFeed@https://hearth.test/static/app.9bd0e1aa.js:90:2"""
OTHER_FN = """TypeError: Cannot read properties of undefined (reading 'title')
    at renderComment (https://hearth.test/static/app.9bd0e1aa.js:131:9)"""


def fp(stack: str = "", message: str = "boom", type_: str = "TypeError") -> str:
    return group_error(kind="js", type_=type_, message=message, stack=stack).fingerprint


GROUPING_CASES = [
    ("same frames across deploys and CDNs", fp(CHROME_V1), fp(CHROME_V2), True),
    ("message text does not matter when frames exist", fp(CHROME_V1, "a"), fp(CHROME_V1, "b"),
     True),
    ("other top function is another issue", fp(CHROME_V2), fp(OTHER_FN), False),
    ("no stack: numbers in the message are normalised",
     fp(message="Request 4411 failed after 30ms"), fp(message="Request 98 failed after 1200ms"),
     True),
    ("no stack: different message, different issue", fp(message="a is null"),
     fp(message="b is null"), False),
    ("no stack: type is part of it", fp(type_="TypeError"), fp(type_="RangeError"), False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "a", "b", "same"), GROUPING_CASES, ids=[c[0] for c in GROUPING_CASES]
)
def test_fingerprint_grouping(what, a, b, same):
    assert (a == b) is same, what


def test_stack_parsing_chrome_firefox_python():
    assert parse_stack(CHROME_V1)[0] == ("renderPost", "/static/app.js")
    assert parse_stack(FIREFOX) == [
        ("renderPost", "/static/app.js"),
        ("loadFeed", "/static/app.js"),
    ]
    py = (
        "Traceback (most recent call last):\n"
        '  File "/work/main/web/blog/views.py", line 10, in post\n    x()\n'
        '  File "/work/main/web/blog/services.py", line 3, in x\n    raise KeyError\nKeyError'
    )
    assert parse_stack(py)[0] == ("x", "web/blog/services.py")


def test_csp_reports_group_by_directive_and_blocked_origin():
    a = group_csp(
        {"effective-directive": "script-src-elem", "blocked-uri": "https://evil.test/a.js"}
    )
    b = group_csp({"effectiveDirective": "script-src-elem", "blockedURL": "https://evil.test/b.js"})
    c = group_csp({"effective-directive": "script-src-elem", "blocked-uri": "inline"})
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.type == "CSP script-src-elem"


def _err(ts: float, stack: str, **kw: object) -> dict:
    msg = FIREFOX_MSG if stack == FIREFOX else stack.splitlines()[0]
    return ev(ts, kind="error", name="error", error={"message": msg, "stack": stack}, **kw)


@pytest.mark.django_db
def test_errors_group_into_one_issue_with_counts_sessions_and_reopen():
    # Two visitors: one hits the bug twice, the other once; both have a session.
    events_process_batch(
        payloads=[
            ev(T), _err(T + 1, CHROME_V1), _err(T + 2, CHROME_V2),
            ev(T, ip="198.51.100.4", ua=UA_IPHONE),
            _err(T + 3, FIREFOX, ip="198.51.100.4", ua=UA_IPHONE),
        ],
        now=T + 10,
    )  # fmt: skip
    issue = Issue.objects.get()
    assert (issue.count, issue.sessions, issue.kind, issue.status) == (3, 2, "js", "open")
    assert issue.type == "TypeError"
    assert issue.culprit == "renderPost (/static/app.js)"
    assert IssueEvent.objects.filter(issue=issue).count() == 3

    issue_set_status(issue_id=issue.pk, status="resolved")
    res = events_process_batch(payloads=[_err(T + 60, CHROME_V2)], now=T + 61)
    issue.refresh_from_db()
    assert res.reopened_issues == [issue.pk]
    assert (issue.status, issue.count, issue.sessions, issue.resolved_at) == ("open", 4, 2, None)

    issue_set_status(issue_id=issue.pk, status="ignored")
    events_process_batch(payloads=[_err(T + 70, CHROME_V2)], now=T + 71)
    issue.refresh_from_db()
    assert (issue.status, issue.count) == ("ignored", 5)


@pytest.mark.django_db
def test_csp_event_becomes_a_csp_issue():
    report = {"effective-directive": "img-src", "blocked-uri": "https://tracker.test/p.gif"}
    res = events_process_batch(payloads=[ev(T, kind="csp", name="csp", error=report)], now=T + 1)
    issue = Issue.objects.get()
    assert res.new_issues == [issue.pk]
    assert (issue.kind, issue.type) == ("csp", "CSP img-src")
    assert "https://tracker.test" in issue.message


def test_system_sqlite_has_the_fts5_trigram_tokenizer():
    assert sqlite3.sqlite_version_info >= (3, 34, 0)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
    db.execute("INSERT INTO t VALUES ('Cannot read properties of undefined')")
    assert db.execute("SELECT count(*) FROM t WHERE t MATCH '\"perties of und\"'").fetchone() == (
        1,
    )


@pytest.mark.django_db
def test_fts_finds_an_issue_by_a_fragment_of_its_message():
    events_process_batch(
        payloads=[
            _err(T, CHROME_V1),
            ev(T + 1, kind="error", name="error", error={"message": "Uncaught RangeError: "
               "Maximum call stack size exceeded in quantumFlux"}),
        ],
        now=T + 2,
    )  # fmt: skip
    [hit] = issue_search(q="perties of undef")
    assert hit.type == "TypeError"
    [hit] = issue_search(q="QUANTUMFL")  # case-insensitive, mid-word
    assert hit.type == "RangeError"
    assert issue_search(q="renderPost")[0].pk == Issue.objects.get(type="TypeError").pk  # culprit
    assert issue_search(q="nothing like this") == []
    assert issue_search(q='" OR 1') == []  # operators are taken literally


def _boom(n: int) -> None:
    raise KeyError(f"missing post {n}")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_error_capture_groups_hearths_own_exceptions():
    ids = []
    for n in (1, 2):
        try:
            _boom(n)
        except KeyError as exc:
            ids.append(error_capture(exc=exc, where="GET /blog/x"))
    assert ids[0] is not None and ids[0] == ids[1]
    issue = Issue.objects.get(pk=ids[0])
    assert (issue.kind, issue.type, issue.count, issue.site_id) == ("server", "KeyError", 2, 1)
    assert "_boom" in issue.culprit
    assert "missing post 2" in IssueEvent.objects.filter(issue=issue).latest("ts").message


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_logged_exception_inside_a_transaction_is_recorded_after_commit():
    log = logging.getLogger("web.blog.views")
    with transaction.atomic():
        try:
            _boom(3)
        except KeyError:
            log.exception("view failed")
        assert not Issue.objects.exists()  # not inside the transaction that may roll back
    issue = Issue.objects.get(kind="server", type="KeyError")
    assert issue.culprit.startswith("_boom")
    assert "web.blog.views" in IssueEvent.objects.get(issue=issue).extra["where"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_logged_exception_in_a_rolled_back_transaction_is_not_recorded_twice():
    log = logging.getLogger("web.blog.views")
    with pytest.raises(KeyError), transaction.atomic():
        try:
            _boom(4)
        except KeyError:
            log.exception("inside")
            raise
    assert not Issue.objects.exists()  # went with the rollback ...
    try:
        _boom(4)
    except KeyError:
        log.exception("outside")  # ... and is recorded where it is logged outside
    assert Issue.objects.get(kind="server").count == 1
    assert connection.in_atomic_block is False


def _word(n: int) -> str:
    """Distinct letters-only words: numbers in messages are normalised away by grouping."""
    return "".join(chr(97 + int(d)) for d in str(n))


def _distinct_err(ts: float, n: int) -> dict:
    return ev(ts, kind="error", name="error", error={"message": f"Error: flood {_word(n)}"})


@pytest.mark.django_db
def test_new_issues_per_site_and_hour_are_capped_and_the_overflow_is_folded_and_counted():
    cap = 50  # web.analytics.issues.NEW_ISSUES_PER_HOUR, literal so old code fails on counts
    events_process_batch(payloads=[_err(T - 3600, CHROME_V1)], now=T - 3599)  # an older issue
    old = Issue.objects.get()
    flood = [_distinct_err(T + i * 0.1, i) for i in range(cap + 30)]
    res = events_process_batch(payloads=flood[: cap + 10], now=T + 60)
    # Redelivery of a stored batch changes nothing; the rest of the flood comes later.
    events_process_batch(payloads=flood[: cap + 10], now=T + 61)
    res2 = events_process_batch(
        payloads=[*flood[cap + 10 :], _distinct_err(T + 70, 0), _err(T + 71, CHROME_V2)],
        now=T + 80,
    )
    assert Issue.objects.count() == 1 + cap + 1  # the old issue, the cap, one fold issue
    fold = Issue.objects.get(fingerprint__startswith="fold:")
    assert len(res.new_issues) == cap + 1 and fold.pk in res.new_issues  # the fold alerts once
    assert res2.new_issues == []
    # 30 distinct fingerprints over the cap, one occurrence each; folded occurrences keep
    # their own message and say what they would have been.
    assert fold.count == 30
    assert fold.message.startswith("30 more new errors this hour were folded here (cap 50/hour)")
    one = IssueEvent.objects.filter(issue=fold).order_by("ts").first()
    assert one.message == f"Error: flood {_word(cap)}"
    assert one.extra["folded_type"] == "Error"
    # A known issue keeps getting its occurrences: the first flood error and the old issue.
    assert Issue.objects.get(message__endswith=f"flood {_word(0)}").count == 2
    old.refresh_from_db()
    assert old.count == 2
    # A folded error that repeats the same hour is counted again, but not as another error.
    events_process_batch(payloads=[_distinct_err(T + 90, cap + 1)], now=T + 91)
    fold.refresh_from_db()
    assert fold.count == 31
    assert fold.message.startswith("30 more new errors")
    # The next hour has its own cap: the first error over it in this hour becomes an issue.
    res3 = events_process_batch(payloads=[_distinct_err(T + 3600, cap + 2)], now=T + 3601)
    assert len(res3.new_issues) == 1
    assert not Issue.objects.get(pk=res3.new_issues[0]).fingerprint.startswith("fold:")
