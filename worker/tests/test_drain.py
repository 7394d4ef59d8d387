"""SIGTERM: stop fetching, finish in-flight work, ack it, exit 0 within the drain bound."""

from __future__ import annotations

import collections
import signal
import time

from web.core.testing import wait_until
from web.messaging.jobs import enqueue_many
from worker.runtime import FETCH_TIMEOUT_S
from worker.tests.harness import Harness

IN_FLIGHT = 8


def test_sigterm_finishes_inflight_jobs_acks_them_and_fetches_nothing_new(
    queue: Harness,
) -> None:
    worker = queue.start_worker(families="notify", HEARTH_WORKER_DRAIN_S="12")
    enqueue_many(
        [("notify.test_effect", {"n": i, "sleep": 4.0}, f"d-{i}") for i in range(IN_FLIGHT)]
    )
    wait_until(
        lambda: queue.consumers()["jobs-notify"]["num_ack_pending"] == IN_FLIGHT,
        timeout=10,
        message="all jobs in flight",
    )
    assert queue.effects() == []

    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    wait_until(lambda: "draining" in worker.output(), timeout=5, message="drain to start")
    # A pull already outstanding at SIGTERM is honoured (it expires within FETCH_TIMEOUT_S);
    # once no pull waits at the server, jobs published while the worker drains stay in the
    # stream.
    wait_until(
        lambda: queue.consumers()["jobs-notify"]["num_waiting"] == 0,
        timeout=FETCH_TIMEOUT_S + 3,
        message="the outstanding pull to expire",
    )
    enqueue_many([("notify.test_effect", {"n": i}, f"late-{i}") for i in range(5)])
    assert worker.proc.poll() is None, "late jobs must be published while the worker drains"
    assert worker.wait(20) == 0, worker.output()
    assert time.monotonic() - started < 12

    ids = collections.Counter(job_id for job_id, _, _ in queue.effects())
    assert ids == collections.Counter(f"d-{i}" for i in range(IN_FLIGHT))
    consumer = queue.consumers()["jobs-notify"]
    assert consumer["num_ack_pending"] == 0  # the in-flight jobs were acked before exit
    assert consumer["num_pending"] == 5  # the late ones were never fetched
    assert "worker stopped cleanly" in worker.output()


def test_in_progress_heartbeats_keep_a_long_job_from_being_redelivered(queue: Harness) -> None:
    queue.start_worker(families="notify", HEARTH_JOBS_ACK_WAIT_S="1")
    enqueue_many([("notify.test_effect", {"n": 0, "sleep": 3.0}, "long-0")])
    counters = wait_until(
        lambda: (
            queue.worker_counters().get("notify", {}).get("processed")
            and queue.worker_counters()["notify"]
        ),
        timeout=15,
        message="long job processed",
    )
    # Without heartbeats the server would redeliver after 1 s and the worker would fetch
    # the copy while the first run still sleeps.
    assert counters["redelivered"] == 0, counters
    assert counters["processed"] == 1, counters
    assert queue.effects() == [("long-0", "single", 1)]
