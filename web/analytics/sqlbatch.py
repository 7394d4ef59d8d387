"""Multi-row INSERT statements for the pipeline's bulk writes.

``executemany`` runs its statement once per row: SQLite opens a cursor on the table and on
every index, and the sqlite3 module resets and rebinds, for each row, and an AUTOINCREMENT
table rewrites its sqlite_sequence row each time. One INSERT with ROWS_PER_STATEMENT rows in
its VALUES list pays all that once per ROWS_PER_STATEMENT rows. Measured on the raw-event
table (22 columns, 2 indexes, 2,000-row transactions): 6.7 -> 4.8 µs a row, the same for the
session table. Each row is still inserted on its own, in order, so ``ON CONFLICT`` and
``OR IGNORE`` mean exactly what they mean with ``executemany`` (a later row of the same
statement conflicts with an earlier one as it would with the statement before).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

# 50 rows of 26 columns is 1,300 parameters (SQLite allows 32,766); beyond ~50 the gain
# flattens (measured 4.8 µs a row at 50, 4.6 at 100) while the statement text grows.
ROWS_PER_STATEMENT = 50


@functools.cache
def _statement(head: str, ncols: int, nrows: int, tail: str) -> str:
    one = "(" + ",".join("?" * ncols) + ")"
    return f"{head} VALUES {','.join([one] * nrows)} {tail}".rstrip()


def insert_rows(cur, head: str, rows: Sequence[tuple], tail: str = "") -> None:  # type: ignore[no-untyped-def]
    """``cur.executemany(f"{head} VALUES (?,..) {tail}", rows)``, ROWS_PER_STATEMENT rows a
    statement. ``head`` is ``INSERT [OR ...] INTO t (cols)``; ``tail`` an ``ON CONFLICT``
    clause or empty. Every row has the same number of columns."""
    n = len(rows)
    if not n:
        return
    ncols = len(rows[0])
    per = ROWS_PER_STATEMENT
    full = n - n % per
    if full:
        sql = _statement(head, ncols, per, tail)
        flat = itertools.chain.from_iterable
        for i in range(0, full, per):
            cur.execute(sql, tuple(flat(rows[i : i + per])))
    if full < n:
        # The rest one statement a row: a statement per remainder size would churn the
        # connection's prepared-statement cache.
        cur.executemany(_statement(head, ncols, 1, tail), rows[full:])
