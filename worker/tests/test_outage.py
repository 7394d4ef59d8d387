"""nats-server stopped for 60 s while producers run: producers keep succeeding through the
outbox; after the restart every job is handled exactly once."""

from __future__ import annotations

import collections
import json
import time

from web.core.testing import wait_until
from worker.tests.harness import Harness

OUTAGE_S = 60.0
RATE = 20  # jobs/s per producer
COUNT = 1300  # 65 s at RATE: producers run before, during and after the outage


def test_nats_down_60s_producers_use_outbox_and_every_job_is_handled_once(
    queue: Harness,
) -> None:
    queue.start_worker(families="notify")
    sync = queue.produce("notify.test_effect", COUNT, prefix="sync", rate=RATE)
    pipelined = queue.produce(
        "notify.test_effect", COUNT, prefix="async", mode="async", batch=10, rate=RATE
    )
    wait_until(lambda: len(queue.effects()) >= 40, timeout=20, message="jobs flowing before outage")

    queue.nats.stop()
    down_at = time.monotonic()
    outbox = lambda: queue.sql("SELECT count(*) FROM messaging_outboxjob", db="ttl")[0][0]  # noqa: E731
    wait_until(lambda: outbox() > 0, timeout=10, message="jobs going to the outbox")
    # Jobs the worker had fetched when the server died may still finish: wait until the
    # number of effects stops moving (the same in two counts a second apart).
    counts: list[int] = []

    def settled() -> int:
        counts.append(len(queue.effects()))
        return counts[-1] if counts[-2:-1] == counts[-1:] else 0

    handled_during_outage = wait_until(
        settled, timeout=15, interval=1.0, message="jobs in flight at the outage to finish"
    )
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))  # the outage's length
    waiting = outbox()
    assert sync.proc.poll() is None and pipelined.proc.poll() is None  # still producing
    # Producers kept succeeding: about RATE jobs/s each went to the outbox.
    assert waiting >= 2 * RATE * (OUTAGE_S - 10), waiting
    assert len(queue.effects()) == handled_during_outage  # nothing moved without NATS

    queue.nats.start()
    for p in (sync, pipelined):
        assert p.wait(60) == 0, p.output()
        summary = json.loads(p.output().strip().splitlines()[-1])
        assert summary["slowest_s"] < 5, summary  # never blocked on the dead server

    wait_until(lambda: len(queue.effects()) >= 2 * COUNT, timeout=60, message="every job handled")
    wait_until(lambda: outbox() == 0, timeout=10, message="outbox drained")
    ids = collections.Counter(job_id for job_id, _, _ in queue.effects())
    expected = {f"{p}-{i}" for p in ("sync", "async") for i in range(COUNT)}
    assert set(ids) == expected
    assert max(ids.values()) == 1
    assert queue.sql("SELECT count(*) FROM messaging_deadletter") == [(0,)]
    c = queue.consumers()["jobs-notify"]
    assert c["num_pending"] == 0
