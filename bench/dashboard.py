"""Dashboard benchmark: server time of every panel request, unfiltered and filtered, at 1M
and 10M seeded raw events, for the new query path and the old one side by side.

Datasets: ``var/bench/dashboard-<size>/`` is seeded once (``web.dashboard.seed.traffic_seed``
with ``raw=True``: visits and raw events as the worker writes them, the rollups they
produce, over the 365 UTC days ending on the seeding day; then compacted like the hourly
cron job, one funnel ``/`` -> ``/pricing`` -> ``event:signup`` defined) and reused while its
marker (SEED_VERSION, size, days) matches. Seeding and sealing always run the new code;
sealing (``history_seal_all``) copies the raw events into the Parquet history and runs
only when the history code exists and is behind.

The old code (``OLD_COMMIT``) runs from a ``git worktree`` (``var/bench/old-src``, created
when missing) against a copy of the dataset's SQLite files (``dashboard-<size>-old/``; it
reads only its own tables). Per dataset the old measurement runs first, then the new one,
each in its own child process, with ``os.getloadavg()`` recorded beside each.

Measurement (child process, Django test client, logged-in staff user): for each range (30
days, 365 days) and each filter of FILTERS, every panel of PANELS is requested once per
round ("a view"); round 0 warms up and is not counted. New: ROUNDS_NEW measured rounds;
old: one round, no warm-up (its filtered path takes seconds per panel at 10M). Per (range,
filter): p50/p95/max over the panel requests, the worst panel's p95, the view time (sum of
one round's panel requests; median over rounds) and the funnels panel's p95.

Keys (``<r>`` = 30d | 1y, ``<s>`` = 1m | 10m; old figures carry the prefix ``old_``):
- unfiltered, as before: ``p50_ms_<r>_<s>``, ``p95_ms_<r>_<s>``, ``max_ms_<r>_<s>``;
- ``p95_ms_<r>_<s>_filtered``: worst panel p95 over the filtered views (targets at 10M:
  30d <= 150, 1y <= 500), ``view_ms_<r>_<s>_filtered``: the slowest filtered view (30d at
  10M <= 1500), ``p95_ms_funnel_<r>_<s>`` (30d at 10M <= 300);
- per filter: ``p95_ms_<r>_<s>_f_<filter>``, ``view_ms_<r>_<s>_f_<filter>``,
  ``visits_<r>_<s>_f_<filter>`` (top stats visits: old and new should agree);
- ``freshness_s``: an event accepted through the worker path (``events_process_batch``)
  until a filtered panel shows it, with a seal (``history_seal``) every SEAL_INTERVAL_S
  and the event arriving just after a seal (the worst phase); ``freshness_min_s`` the
  same from a seal that runs right after the insert; ``seal_interval_s``;
- ``bytes_per_event_history`` (bytes of the catalogued segments and their visit companion
  files / sealed events, 10M; ``bytes_per_event_segments_<s>`` without the companions),
  ``data_db_mb_<s>``, ``history_mb_<s>``, ``seed_s_<s>``/``seed_events_per_s_<s>`` and
  ``seal_s_<s>`` when done on this run, ``events_<s>``, ``rollup_rows_<s>``,
  ``load1_<s>``/``old_load1_<s>`` (1-minute load average when the child started);
- ``errors_<s>``, ``failed_<r>_<s>_f_<filter>``: failed panel requests; a view with any is
  left out of the headline figures and flagged in the table.

A dataset is resealed from scratch when the history code that wrote it (``schema.VERSION``
and a digest of ``history/schema.py`` and ``services.py``, kept in ``sealed.json``)
differs from the current one.

Run: ``make bench BENCH=dashboard`` (or ``python -m bench dashboard``). ``BENCH_SIZES=1m``
limits the datasets; ``BENCH_OLD=0`` skips the old code.
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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "var" / "bench"
OLD_COMMIT = "55e387c"  # the dashboard before the columnar history
OLD_SRC = BENCH_DIR / "old-src"
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
DAYS = 365
ROUNDS_NEW = 3  # measured rounds per view (after one warm-up round)
SEED_VERSION = 3  # bump when the generator changes, to reseed cached datasets (3: returners)
SEAL_INTERVAL_S = 15.0  # the cron job's period (history_tick)
FUNNEL = ("Signup", ["/", "/pricing", "event:signup"])
FILTERS: dict[str, dict[str, str]] = {
    "none": {},
    "page": {"page": "/pricing"},
    "country": {"country": "DE"},
    "source": {"source": "Google"},
    "utm_campaign": {"utm_campaign": "launch"},
    "event": {"event": "signup"},
    "goal": {"goal": "Signup"},
    "country_page": {"country": "DE", "page": "/pricing"},
}
TARGETS = [  # metric, target (<=), what
    ("p95_ms_30d_10m_filtered", 150, "worst filtered panel p95, 30 days"),
    ("p95_ms_1y_10m_filtered", 500, "worst filtered panel p95, 1 year"),
    ("view_ms_30d_10m_filtered", 1500, "slowest filtered view, 30 days"),
    ("p95_ms_funnel_30d_10m", 300, "funnels panel p95, 30 days"),
    ("p95_ms_30d_10m", 100, "unfiltered panel p95, 30 days"),
    ("p95_ms_1y_10m", 300, "unfiltered panel p95, 1 year"),
    ("freshness_s", None, "accept -> visible in a filtered panel (seal every 15 s)"),
    ("freshness_min_s", None, "the same, a seal right after the insert"),
    ("bytes_per_event_history", None, "Parquet bytes per event"),
    ("data_db_mb_10m", None, "data.db at 10M events"),
]


def _log(msg: str) -> None:
    print(f"[dashboard bench] {msg}", file=sys.stderr, flush=True)


def _pct(s: list[float], p: float) -> float:
    s = sorted(s)
    return round(s[min(len(s) - 1, int(len(s) * p))], 2)


def _setup_django() -> None:
    import django

    django.setup()


def _db_mb(data: Path) -> float:
    return round(sum(p.stat().st_size for p in data.glob("data.db*")) / 1e6, 1)


# --- child: seed (new code) ---------------------------------------------------------------


def _child_seed(events: int) -> dict[str, float]:
    """Seed the dataset if its marker differs, then seal its history if the history code
    exists and is behind. Returns what it did and the dataset's sizes."""
    _setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from web.dashboard.models import Funnel
    from web.dashboard.seed import traffic_seed
    from web.dashboard.services import rollups_compact

    data = Path(os.environ["HEARTH_DATA_DIR"])
    out: dict[str, float] = {}
    marker = data / "seeded.json"
    want = {"events": events, "days": DAYS, "version": SEED_VERSION}
    fresh = not marker.exists() or json.loads(marker.read_text()).get("params") != want
    if fresh:  # a fresh data dir: rows of an older seed would add to the new ones
        for p in data.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
            elif p.name != "secret_key":
                p.unlink()
    # Migrations in any case: the new code may have added tables since seeding.
    for db in ("default", "ttl"):
        call_command("migrate", database=db, verbosity=0)
    if fresh:
        started = time.monotonic()
        counts = traffic_seed(site_id=1, events=events, days=DAYS, raw=True, seed=3, progress=True)
        out["seed_raw_s"] = round(time.monotonic() - started, 1)
        out["seed_events_per_s"] = round(counts["events"] / out["seed_raw_s"])
        rollups_compact(site_id=1, rebuild=True)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        out["seed_s"] = round(time.monotonic() - started, 1)
        _log(f"seeded {counts} in {out['seed_s']} s")
        get_user_model().objects.get_or_create(
            username="bench", defaults={"is_staff": True, "is_superuser": True}
        )
        Funnel.objects.update_or_create(site_id=1, name=FUNNEL[0], defaults={"steps": FUNNEL[1]})
        with connection.cursor() as cur:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        marker.write_text(
            json.dumps({"params": want, "day": time.strftime("%Y-%m-%d"), "counts": counts})
        )
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM analytics_rollup")
        out["rollup_rows"] = cur.fetchone()[0]
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM analytics_event")
        max_seq = cur.fetchone()[0]
    out["events"] = json.loads(marker.read_text())["counts"]["events"]
    out["data_db_mb"] = _db_mb(data)
    try:
        from web.analytics.history import services as hs
    except ImportError as exc:
        _log(f"no history code yet ({exc}): nothing sealed, new figures use the old path")
        return out
    if not hasattr(hs, "history_seal_all"):
        _log("web.analytics.history.services has no history_seal_all yet: nothing sealed")
        return out
    stamp = _history_stamp(hs)
    sealed = data / "sealed.json"
    was = json.loads(sealed.read_text()).get("stamp") if sealed.exists() else None
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM analytics_segment")
        segments = cur.fetchone()[0]
    if segments and was != stamp:
        _log("the history code changed since this dataset was sealed: resealing all of it")
        _history_reset()
    sealed.unlink(missing_ok=True)
    with connection.cursor() as cur:
        cur.execute("SELECT sealed_seq FROM analytics_historystate WHERE id = 1")
        row = cur.fetchone()
    if row is None or row[0] < max_seq:
        started = time.monotonic()
        summary = hs.history_seal_all(progress=True)
        out["seal_s"] = round(time.monotonic() - started, 1)
        out["seal_events_per_s"] = round(summary.get("events", 0) / max(out["seal_s"], 0.1))
        _log(f"sealed {summary} in {out['seal_s']} s")
    if hasattr(hs, "history_ensure_visits"):  # what the cron tick does after an upgrade
        hs.history_ensure_visits()
    sealed.write_text(json.dumps({"stamp": stamp}))
    out.update(_history_size())
    return out


def _history_stamp(hs: Any) -> str:
    """The history's schema version and a digest of the code that writes segments: sealed
    data from other code is resealed (work-in-progress changes need not bump VERSION)."""
    import hashlib

    from web.analytics.history import schema

    here = Path(hs.__file__).parent
    digest = hashlib.sha256(b"".join((here / n).read_bytes() for n in ("schema.py", "services.py")))
    return f"{getattr(schema, 'VERSION', 0)}:{digest.hexdigest()[:16]}"


def _history_reset() -> None:
    """Forget every segment of this bench dataset (catalog, watermark, files)."""
    from django.db import connection, transaction

    from web.analytics.history import files

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM analytics_segment")
        cur.execute("UPDATE analytics_historystate SET sealed_seq = 0, span_s = 0")
    shutil.rmtree(files.root())


def _history_size() -> dict[str, float]:
    """Bytes of the catalogued segments and their companion files (``*.visits.parquet``)
    per sealed event."""
    from django.db import connection

    from web.analytics.history import files

    with connection.cursor() as cur:
        cur.execute("SELECT name, rows FROM analytics_segment")
        segs = cur.fetchall()
    rows = sum(r for _, r in segs)
    if not rows:
        return {}
    root = files.root()
    seg_bytes = sum((root / n).stat().st_size for n, _ in segs)
    extra = sum(
        p.stat().st_size
        for n, _ in segs
        for p in [root / (n.removesuffix(".parquet") + ".visits.parquet")]
        if p.exists()
    )
    return {
        "history_mb": round((seg_bytes + extra) / 1e6, 1),
        "bytes_per_event_history": round((seg_bytes + extra) / rows, 2),
        "bytes_per_event_segments": round(seg_bytes / rows, 2),
        "sealed_events": rows,
    }


# --- child: measure (old or new code: only Django, the test client and PANELS) -------------


def _child_measure(plan: dict[str, Any]) -> dict[str, Any]:
    """Request every panel of each (range, filter) view ``plan["rounds"]`` times (after
    ``plan["warmup"]`` unmeasured rounds). Returns raw figures per view."""
    _setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from web.dashboard import selectors as sel
    from web.dashboard.panels import PANELS

    settings.ANALYTICS_LIVE = False  # no NATS here: the worker path must not try to publish
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username="bench"))
    today = time.strftime("%Y-%m-%d", time.gmtime())
    first = time.strftime("%Y-%m-%d", time.gmtime(time.time() - (DAYS - 1) * 86400))
    ranges = {"30d": {"range": "30d"}, "1y": {"range": "custom", "from": first, "to": today}}
    views: dict[str, Any] = {}
    errors: list[str] = []
    load = {"load1_start": os.getloadavg()[0]}
    for label in plan["ranges"]:
        for fname in plan["filters"]:
            params = {**ranges[label], **FILTERS[fname]}
            panel_ms: dict[str, list[float]] = {name: [] for name in PANELS}
            view_ms: list[float] = []
            failed = 0
            for rnd in range(plan["warmup"] + plan["rounds"]):
                total = 0.0
                for name in PANELS:
                    t = time.perf_counter()
                    resp = client.get(f"/dashboard/1/panel/{name}/", params)
                    ms = (time.perf_counter() - t) * 1000
                    if resp.status_code != 200:
                        failed += 1
                        errors.append(f"{label} {fname} {name}: HTTP {resp.status_code}")
                    if rnd >= plan["warmup"]:
                        panel_ms[name].append(ms)
                        total += ms
                if rnd >= plan["warmup"]:
                    view_ms.append(total)
            q = sel.parse_query(1, params)
            try:
                visits = sel.top_stats(q)["visits"]
            except Exception as exc:  # reported, the figure is left out
                errors.append(f"{label} {fname} top_stats: {type(exc).__name__}: {exc}")
                visits = -1
            views[f"{label}:{fname}"] = {
                "panels": panel_ms,
                "views": view_ms,
                "visits": visits,
                "failed": failed,
            }
            worst = max(panel_ms, key=lambda n: max(panel_ms[n]))
            _log(
                f"{plan['tag']} {label} {fname}: view {statistics.median(view_ms):.0f} ms, "
                f"worst {worst} {max(panel_ms[worst]):.0f} ms, visits {visits}"
            )
    load["load1_end"] = os.getloadavg()[0]
    out: dict[str, Any] = {"views": views, "errors": errors, **load}
    if plan.get("freshness"):
        try:
            out.update(_freshness(client))
        except Exception as exc:  # reported, the figure is left out
            errors.append(f"freshness: {type(exc).__name__}: {exc}")
    return out


def _freshness(client: Any) -> dict[str, float]:
    """Accept one pageview through the worker path and poll a filtered panel (pages, page
    filter on its unique path) until it shows. With the history code, a seal runs every
    SEAL_INTERVAL_S as the cron job does, the first one a full interval after the insert
    (the event just missed a seal: the worst phase); then again with a seal right away.
    The panel is polled every 0.2 s in between; ``freshness_seals*`` count the seals run."""
    import uuid

    from web.analytics import services as asvc

    try:
        from web.analytics.history import services as hs
    except ImportError:
        hs = None
    seal = getattr(hs, "history_seal", None)

    def payload(path: str) -> dict[str, Any]:
        return {
            "site": 1, "kind": "pageview", "ts": time.time(), "url": f"https://example.com{path}",
            "ip": "8.8.8.8", "ref": "", "screen": 1440, "lang": "en-US",
            "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36",
        }  # fmt: skip

    # A warm worker, as in production (the first batch loads the UA parser, salts, caches).
    asvc.events_process_batch(
        payloads=[payload("/fresh-warmup")], job_ids=[f"bench-{uuid.uuid4()}"]
    )
    if seal is not None:
        while seal()["events"]:  # start from an up-to-date history
            pass
    out: dict[str, float] = {}
    for key, first_wait in (("freshness_s", SEAL_INTERVAL_S), ("freshness_min_s", 0.0)):
        path = f"/fresh-{uuid.uuid4().hex[:12]}"
        t0 = time.monotonic()
        res = asvc.events_process_batch(payloads=[payload(path)], job_ids=[f"bench-{uuid.uuid4()}"])
        if res.stored != 1:
            raise RuntimeError(f"the worker did not store the event: {res}")
        next_seal, seals = t0 + first_wait, 0
        while True:  # poll the panel; seal on the cron's schedule
            if seal is not None and time.monotonic() >= next_seal:
                seal()
                seals += 1
                next_seal += SEAL_INTERVAL_S
            resp = client.get("/dashboard/1/panel/pages/", {"range": "today", "page": path})
            if resp.status_code == 200 and path in resp.content.decode():
                break
            if time.monotonic() - t0 > 10 * SEAL_INTERVAL_S:
                raise RuntimeError(f"{path} not visible after {10 * SEAL_INTERVAL_S:.0f} s")
            time.sleep(max(0.0, min(0.2, next_seal - time.monotonic())) if seal else 0.02)
        out[key] = round(time.monotonic() - t0, 3)
        out[key.replace("freshness", "freshness_seals")] = seals
    out["seal_interval_s"] = SEAL_INTERVAL_S if seal is not None else 0.0
    return out


# --- parent ----------------------------------------------------------------------------------


def _env(data: Path, src: Path) -> dict[str, str]:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data), "HEARTH_MODE": "dev",
           "DJANGO_SETTINGS_MODULE": "web.settings", "HEARTH_LOG_LEVEL": "WARNING",
           "HEARTH_APP_CHECKPOINTS": "true", "PYTHONPATH": str(src)}  # fmt: skip
    env.pop("AWS_CA_BUNDLE", None)
    return env


def _run_child(args: list[str], data: Path, src: Path, timeout: float) -> dict[str, Any]:
    """Run this file's main() in a child with ``src`` as the code tree (cwd and sys.path)."""
    code = f"import runpy; runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=src, env=_env(data, src),
        stdout=subprocess.PIPE, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"dashboard bench child {args[0]} in {src} failed; see stderr")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _old_src() -> Path:
    if not (OLD_SRC / "web").is_dir():
        OLD_SRC.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(OLD_SRC), OLD_COMMIT], cwd=REPO, check=True
        )
    return OLD_SRC


def _old_copy(data: Path) -> Path:
    """A copy of the dataset's SQLite files for the old code (refreshed when reseeded)."""
    old = data.parent / f"{data.name}-old"
    marker = (data / "seeded.json").read_text()
    if (old / "seeded.json").exists() and (old / "seeded.json").read_text() == marker:
        return old
    shutil.rmtree(old, ignore_errors=True)
    old.mkdir(parents=True)
    for name in ("data.db", "ttl.db", "secret_key"):
        src = data / name
        if not src.exists():
            continue
        if name.endswith(".db"):  # a consistent copy, WAL included
            with sqlite3.connect(src) as a, sqlite3.connect(old / name) as b:
                a.backup(b)
        else:
            shutil.copy2(src, old / name)
    (old / "seeded.json").write_text(marker)
    return old


def _summarise(raw: dict[str, Any], size: str, prefix: str) -> dict[str, float]:
    """Flat metrics of one measure child's views."""
    out: dict[str, float] = {}
    by_range: dict[str, dict[str, Any]] = {}
    for key, v in raw["views"].items():
        label, fname = key.split(":")
        by_range.setdefault(label, {})[fname] = v
    for label, views in by_range.items():
        s = f"{label}_{size}"
        filtered_p95, filtered_p50, filtered_view, funnel_p95 = [], [], [], []
        for fname, v in views.items():
            samples = [ms for series in v["panels"].values() for ms in series]
            worst = max(_pct(series, 0.95) for series in v["panels"].values() if series)
            view = round(statistics.median(v["views"]), 1)
            out[f"{prefix}p95_ms_{s}_f_{fname}"] = worst
            out[f"{prefix}view_ms_{s}_f_{fname}"] = view
            out[f"{prefix}visits_{s}_f_{fname}"] = v["visits"]
            if v.get("failed"):  # fast error pages are no figures: left out of the headline
                out[f"{prefix}failed_{s}_f_{fname}"] = v["failed"]
                continue
            funnel_p95.append(_pct(v["panels"]["funnels"], 0.95))
            if fname == "none":
                out[f"{prefix}p50_ms_{s}"] = round(statistics.median(samples), 2)
                out[f"{prefix}p95_ms_{s}"] = _pct(samples, 0.95)
                out[f"{prefix}max_ms_{s}"] = round(max(samples), 2)
            else:
                filtered_p95.append(worst)
                filtered_p50.append(statistics.median(samples))
                filtered_view.append(view)
        if filtered_p95:
            out[f"{prefix}p95_ms_{s}_filtered"] = max(filtered_p95)
            out[f"{prefix}p50_ms_{s}_filtered"] = round(max(filtered_p50), 2)
            out[f"{prefix}view_ms_{s}_filtered"] = max(filtered_view)
        if funnel_p95:
            out[f"{prefix}p95_ms_funnel_{s}"] = max(funnel_p95)
    out[f"{prefix}load1_{size}"] = round(raw["load1_start"], 2)
    out[f"{prefix}load1_end_{size}"] = round(raw["load1_end"], 2)
    out[f"{prefix}errors_{size}"] = len(raw["errors"])
    for k in (
        "freshness_s",
        "freshness_min_s",
        "freshness_seals_s",
        "freshness_seals_min_s",
        "seal_interval_s",
    ):
        if k in raw:
            out[f"{prefix}{k}"] = raw[k]
    for err in raw["errors"][:10]:
        _log(f"{prefix or 'new '}{size} error: {err}")
    return out


def _plans(size: str) -> tuple[dict[str, Any], dict[str, Any]]:
    filters = list(FILTERS)
    new = {"tag": f"new {size}", "ranges": ["30d", "1y"], "filters": filters,
           "rounds": ROUNDS_NEW, "warmup": 1, "freshness": size == "10m"}  # fmt: skip
    old = {**new, "tag": f"old {size}", "rounds": 1, "warmup": 0}
    return old, new


def run() -> dict[str, float]:
    """Seed and seal (once), then per dataset measure the old code and the new; print the
    target table and return flat metrics."""
    result: dict[str, float] = {}
    sizes = [s for s in os.environ.get("BENCH_SIZES", ",".join(SIZES)).split(",") if s]
    with_old = os.environ.get("BENCH_OLD", "1") != "0"
    old_src = _old_src() if with_old else None
    for size in sizes:
        data = BENCH_DIR / f"dashboard-{size}"
        data.mkdir(parents=True, exist_ok=True)
        _log(f"{size}: seed/seal check")
        seeded = _run_child(["--seed", str(SIZES[size])], data, REPO, timeout=3600)
        for k, v in seeded.items():
            if k == "bytes_per_event_history" and size == "10m":
                result[k] = v
            result[f"{k}_{size}"] = v
        old_plan, new_plan = _plans(size)
        if old_src is not None:
            old_data = _old_copy(data)
            _log(f"{size}: old code ({OLD_COMMIT}), load {os.getloadavg()[0]:.2f}")
            raw = _run_child(["--measure", json.dumps(old_plan)], old_data, old_src, 3600)
            result.update(_summarise(raw, size, "old_"))
        _log(f"{size}: new code, load {os.getloadavg()[0]:.2f}")
        raw = _run_child(["--measure", json.dumps(new_plan)], data, REPO, timeout=3600)
        result.update(_summarise(raw, size, ""))
    print(_table(result, sizes), flush=True)
    return result


def _table(r: dict[str, float], sizes: list[str]) -> str:
    def fmt(v: float | None) -> str:
        if v is None:
            return "-"
        return f"{v:,.1f}" if abs(v) >= 10 or v == 0 else f"{v:.3g}"

    lines = ["", "target                          target      new      old   new vs target"]
    for key, target, what in TARGETS:
        new, old = r.get(key), r.get(f"old_{key}")
        if target is None:
            verdict = ""
        elif new is None:
            verdict = "n/a"
        else:
            verdict = "met" if new <= target else "MISSED"
            if r.get("errors_10m"):
                verdict += "*"
        lines.append(
            f"{key:<30} {fmt(target):>8} {fmt(new):>8} {fmt(old):>8}   {verdict:<7} {what}"
        )
    for size in sizes:
        for label in ("30d", "1y"):
            s = f"{label}_{size}"
            lines += ["", f"{s}: worst panel p95 / view ms / visits, new vs old"]
            for fname in FILTERS:
                k = f"{s}_f_{fname}"
                cells = [
                    f"{fmt(r.get(p + m + k)):>{w}}"
                    for m, w in (("p95_ms_", 9), ("view_ms_", 9), ("visits_", 10))
                    for p in ("", "old_")
                ]
                failed = [f"{p or 'new '}{r[p + 'failed_' + k]:.0f}" for p in ("", "old_")
                          if r.get(p + "failed_" + k)]  # fmt: skip
                lines.append(
                    f"  {fname:<13} p95 {cells[0]} {cells[1]}   view {cells[2]} {cells[3]}"
                    f"   visits {cells[4]} {cells[5]}"
                    + (f"   FAILED requests: {', '.join(failed)}" if failed else "")
                )
        new, old = r.get("load1_" + size), r.get("old_load1_" + size)
        lines.append(f"load1 {size}: new {fmt(new)}, old {fmt(old)}")
        if r.get("errors_" + size) or r.get("old_errors_" + size):
            lines.append(
                f"* {size}: {r.get('errors_' + size, 0):.0f} new and "
                f"{r.get('old_errors_' + size, 0):.0f} old failed requests (views left out)"
            )
    return "\n".join(lines)


def main() -> None:
    if "--seed" in sys.argv:
        print(json.dumps(_child_seed(int(sys.argv[-1]))))
        return
    if "--measure" in sys.argv:
        print(json.dumps(_child_measure(json.loads(sys.argv[-1]))))
        return
    result = run()
    from bench import write_result

    write_result("dashboard", result)


if __name__ == "__main__":
    main()
