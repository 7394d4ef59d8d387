"""Poison jobs reach the dead-letter store after max_deliver, others keep flowing, replay works;
and a job whose last delivery is never settled (worker killed) is dead-lettered too."""

from __future__ import annotations

import json
from pathlib import Path

from web.core.testing import wait_until
from web.messaging.jobs import enqueue_many
from worker.tests.harness import Harness


def _dead(queue: Harness) -> dict[str, tuple[str, int, str, str]]:
    rows = queue.sql("SELECT job_id, reason, deliveries, error, status FROM messaging_deadletter")
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def test_poison_dead_letters_after_max_deliver_others_flow_and_replay_works(
    queue: Harness, tmp_path: Path
) -> None:
    healed = tmp_path / "healed"
    queue.start_worker()  # max_deliver 3, backoff 0.2 s (harness.FAST)
    enqueue_many(
        [
            ("notify.test_effect", {"n": 0, "poison_unless": str(healed)}, "poison-0"),
            ("notify.test_effect", {"n": 0, "permanent": True}, "perm-0"),
            ("analytics.test_batch", {"n": 0, "poison": True}, "bpoison-0"),
            *[("notify.test_effect", {"n": i}, f"ok-{i}") for i in range(40)],
            *[("analytics.test_batch", {"n": i}, f"batch-{i}") for i in range(100)],
            *[("notify.test_once", {"n": i}, f"once-{i}") for i in range(10)],
        ]
    )

    wait_until(
        lambda: len(queue.effects()) == 150 and len(_dead(queue)) == 3,
        timeout=30,
        message="good jobs done and poison dead-lettered",
    )
    dead = _dead(queue)
    assert dead["poison-0"][:2] == ("max_deliveries", 3)
    assert "RuntimeError: poison job 0" in dead["poison-0"][2]
    assert dead["perm-0"][:2] == ("permanent", 1)
    assert "told to fail permanently" in dead["perm-0"][2]
    assert dead["bpoison-0"][:2] == ("max_deliveries", 3)
    assert sorted(j for j, _, _ in queue.effects() if j.startswith("poison")) == []
    # A handler's unexpected exception is also an issue of Hearth's own (error tracking).
    issues = queue.sql("SELECT kind, type, message, count FROM analytics_issue")
    assert [i for i in issues if i[:3] == ("server", "RuntimeError", "poison job 0")], issues
    assert not [i for i in issues if "told to fail permanently" in i[2]]  # Permanent is expected

    listed = json.loads(queue.manage("queue", "list", "--json").stdout)
    assert {d["job_id"] for d in listed} == {"poison-0", "perm-0", "bpoison-0"}
    poison_id = next(d["id"] for d in listed if d["job_id"] == "poison-0")
    shown = json.loads(queue.manage("queue", "show", str(poison_id), "--json").stdout)
    assert json.loads(shown["payload"]) == {"n": 0, "poison_unless": str(healed)}
    assert shown["subject"] == "jobs.notify.test_effect"

    healed.touch()  # the bug is fixed; replay the job
    out = queue.manage("queue", "replay", str(poison_id)).stdout
    assert "1 replayed" in out
    wait_until(
        lambda: any(j == "poison-0" for j, _, _ in queue.effects()),
        timeout=15,
        message="replayed job to take effect",
    )
    assert _dead(queue)["poison-0"][3] == "replayed"
    assert queue.manage("queue", "replay", "99999", check=False).returncode != 0

    def flushed() -> bool:
        # Counters reach the file every 2 s: wait until the replayed job's ack is in it too.
        notify = queue.worker_counters().get("notify", {})
        return notify.get("dead_lettered") == 2 and notify.get("processed", 0) >= 51

    wait_until(flushed, timeout=10, message="worker counters flushed")
    s = json.loads(queue.manage("queue", "stats", "--json").stdout)
    assert s["families"]["notify"]["dead_lettered"] == 2
    assert s["families"]["analytics"]["dead_lettered"] == 1
    assert s["families"]["notify"]["processed"] >= 51
    assert s["families"]["notify"]["lag"] == 0
    assert s["dead_letters"] == 2 and s["outbox"] == 0

    assert "1 purged" in queue.manage("queue", "purge", "--replayed").stdout
    assert set(_dead(queue)) == {"perm-0", "bpoison-0"}


def test_unsettled_last_delivery_is_dead_lettered_from_the_advisory(queue: Harness) -> None:
    worker = queue.start_worker(families="notify", HEARTH_JOBS_MAX_DELIVER="1")
    enqueue_many([("notify.test_effect", {"n": 0, "sleep": 30}, "hang-0")])
    wait_until(
        lambda: queue.consumers()["jobs-notify"]["num_ack_pending"] == 1,
        timeout=10,
        message="job in flight",
    )
    worker.signal(9)  # dies during its only delivery: nobody settles it
    worker.wait(10)
    queue.start_worker(families="notify", HEARTH_JOBS_MAX_DELIVER="1")
    dead = wait_until(
        lambda: _dead(queue).get("hang-0"), timeout=20, message="advisory dead letter"
    )
    assert dead[:2] == ("max_deliveries", 1)
    assert "never settled" in dead[2]
    shown = queue.sql("SELECT data, subject FROM messaging_deadletter WHERE job_id='hang-0'")
    assert json.loads(shown[0][0]) == {"n": 0, "sleep": 30}
    assert shown[0][1] == "jobs.notify.test_effect"
    assert queue.effects() == []
