"""The settle policy's table (worker/settle.py), row by row: a pure unit test of decide() and
outcome_of(); the runtime applying it against real NATS is covered by test_deadletters.py,
test_crash.py and test_drain.py."""

from __future__ import annotations

import pytest

from web.messaging.config import Family
from web.messaging.handlers import Outcome, Permanent, Retry
from web.messaging.models import DeadLetter
from worker.settle import Action, decide, outcome_of

FAMILY = Family(
    name="settle",
    ack_wait_s=30,
    max_deliver=3,
    backoff_s=(1, 5),
    batch=1,
    max_inflight=1,
    max_runtime_s=60,
    threads=1,
)
DEAD, MAX = DeadLetter.Reason.PERMANENT, DeadLetter.Reason.MAX_DELIVERIES


@pytest.mark.parametrize(
    ("outcome", "delivered", "reason", "action"),
    [
        (Outcome("ack"), 3, "", Action("ack")),
        (Outcome("retry", delay=7.5), 1, "", Action("nak", delay=7.5)),
        (Outcome("fail", error="boom"), 1, "", Action("nak", delay=1)),
        (Outcome("fail", error="boom"), 2, "", Action("nak", delay=5)),
        (Outcome("fail", error="boom"), 3, "", Action("dead_letter", delay=5, reason=MAX)),
        (Outcome("retry", delay=7.5), 3, "", Action("dead_letter", delay=5, reason=MAX)),
        (Outcome("permanent"), 1, "", Action("dead_letter", delay=1, reason=DEAD)),
        (
            Outcome("permanent"),
            1,
            DeadLetter.Reason.NO_HANDLER,
            Action("dead_letter", delay=1, reason=DeadLetter.Reason.NO_HANDLER),
        ),
    ],
)
def test_each_outcome_settles_as_the_table_says(
    outcome: Outcome, delivered: int, reason: str, action: Action
) -> None:
    assert decide(outcome, delivered=delivered, family=FAMILY, reason=reason) == action


def test_handler_errors_become_outcomes() -> None:
    assert outcome_of(Retry(delay=3, reason="busy")) == Outcome("retry", 3.0, "Retry: busy")
    assert outcome_of(Permanent("gone")) == Outcome("permanent", error="Permanent: gone")
    failed = outcome_of(ValueError("bad"))
    assert failed.kind == "fail" and "ValueError: bad" in failed.error
