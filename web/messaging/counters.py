"""Worker counters (processed, failed, redelivered, dead-lettered per family), persisted.

The worker is a separate process from the web that serves /metrics, so it writes its
counters to <data_dir>/run/worker-metrics.json (temp file + rename) every couple of
seconds; the web reads that file. Counters continue across worker restarts.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

KEYS = ("processed", "failed", "redelivered", "dead_lettered")


def path(data_dir: Path) -> Path:
    return data_dir / "run" / "worker-metrics.json"


def read(data_dir: Path) -> dict[str, Any]:
    """{"families": {family: {key: n}}, "updated_at": epoch, "pid": n} or {} if none yet."""
    try:
        return json.loads(path(data_dir).read_text())
    except (OSError, ValueError):
        return {}


class Counters:
    def __init__(self, data_dir: Path, families: list[str]) -> None:
        self.data_dir = data_dir
        previous = read(data_dir).get("families", {})
        self.values: dict[str, dict[str, int]] = {
            f: {k: int(previous.get(f, {}).get(k, 0)) for k in KEYS} for f in families
        }
        self.dirty = True

    def inc(self, family: str, key: str, n: int = 1) -> None:
        self.values.setdefault(family, dict.fromkeys(KEYS, 0))[key] += n
        self.dirty = True

    def save(self) -> None:
        target = path(self.data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps({"families": self.values, "updated_at": time.time(), "pid": os.getpid()})
        )
        tmp.replace(target)
        self.dirty = False
