"""Prometheus counters of the analytics worker (registered once per process)."""

from __future__ import annotations

from prometheus_client import Counter

DROPPED = Counter(
    "hearth_analytics_dropped_total",
    "Events dropped by a worker enrichment step, by step and reason.",
    ["step", "reason"],
)
STORED = Counter("hearth_analytics_stored_total", "Events stored by the worker, by kind.", ["kind"])
DUPLICATES = Counter(
    "hearth_analytics_duplicates_total", "Redelivered events skipped by the dedupe key."
)
ISSUES_NEW = Counter("hearth_analytics_issues_new_total", "New error issues created.")
