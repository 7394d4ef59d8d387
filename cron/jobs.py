"""The declared job table (GoatCounter-style): name, function, schedule, jitter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], object]
    every: timedelta
    jitter_s: int = 60


JOBS: list[Job] = []
