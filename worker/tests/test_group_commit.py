"""Batch jobs that arrive while a batch of their type runs are committed together.

Under steady load every fetch returns a few messages; one handler call (one transaction)
per fetch made the analytics worker pay a transaction's fixed cost for a handful of events.
The runtime instead runs one batch of a type at a time and gives the next call everything
that waited (worker/runtime.py, FamilyRunner.run_batches).
"""

from __future__ import annotations

from pathlib import Path

from web.core.testing import wait_until
from web.messaging.jobs import enqueue_many
from worker.tests.harness import Harness

BURSTS, PER_BURST = 10, 20


def test_jobs_waiting_behind_a_running_batch_form_one_batch(queue: Harness, tmp_path: Path) -> None:
    queue.start_worker()
    job = "analytics.test_batch"
    started = tmp_path / "slow-batch-started"
    # Holds the family's batch slot for 6 s (sleeping inside its transaction).
    slow = {"n": -1, "sleep": 6.0, "record_calls": True, "started": str(started)}
    enqueue_many([(job, slow, "slow")])
    wait_until(started.exists, timeout=10, message="the slow batch to run")

    def delivered() -> int:
        return queue.consumers()["jobs-analytics"]["num_ack_pending"]

    for b in range(BURSTS):  # ten separate publishes: at least as many fetches
        enqueue_many(
            [
                (job, {"n": b * PER_BURST + i, "record_calls": True}, f"g-{b}-{i}")
                for i in range(PER_BURST)
            ]
        )
        # The worker has taken this burst in before the next one is published.
        n = 1 + (b + 1) * PER_BURST
        wait_until(lambda n=n: delivered() == n, timeout=5, message=f"burst {b} delivered")

    def effects() -> int:
        return queue.sql("SELECT count(*) FROM test_effects WHERE kind = 'batch'")[0][0]

    wait_until(lambda: effects() == 1 + BURSTS * PER_BURST, timeout=30, message="all jobs done")
    calls = [n for (n,) in queue.sql("SELECT n FROM test_effects WHERE kind = 'call'")]
    assert sum(calls) == 1 + BURSTS * PER_BURST, calls  # every job in exactly one call
    # One call for the slow job, then the 200 that waited behind it: one call (two if a
    # burst landed just as the slow call ended), not one per fetch (ten or more).
    assert len(calls) <= 3, calls
    ids = queue.sql("SELECT job_id, count(*) FROM test_effects WHERE kind = 'batch' GROUP BY 1")
    assert all(n == 1 for _, n in ids) and len(ids) == 1 + BURSTS * PER_BURST
