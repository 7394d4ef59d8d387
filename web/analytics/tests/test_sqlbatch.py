"""insert_rows gives exactly what executemany gives: same rows, same conflict handling."""

from __future__ import annotations

import sqlite3

import pytest

from web.analytics import sqlbatch

SCHEMA = "CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL, n INTEGER NOT NULL)"
HEAD = "INSERT INTO t (k, v, n)"
UPSERT = "ON CONFLICT(k) DO UPDATE SET v = v + excluded.v, n = n + 1"


def _run(rows: list[tuple], *, head: str, tail: str, multi: bool) -> list[tuple]:
    con = sqlite3.connect(":memory:")
    con.execute(SCHEMA)
    con.execute("INSERT INTO t VALUES (3, 100, 0)")  # a row that exists before the batch
    cur = con.cursor()
    if multi:
        sqlbatch.insert_rows(cur, head, rows, tail)
    else:
        cur.executemany(f"{head} VALUES (?,?,?) {tail}", rows)
    return con.execute("SELECT k, v, n FROM t ORDER BY k").fetchall()


@pytest.mark.parametrize("count", [0, 1, 49, 50, 51, 100, 137])
def test_upsert_rows_match_executemany_including_conflicts_inside_one_statement(count):
    # keys repeat every 7 rows, so rows of one 50-row statement conflict with each other
    rows = [(i % 7, i, 0) for i in range(count)]
    got = _run(rows, head=HEAD, tail=UPSERT, multi=True)
    assert got == _run(rows, head=HEAD, tail=UPSERT, multi=False)
    if count >= 50:
        assert sum(n for _, _, n in got) == count - 6  # every repeat of a key was an update


def test_or_ignore_keeps_the_first_row_of_a_key():
    rows = [(i % 60, i, 0) for i in range(173)]
    head = "INSERT OR IGNORE INTO t (k, v, n)"
    got = _run(rows, head=head, tail="", multi=True)
    assert got == _run(rows, head=head, tail="", multi=False)
    assert dict((k, v) for k, v, _ in got)[59] == 59


def test_a_failing_row_fails_the_statement_like_executemany():
    rows = [(i, i, 0) for i in range(60)] + [(61, None, 0)]  # NOT NULL violated
    with pytest.raises(sqlite3.IntegrityError):
        _run(rows, head=HEAD, tail="", multi=True)


def test_full_statements_use_one_prepared_text():
    assert sqlbatch._statement(HEAD, 3, 2, UPSERT) == f"{HEAD} VALUES (?,?,?),(?,?,?) {UPSERT}"
    assert sqlbatch._statement(HEAD, 3, 1, "") == f"{HEAD} VALUES (?,?,?)"
