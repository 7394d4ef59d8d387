"""Benchmarks: each bench/<name>.py with `run() -> dict[str, float]` is one benchmark.

`python -m bench [name ...]` (or `make bench BENCH=name`) runs them, prints a table and
writes <HEARTH_DATA_DIR or ./var>/bench/<name>.json as a flat object metric -> number.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def results_dir() -> Path:
    data = os.environ.get("HEARTH_DATA_DIR", "").strip()
    return (Path(data).expanduser() if data else REPO_ROOT / "var") / "bench"


def write_result(name: str, metrics: dict[str, float]) -> Path:
    """Write <results_dir>/<name>.json atomically; refuse anything but a flat number map."""
    bad = {
        k: v for k, v in metrics.items() if not isinstance(v, int | float) or isinstance(v, bool)
    }
    if bad:
        raise TypeError(f"bench {name}: metrics must be numbers, got {bad!r}")
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def format_table(name: str, metrics: dict[str, float]) -> str:
    width = max((len(k) for k in metrics), default=6)
    lines = [f"{name}", f"  {'metric':<{width}}  {'value':>14}"]
    for key, value in metrics.items():
        shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
        lines.append(f"  {key:<{width}}  {shown:>14}")
    return "\n".join(lines)
