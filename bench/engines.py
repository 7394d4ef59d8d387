"""ADR-15 benchmark: the same filtered analytics queries on three candidate engines, 10M events.

Run: ``.venv/bin/python -m bench.engines`` (``--prepare-only`` stops after building the data).

Dataset: ``var/bench/engines-10m/`` (its own HEARTH_DATA_DIR): ``traffic_seed(site_id=1,
events=10_000_000, days=365, seed=3, raw=True)``, then ``history_seal_all()`` (the Parquet
segments of option 2), then the extra SQLite indexes of option 1, then a chDB MergeTree copy of
the segments (option 3b). Each step runs once; its timing and sizes are kept in
``prepared.json`` beside the data, and the steps are skipped while that file says they are done.

Engines, each in its own long-lived child process (so its RSS is its own), driven by this
process over stdin/stdout, one query at a time, interleaved: for each round and each query,
every engine runs it once before the next query starts.

- ``sqlite``: plain ``sqlite3`` on data.db (read-only) with the purpose-built indexes
  (SQLITE_INDEXES), sessions answering visit panels from their stored facts, events answering
  "has a page/event" filters and the funnel;
- ``duckdb``: the real code path, ``web.dashboard.selectors`` (top_stats, breakdown, funnel)
  with a Query, over the sealed segments;
- ``chdb_parquet``: chDB 4.4 (ClickHouse, separate venv CHDB_PYTHON) over the same Parquet
  files with ``file(..., Parquet)``; ``chdb_mergetree``: the same queries on a MergeTree table
  loaded from them (ORDER BY site_id, started, session_id).

Queries: 30-day and 365-day ranges ending today; for each filter of FILTERS, top stats and the
top-10 breakdown by source; and the funnel ``/`` -> ``/pricing`` -> ``event:signup`` (no
filter). WARMUP rounds then ROUNDS measured rounds. Results are cross-checked (visits, visitors,
pageviews, the source top-10, funnel counts must agree across engines). Output:
``var/bench/engines-10m/result.json`` and a Markdown table on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "var" / "bench" / "engines-10m"
CHDB_PYTHON = Path(os.environ.get("CHDB_PYTHON", "/tmp/chdb-venv/bin/python"))
CHDB_DIR = DATA / "chdb"
EVENTS, DAYS, SEED = 10_000_000, 365, 3
WARMUP, ROUNDS = 1, 5
SQLITE_CACHE_KIB = 65_536  # cache_size of the SQLite reader (64 MiB)
FILTERS: dict[str, dict[str, str]] = {
    "page": {"page": "/pricing"},
    "country": {"country": "DE"},
    "utm_campaign": {"utm_campaign": "launch"},
    "event": {"event": "signup"},
    "country+page": {"country": "DE", "page": "/pricing"},
}
FUNNEL = ["/", "/pricing", "event:signup"]
# Option 1: covering indexes. Visit panels read sessions (their facts are stored on the row);
# "has a pageview of P / a custom event N" reads events by (kind, path|name, ts).
_COVER = "started_at, visitor_id, pageviews, events, duration_ms, source"
SQLITE_INDEXES = {
    "bx_session_time": f"analytics_session (site_id, {_COVER})",
    "bx_session_country": f"analytics_session (site_id, country, {_COVER})",
    "bx_session_campaign": f"analytics_session (site_id, utm_campaign, {_COVER})",
    "bx_event_path": "analytics_event (site_id, kind, path, ts, session_id)",
    "bx_event_name": "analytics_event (site_id, kind, name, ts, session_id)",
}


# --- preparation (this process, Django) ------------------------------------------------------


def _django() -> None:
    os.environ["HEARTH_DATA_DIR"] = str(DATA)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    import django

    django.setup()


def _marker() -> dict[str, Any]:
    p = DATA / "prepared.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _save_marker(m: dict[str, Any]) -> None:
    (DATA / "prepared.json").write_text(json.dumps(m, indent=1))


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _db_bytes() -> int:
    return sum((DATA / n).stat().st_size for n in ("data.db", "data.db-wal") if (DATA / n).exists())


def prepare() -> dict[str, Any]:
    DATA.mkdir(parents=True, exist_ok=True)
    _django()
    from django.core.management import call_command
    from django.db import connections

    m = _marker()
    if not m.get("seeded"):
        call_command("migrate", database="default", verbosity=0)
        call_command("migrate", database="ttl", verbosity=0)
        from web.dashboard.seed import traffic_seed

        t = time.perf_counter()
        counts = traffic_seed(
            site_id=1, events=EVENTS, days=DAYS, seed=SEED, raw=True, progress=True
        )
        m.update(seeded=True, seed_s=round(time.perf_counter() - t, 1), seed_counts=counts,
                 seed_day=datetime.now(UTC).date().isoformat())  # fmt: skip
        with connections["default"].cursor() as cur:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        m["data_db_bytes_seeded"] = _db_bytes()
        _save_marker(m)
    if not m.get("sealed"):
        from web.analytics.history import services as hs

        t = time.perf_counter()
        got = hs.history_seal_all(progress=True)
        m.update(sealed=True, seal_s=round(time.perf_counter() - t, 1), seal_counts=got)
        hs.history_gc(grace_s=0)  # merged-away files: only the catalogued ones remain
        m["parquet_bytes"] = _dir_bytes(DATA / "history")
        with connections["default"].cursor() as cur:
            cur.execute("SELECT count(*), sum(rows) FROM analytics_segment")
            m["segments"], m["sealed_rows"] = cur.fetchone()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        m["data_db_bytes_sealed"] = _db_bytes()
        _save_marker(m)
    if not m.get("indexed"):
        con = sqlite3.connect(DATA / "data.db")
        con.execute("PRAGMA cache_size=-262144")
        times = {}
        for name, spec in SQLITE_INDEXES.items():
            t = time.perf_counter()
            con.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {spec}")
            con.commit()
            times[name] = round(time.perf_counter() - t, 1)
            print(f"index {name}: {times[name]} s", flush=True)
        t = time.perf_counter()
        con.execute("ANALYZE")
        con.commit()
        times["ANALYZE"] = round(time.perf_counter() - t, 1)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = {
            name: con.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?", [name]).fetchone()[0]
            for name in [*SQLITE_INDEXES, "analytics_event", "analytics_session"]
        }
        con.close()
        m.update(indexed=True, index_s=times, index_bytes=sizes, data_db_bytes_indexed=_db_bytes())
        _save_marker(m)
    if not m.get("chdb_loaded") and CHDB_PYTHON.exists():
        files = _segment_files()
        shutil.rmtree(CHDB_DIR, ignore_errors=True)
        out = subprocess.run(
            [str(CHDB_PYTHON), "-m", "bench.engines", "--chdb-load", json.dumps(files)],
            cwd=REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
        m.update(chdb_loaded=True, **json.loads(out.stdout.strip().splitlines()[-1]))
        _save_marker(m)
    if not m.get("write_cost"):
        m["write_cost"] = {
            label: sqlite_write_cost(indexes) for label, indexes in (("base", False),
                                                                      ("indexed", True))
        }  # fmt: skip
        _save_marker(m)
    return m


WRITE_EVENTS = 200_000


def sqlite_write_cost(indexes: bool) -> dict[str, float]:
    """What option 1's extra indexes cost the worker: the newest WRITE_EVENTS events and
    their sessions written to a fresh data.db copy of the two tables (WAL, synchronous
    NORMAL, 2,000 events a transaction, 50-row INSERTs, one narrow session UPDATE per
    event), with and without SQLITE_INDEXES. Returns µs an event and WAL bytes an event."""
    src = sqlite3.connect(f"file:{DATA / 'data.db'}?mode=ro", uri=True)
    ddl = [r[0] for r in src.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name IN ('analytics_event', "
        "'analytics_session') AND sql IS NOT NULL AND name NOT LIKE 'bx_%' ORDER BY type DESC"
    )]  # fmt: skip
    (top,) = src.execute("SELECT max(id) FROM analytics_event").fetchone()
    events = src.execute(
        "SELECT * FROM analytics_event WHERE id > ? ORDER BY id", [top - WRITE_EVENTS]
    ).fetchall()
    ecols = [d[0] for d in src.execute("SELECT * FROM analytics_event LIMIT 0").description]
    sids = sorted({e[ecols.index("session_id")] for e in events})
    sessions = {}
    for i in range(0, len(sids), 500):
        chunk = sids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for r in src.execute(f"SELECT * FROM analytics_session WHERE id IN ({marks})", chunk):
            sessions[r[0]] = r
    scols = [d[0] for d in src.execute("SELECT * FROM analytics_session LIMIT 0").description]
    src.close()
    path = DATA / f"writecost-{'indexed' if indexes else 'base'}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA wal_autocheckpoint=0")  # the WAL file = every byte written to it
    for sql in ddl:
        con.execute(sql)
    if indexes:
        for name, spec in SQLITE_INDEXES.items():
            con.execute(f"CREATE INDEX {name} ON {spec}")
    wal0 = Path(f"{path}-wal").stat().st_size
    kind_i, sid_i, ms_i = ecols.index("kind"), ecols.index("session_id"), ecols.index("engaged_ms")
    seen: set[int] = set()
    t = time.perf_counter()
    for i in range(0, len(events), 2000):
        batch = events[i : i + 2000]
        con.execute("BEGIN IMMEDIATE")
        new = []
        for e in batch:
            sid = e[sid_i]
            if sid not in seen and sid in sessions:
                seen.add(sid)
                new.append(sessions[sid])
        for j in range(0, len(new), 50):
            rows = new[j : j + 50]
            con.execute(
                f"INSERT INTO analytics_session ({', '.join(scols)}) VALUES "
                + ",".join(["(" + ",".join("?" * len(scols)) + ")"] * len(rows)),
                [v for r in rows for v in r],
            )
        for j in range(0, len(batch), 50):
            rows = batch[j : j + 50]
            con.execute(
                f"INSERT INTO analytics_event ({', '.join(ecols)}) VALUES "
                + ",".join(["(" + ",".join("?" * len(ecols)) + ")"] * len(rows)),
                [v for r in rows for v in r],
            )
        con.executemany(
            "UPDATE analytics_session SET last_seen = ?, pageviews = pageviews + ?, "
            "duration_ms = duration_ms + ? WHERE id = ?",
            [(e[1], int(e[kind_i] == "pageview"), e[ms_i], e[sid_i]) for e in batch],
        )
        con.execute("COMMIT")
    took = time.perf_counter() - t
    wal = Path(f"{path}-wal").stat().st_size - wal0
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {"us_per_event": round(took / len(events) * 1e6, 1),
            "wal_bytes_per_event": round(wal / len(events))}  # fmt: skip


def _segment_files() -> list[str]:
    con = sqlite3.connect(f"file:{DATA / 'data.db'}?mode=ro", uri=True)
    names = [r[0] for r in con.execute("SELECT name FROM analytics_segment ORDER BY min_seq")]
    con.close()
    return [str(DATA / "history" / n) for n in names]


# --- the queries ------------------------------------------------------------------------------

SESSION_EPOCH = 1_577_836_800  # web.analytics.steps._SESSION_EPOCH: session id = start s << 32


def _text(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def queries(seed_day: str, span_s: int) -> list[dict[str, Any]]:
    """Every query of the benchmark as a plain dict (what the engine processes receive)."""
    today = datetime.fromisoformat(seed_day).replace(tzinfo=UTC)
    end = today + timedelta(days=1)
    pad = timedelta(seconds=2 * (span_s + 1))  # historyreads.scope: 2 * snapshot span
    out = []
    for rng, days in (("30d", 30), ("365d", 365)):
        start = end - timedelta(days=days)
        base = {"range": rng, "start": _text(start), "end": _text(end),
                "lo": _text(start - pad), "hi": _text(end + pad)}  # fmt: skip
        for fname, flt in FILTERS.items():
            for panel in ("top", "source"):
                out.append({**base, "key": f"{rng} {panel} {fname}", "panel": panel,
                            "filters": flt})  # fmt: skip
        out.append({**base, "key": f"{rng} funnel", "panel": "funnel", "filters": {},
                    "steps": FUNNEL})  # fmt: skip
    return out


def _lit(v: str) -> str:
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _step(step: str) -> tuple[str, str]:
    """(kind, value) of a funnel step with an exact pattern (all this benchmark uses)."""
    if step.startswith("event:"):
        return "custom", step[6:]
    assert "*" not in step
    return "pageview", step


def _top_out(visitors: int, visits: int, pv: int, bounces: int, dur: int) -> list[Any]:
    """selectors._stats' figures, so every engine's answer compares with the real path's."""
    r = lambda a, b: round(a / b, 4) if b else 0.0  # noqa: E731
    return [int(visitors), int(visits), int(pv), r(bounces, visits),
            round(dur / visits / 1000, 1) if visits else 0.0]  # fmt: skip


# --- option 1: SQLite with covering indexes ---------------------------------------------------


class SQLiteEngine:
    def __init__(self) -> None:
        self.con = sqlite3.connect(f"file:{DATA / 'data.db'}?mode=ro", uri=True)
        self.con.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

    def _sessions(self, q: dict[str, Any]) -> tuple[str, list[Any]]:
        where = ["site_id = 1", "started_at >= ?", "started_at < ?"]
        params: list[Any] = [q["start"], q["end"]]
        for dim, value in q["filters"].items():
            if dim == "page":
                cond, cp = "kind = 'pageview' AND path = ?", [value]
            elif dim == "event":
                cond, cp = "kind = 'custom' AND name = ?", [value]
            else:
                where.append(f"{dim} = ?")
                params.append(value)
                continue
            where.append(
                "id IN (SELECT session_id FROM analytics_event WHERE site_id = 1 AND "
                f"{cond} AND ts >= ? AND ts < ?)"
            )
            params += [*cp, q["lo"], q["hi"]]
        return " AND ".join(where), params

    def run(self, q: dict[str, Any]) -> Any:
        vkey = "count(DISTINCT substr(started_at, 1, 10) || visitor_id)"
        bounce = "sum(pageviews < 2 AND events = 0)"
        if q["panel"] == "top":
            where, params = self._sessions(q)
            row = self.con.execute(
                f"SELECT {vkey}, count(*), coalesce(sum(pageviews), 0), coalesce({bounce}, 0), "
                f"coalesce(sum(duration_ms), 0) FROM analytics_session WHERE {where}",
                params,
            ).fetchone()
            return _top_out(*row)
        if q["panel"] == "source":
            where, params = self._sessions(q)
            rows = self.con.execute(
                f"SELECT source, {vkey} AS visitors, count(*) AS visits, sum(pageviews) "
                f"FROM analytics_session WHERE {where} GROUP BY source HAVING source != '' "
                "ORDER BY visitors DESC, source LIMIT 10",
                params,
            ).fetchall()
            return [list(r) for r in rows]
        return self._funnel(q)

    def _funnel(self, q: dict[str, Any]) -> list[int]:
        def sid(t: str) -> int:
            ts = datetime.fromisoformat(t).replace(tzinfo=UTC).timestamp()
            return (int(ts) - SESSION_EPOCH) << 32

        parts, params = [], []
        for i, step in enumerate(q["steps"]):
            kind, value = _step(step)
            col = "name" if kind == "custom" else "path"
            # Sessions started in [start, end): their ids (start second << 32) are in range.
            parts.append(
                f"SELECT session_id AS sid, ts || printf('%020d', id) AS o, {i} AS step "
                f"FROM analytics_event WHERE site_id = 1 AND kind = ? AND {col} = ? "
                "AND ts >= ? AND ts < ? AND session_id >= ? AND session_id < ?"
            )
            params += [kind, value, q["lo"], q["hi"], sid(q["start"]), sid(q["end"])]
        ctes = [
            f"m AS MATERIALIZED ({' UNION ALL '.join(parts)})",
            "s0 AS MATERIALIZED (SELECT sid, min(o) AS o FROM m WHERE step = 0 GROUP BY sid)",
        ]
        for i in range(1, len(q["steps"])):
            ctes.append(
                f"s{i} AS MATERIALIZED (SELECT m.sid, min(m.o) AS o FROM m JOIN s{i - 1} p "
                f"ON m.sid = p.sid WHERE m.step = {i} AND m.o > p.o GROUP BY m.sid)"
            )
        counts = ", ".join(f"(SELECT count(*) FROM s{i})" for i in range(len(q["steps"])))
        row = self.con.execute(f"WITH {', '.join(ctes)} SELECT {counts}", params).fetchone()
        return [int(v) for v in row]


# --- option 2: the real code path (DuckDB over the Parquet segments) --------------------------


class DuckDBEngine:
    def __init__(self) -> None:
        _django()
        from web.dashboard import selectors

        self.sel = selectors

    def run(self, q: dict[str, Any]) -> Any:
        from web.dashboard.querying import Query

        def aware(t: str) -> datetime:
            return datetime.fromisoformat(t).replace(tzinfo=UTC)

        query = Query(site_id=1, start=aware(q["start"]), end=aware(q["end"]), range="custom",
                      filters=dict(q["filters"]))  # fmt: skip
        if q["panel"] == "top":
            s = self.sel.top_stats(query)
            return [s["visitors"], s["visits"], s["pageviews"], s["bounce_rate"],
                    s["visit_duration_s"]]  # fmt: skip
        if q["panel"] == "source":
            rows = self.sel.breakdown(query, "source", limit=10)
            return [[r["value"], r["visitors"], r["visits"], r["pageviews"]] for r in rows]
        return [s["visits"] for s in self.sel.funnel(query, q["steps"])]


# --- option 3: chDB (embedded ClickHouse), over the Parquet files or a MergeTree copy ----------

_CH_COLS = ("site_id, ts, seq, kind, name, path, visitor_id, session_id, started, entry, "
            "source, country, utm_campaign, engaged_ms")  # fmt: skip


def chdb_load(files: list[str]) -> dict[str, Any]:
    """(chDB venv) Load the segments into a MergeTree table under CHDB_DIR; time and size."""
    from chdb import session

    s = session.Session(str(CHDB_DIR))
    s.query("CREATE DATABASE IF NOT EXISTS bench")
    s.query(
        "CREATE TABLE bench.ev (site_id Int32, ts DateTime64(6, 'UTC'), seq Int64, "
        "kind LowCardinality(String), name LowCardinality(String), path String, "
        "visitor_id Int64, session_id Int64, started DateTime64(6, 'UTC'), entry String, "
        "source LowCardinality(String), country LowCardinality(String), "
        "utm_campaign LowCardinality(String), engaged_ms Int32) ENGINE = MergeTree "
        "PARTITION BY toYYYYMM(ts) ORDER BY (site_id, ts, seq)"
    )
    t = time.perf_counter()
    src = _ch_files(files)
    s.query(f"INSERT INTO bench.ev SELECT {_CH_COLS} FROM {src} SETTINGS max_threads=2")
    s.query("OPTIMIZE TABLE bench.ev FINAL")
    load_s = time.perf_counter() - t
    rows = int(s.query("SELECT count() FROM bench.ev", "CSV").bytes().strip())
    size = int(s.query(
        "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND active",
        "CSV").bytes().strip())  # fmt: skip
    s.close()
    return {"chdb_load_s": round(load_s, 1), "chdb_rows": rows, "chdb_mergetree_bytes": size,
            "chdb_dir_bytes": _dir_bytes(CHDB_DIR)}  # fmt: skip


def _ch_files(files: list[str]) -> str:
    if not files:
        raise ValueError("no segment files")
    root = os.path.dirname(files[0])
    names = ",".join(os.path.basename(f) for f in files)
    return f"file('{root}/{{{names}}}', Parquet)"


class CHDBEngine:
    """Runs in the chDB venv. ``mergetree``: the loaded table; else the Parquet files."""

    def __init__(self, mergetree: bool) -> None:
        from chdb import session

        # One process per data path (a directory lock): the Parquet engine gets its own dir.
        path = CHDB_DIR if mergetree else CHDB_DIR.with_name("chdb-parquet-session")
        self.s = session.Session(str(path))
        self.mergetree = mergetree

    def _q(self, sql: str) -> list[list[Any]]:
        res = self.s.query(sql + " SETTINGS max_threads = 2", "JSONCompact")
        return json.loads(res.bytes())["data"]

    def run(self, q: dict[str, Any]) -> Any:
        src = "bench.ev" if self.mergetree else _ch_files(q["files"])
        lo, hi = _lit(q["lo"]), _lit(q["hi"])
        base = f"site_id = 1 AND ts >= {lo} AND ts < {hi} AND session_id != 0"
        where = [base, f"started >= {_lit(q['start'])}", f"started < {_lit(q['end'])}"]
        for dim, value in q["filters"].items():
            if dim == "page":
                cond = f"kind = 'pageview' AND path = {_lit(value)}"
            elif dim == "event":
                cond = f"kind = 'custom' AND name = {_lit(value)}"
            else:
                where.append(f"{dim} = {_lit(value)}")
                continue
            where.append(f"session_id IN (SELECT session_id FROM {src} WHERE {base} AND {cond})")
        rows = f"SELECT * FROM {src} WHERE {' AND '.join(where)}"
        if q["panel"] == "funnel":
            return self._funnel(rows, q["steps"])
        visits = (
            f"SELECT session_id, any(started) AS started, argMin(visitor_id, seq) AS vid, "
            "countIf(kind = 'pageview') AS pv, countIf(kind = 'custom') AS ce, "
            "sumIf(engaged_ms, kind = 'engagement') AS dur, any(source) AS source "
            f"FROM ({rows}) GROUP BY session_id"
        )
        if q["panel"] == "top":
            (row,) = self._q(
                "SELECT uniqExact(toDate(started), vid), count(), sum(pv), "
                f"countIf(pv < 2 AND ce = 0), sum(dur) FROM ({visits})"
            )
            return _top_out(*(int(v) for v in row))
        out = self._q(
            "SELECT source, uniqExact(toDate(started), vid) AS visitors, count() AS visits, "
            f"sum(pv) FROM ({visits}) WHERE source != '' GROUP BY source "
            "ORDER BY visitors DESC, source LIMIT 10"
        )
        return [[r[0], int(r[1]), int(r[2]), int(r[3])] for r in out]

    def _funnel(self, rows: str, steps: list[str]) -> list[int]:
        conds = []
        for step in steps:
            kind, value = _step(step)
            col = "name" if kind == "custom" else "path"
            conds.append(f"(kind = '{kind}' AND {col} = {_lit(value)})")
        n = len(steps)
        # One pass over a visit's matching events in (ts, seq) order: the level reached.
        level = "acc"
        for i in reversed(range(n)):
            level = f"if(acc = {i}, if(x.{i + 3}, {i + 1}, {i}), {level})"
        flags = ", ".join(conds)
        (row,) = self._q(
            "SELECT " + ", ".join(f"countIf(lvl > {i})" for i in range(n)) + " FROM ("
            f"SELECT arrayFold((acc, x) -> toUInt8({level}), "
            f"arraySort(groupArray((ts, seq, {flags}))), toUInt8(0)) AS lvl "
            f"FROM ({rows}) WHERE {' OR '.join(conds)} GROUP BY session_id)"
        )
        return [int(v) for v in row]


# --- engine processes and the driver ---------------------------------------------------------


def _proc_mem() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) // 1024
    return out


def worker(name: str) -> None:
    """Answer one JSON request a line: {"q": query} -> {"ms", "result"}; {"mem": 1} -> RSS."""
    t = time.perf_counter()
    if name == "sqlite":
        eng: Any = SQLiteEngine()
    elif name == "duckdb":
        eng = DuckDBEngine()
    else:
        eng = CHDBEngine(mergetree=name == "chdb_mergetree")
    out = sys.stdout
    sys.stdout = sys.stderr  # progress bars and prints must not corrupt the protocol
    out.write(json.dumps({"ready_ms": (time.perf_counter() - t) * 1000, **_proc_mem()}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        if "mem" in req:
            out.write(json.dumps(_proc_mem()) + "\n")
        else:
            t = time.perf_counter()
            try:
                res, err = eng.run(req["q"]), None
            except Exception as exc:  # reported, the run goes on
                res, err = None, f"{type(exc).__name__}: {exc}"[:500]
            out.write(json.dumps({"ms": (time.perf_counter() - t) * 1000, "result": res,
                                  "error": err}, default=str) + "\n")  # fmt: skip
        out.flush()


class Proc:
    def __init__(self, name: str) -> None:
        py = CHDB_PYTHON if name.startswith("chdb") else Path(sys.executable)
        self.name = name
        self.p = subprocess.Popen(
            [str(py), "-m", "bench.engines", "--worker", name], cwd=REPO, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr,
        )  # fmt: skip
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"engine {self.name} exited")
        return json.loads(line)

    def ask(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.p.stdin is not None
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.p.stdin is not None
        self.p.stdin.close()
        self.p.wait(timeout=60)


def _files_for(lo: str, hi: str) -> list[str]:
    """The segments whose time range meets [lo, hi) (what engine.Snapshot.files reads)."""
    con = sqlite3.connect(f"file:{DATA / 'data.db'}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT name FROM analytics_segment WHERE rows > 0 AND min_ts < ? AND max_ts >= ? "
        "ORDER BY min_seq",
        [hi, lo],
    ).fetchall()
    con.close()
    return [str(DATA / "history" / r[0]) for r in rows]


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def measure(m: dict[str, Any], engines: list[str]) -> dict[str, Any]:
    con = sqlite3.connect(f"file:{DATA / 'data.db'}?mode=ro", uri=True)
    (span_s,) = con.execute("SELECT span_s FROM analytics_historystate WHERE id = 1").fetchone()
    # The catalogued segments (merged-away files may still lie in the directory).
    (pq,) = con.execute("SELECT sum(bytes) FROM analytics_segment").fetchone()
    m["parquet_bytes_catalog"] = pq
    con.close()
    qs = queries(m["seed_day"], span_s)
    for q in qs:
        q["files"] = _files_for(q["lo"], q["hi"])
    procs = {}
    for name in engines:
        procs[name] = Proc(name)
        print(f"{name}: ready in {procs[name].ready['ready_ms']:.0f} ms, "
              f"RSS {procs[name].ready['VmRSS']} MiB", flush=True)  # fmt: skip
    times: dict[str, dict[str, list[float]]] = {e: {q["key"]: [] for q in qs} for e in engines}
    cold: dict[str, dict[str, float]] = {e: {} for e in engines}
    answers: dict[str, dict[str, Any]] = {e: {} for e in engines}
    errors: dict[str, dict[str, str]] = {e: {} for e in engines}
    loads = []
    for rnd in range(WARMUP + ROUNDS):
        loads.append(os.getloadavg()[0])
        t = time.perf_counter()
        for q in qs:
            for name in engines if rnd % 2 == 0 else reversed(engines):
                got = procs[name].ask({"q": q})
                if got["error"]:
                    errors[name][q["key"]] = got["error"]
                if rnd < WARMUP:
                    cold[name][q["key"]] = got["ms"]
                    answers[name][q["key"]] = got["result"]
                else:
                    times[name][q["key"]].append(got["ms"])
        print(f"round {rnd} ({'warm-up' if rnd < WARMUP else 'measured'}): "
              f"{time.perf_counter() - t:.1f} s, load1 {loads[-1]:.2f}", flush=True)  # fmt: skip
    loads.append(os.getloadavg()[0])
    lock = _chdb_lock_probe() if "chdb_mergetree" in procs else None
    mem = {name: p.ask({"mem": 1}) | {"start_MiB": p.ready["VmRSS"]} for name, p in procs.items()}
    for p in procs.values():
        p.close()
    # Cross-check: every engine must give the real path's (duckdb's) answers.
    ref = "duckdb" if "duckdb" in engines else engines[0]
    mismatches = {
        name: {k: [answers[name][k], answers[ref][k]] for k in answers[ref]
               if answers[name].get(k) != answers[ref][k]}
        for name in engines if name != ref
    }  # fmt: skip
    stats = {
        name: {k: {"p50": round(statistics.median(v), 1), "p95": round(_pct(v, 0.95), 1),
                   "cold": round(cold[name][k], 1)} for k, v in times[name].items() if v}
        for name in engines
    }  # fmt: skip
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"), "rounds": ROUNDS,
            "warmup": WARMUP, "load1_per_round": [round(x, 2) for x in loads],
            "stats": stats, "mem_MiB": mem, "answers": answers[ref], "mismatches": mismatches,
            "errors": errors, "chdb_lock_probe": lock, "prepared": m}  # fmt: skip


def _chdb_lock_probe() -> str:
    """What a second process gets when it opens the chDB data path an engine process holds."""
    code = (
        "from chdb import session\n"
        f"s = session.Session({str(CHDB_DIR)!r})\n"
        "print(s.query('SELECT count() FROM bench.ev', 'CSV').bytes().decode().strip())"
    )
    p = subprocess.run([str(CHDB_PYTHON), "-c", code], capture_output=True, text=True, timeout=120)
    return f"rc={p.returncode} out={p.stdout.strip()[:200]} err={p.stderr.strip()[-300:]}"


def table(res: dict[str, Any]) -> str:
    engines = list(res["stats"])
    keys = list(res["stats"][engines[0]])
    head = "| query | " + " | ".join(f"{e} p50 / p95 ms" for e in engines) + " |"
    lines = [head, "|---|" + "---:|" * len(engines)]
    for k in keys:
        cells = [f"{res['stats'][e][k]['p50']:.0f} / {res['stats'][e][k]['p95']:.0f}"
                 if k in res["stats"][e] else "-" for e in engines]  # fmt: skip
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if "--worker" in argv:
        worker(argv[argv.index("--worker") + 1])
        return 0
    if "--chdb-load" in argv:
        print(json.dumps(chdb_load(json.loads(argv[argv.index("--chdb-load") + 1]))))
        return 0
    m = prepare()
    if "--prepare-only" in argv:
        print(json.dumps(m, indent=1))
        return 0
    engines = os.environ.get("BENCH_ENGINES", "sqlite,duckdb,chdb_parquet,chdb_mergetree")
    res = measure(m, engines.split(","))
    res["git_head"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    (DATA / "result.json").write_text(json.dumps(res, indent=1, default=str))
    print(table(res))
    print(json.dumps({k: res[k] for k in ("load1_per_round", "mem_MiB", "mismatches", "errors")},
                     indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
