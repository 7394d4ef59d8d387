"""kill -9 of the worker mid-batch: every job takes effect exactly once."""

from __future__ import annotations

import collections
import json

from web.core.testing import wait_until
from worker.tests.harness import Harness

BATCH_JOBS = 1200  # three analytics batches (500, 500, 200), one transaction each
SINGLE_JOBS = 24


def test_kill9_mid_batch_every_job_takes_effect_exactly_once(queue: Harness) -> None:
    # Each batch sleeps 2 s inside its transaction, each single job 1 s: a kill lands
    # in the middle of uncommitted work and of committed-but-not-yet-acked work. The worker
    # starts only once the whole backlog is queued, so a slow producer (every publish is
    # fsynced) cannot let it finish everything before the kill; and the kill follows the
    # first committed batch at once (singles queue behind the batches for SQLite's single
    # write lock, so waiting for one of them too could let every batch commit first).
    batch = queue.produce(
        "analytics.test_batch",
        BATCH_JOBS,
        prefix="b",
        mode="async",
        batch=400,
        extra=json.dumps({"sleep": 2.0}),
    )
    single = queue.produce(
        "notify.test_effect",
        SINGLE_JOBS,
        prefix="s",
        mode="async",
        batch=60,
        extra=json.dumps({"sleep": 1.0}),
    )
    assert batch.wait(60) == 0, batch.output()
    assert single.wait(60) == 0, single.output()
    worker = queue.start_worker(HEARTH_JOBS_MAX_DELIVER="6")

    def kinds() -> collections.Counter[str]:
        return collections.Counter(kind for _, kind, _ in queue.effects())

    wait_until(lambda: kinds()["batch"] >= 1, timeout=30, message="first batch committed")
    worker.signal(9)
    worker.wait(10)
    before = kinds()
    assert before["batch"] < BATCH_JOBS and before["single"] < SINGLE_JOBS, before

    queue.start_worker(HEARTH_JOBS_MAX_DELIVER="6")
    wait_until(
        lambda: len(queue.effects()) >= BATCH_JOBS + SINGLE_JOBS,
        timeout=60,
        message="all effects after restart",
    )

    effects = queue.effects()
    ids = collections.Counter(job_id for job_id, _, _ in effects)
    assert len(effects) == BATCH_JOBS + SINGLE_JOBS
    assert set(ids) == {f"b-{i}" for i in range(BATCH_JOBS)} | {
        f"s-{i}" for i in range(SINGLE_JOBS)
    }
    assert max(ids.values()) == 1  # nothing counted twice
    # The kill really interrupted deliveries: some jobs took effect on a redelivery.
    assert any(delivered > 1 for _, _, delivered in effects)

    def settled() -> bool:
        c = queue.consumers()
        return all(
            c[name]["num_pending"] == 0 and c[name]["num_ack_pending"] == 0
            for name in ("jobs-analytics", "jobs-notify")
        )

    wait_until(settled, timeout=10, message="every job acked")
    assert queue.sql("SELECT count(*) FROM messaging_deadletter") == [(0,)]
