"""Batch jobs that arrive while a batch of their type runs are committed together.

Under steady load every fetch returns a few messages; one handler call (one transaction)
per fetch made the analytics worker pay a transaction's fixed cost for a handful of events.
The runtime instead runs one batch of a type at a time and gives the next call everything
that waited (worker/runtime.py, FamilyRunner.run_batches).
"""

from __future__ import annotations

import time

from web.messaging.jobs import enqueue_many
from worker.tests.harness import Harness, wait_for

BURSTS, PER_BURST = 10, 20


def test_jobs_waiting_behind_a_running_batch_form_one_batch(queue: Harness) -> None:
    queue.start_worker()
    job = "analytics.test_batch"
    # Holds the family's batch slot for 6 s (sleeping inside its transaction).
    enqueue_many([(job, {"n": -1, "sleep": 6.0, "record_calls": True}, "slow")])
    time.sleep(0.5)  # past the 250 ms batch linger: the slow batch is running
    for b in range(BURSTS):  # ten separate publishes: at least as many fetches
        enqueue_many(
            [
                (job, {"n": b * PER_BURST + i, "record_calls": True}, f"g-{b}-{i}")
                for i in range(PER_BURST)
            ]
        )
        time.sleep(0.1)

    def effects() -> int:
        return queue.sql("SELECT count(*) FROM test_effects WHERE kind = 'batch'")[0][0]

    wait_for(lambda: effects() == 1 + BURSTS * PER_BURST, timeout=30, what="all jobs done")
    calls = [n for (n,) in queue.sql("SELECT n FROM test_effects WHERE kind = 'call'")]
    assert sum(calls) == 1 + BURSTS * PER_BURST, calls  # every job in exactly one call
    # One call for the slow job, then the 200 that waited behind it: one call (two if a
    # burst landed just as the slow call ended), not one per fetch (ten or more).
    assert len(calls) <= 3, calls
    ids = queue.sql("SELECT job_id, count(*) FROM test_effects WHERE kind = 'batch' GROUP BY 1")
    assert all(n == 1 for _, n in ids) and len(ids) == 1 + BURSTS * PER_BURST
