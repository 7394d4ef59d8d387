"""What a handler gets besides its payload: the job's identity and a way to say "still busy"
and, for batch handlers, a way to report the outcome of each job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Job:
    """One received job (the decoded envelope)."""

    id: str  # logical job id: Hearth-Job-Id if replayed, else Nats-Msg-Id
    type: str
    payload: dict[str, Any]
    headers: dict[str, str]
    delivered: int  # 1 on first delivery
    stream_seq: int
    created_at: str


@dataclass
class JobContext:
    job: Job
    _heartbeat: Callable[[], None] = field(repr=False, default=lambda: None)

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def delivered(self) -> int:
        return self.job.delivered

    def heartbeat(self) -> None:
        """Tell the server this job is still in progress (resets its ack_wait).

        The worker already does this automatically while a handler runs; call it in very
        long loops only if you want to be explicit. Thread-safe.
        """
        self._heartbeat()


@dataclass(frozen=True)
class Outcome:
    kind: str  # "ack" | "retry" | "fail" | "permanent"
    delay: float = 0.0
    error: str = ""


ACK = Outcome("ack")


@dataclass
class BatchContext:
    """Jobs of one fetched batch of one type, in the order of the payloads list.

    Every job is acked after the handler returns, unless the handler reported otherwise
    with retry()/fail()/permanent() by index. If the handler raises, the exception applies
    to every job of the batch.
    """

    type: str
    jobs: list[Job]
    _heartbeat: Callable[[], None] = field(repr=False, default=lambda: None)
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    @property
    def job_ids(self) -> list[str]:
        return [j.id for j in self.jobs]

    def retry(self, index: int, delay: float) -> None:
        """Redeliver job `index` after `delay` seconds (counts as a delivery)."""
        self.outcomes[self._check(index)] = Outcome("retry", delay=float(delay))

    def fail(self, index: int, error: str | BaseException) -> None:
        """Job `index` failed; it is retried with backoff until max_deliver."""
        self.outcomes[self._check(index)] = Outcome("fail", error=_text(error))

    def permanent(self, index: int, reason: str | BaseException) -> None:
        """Job `index` can never succeed; dead-letter it now."""
        self.outcomes[self._check(index)] = Outcome("permanent", error=_text(reason))

    def heartbeat(self) -> None:
        self._heartbeat()

    def _check(self, index: int) -> int:
        if not 0 <= index < len(self.jobs):
            raise IndexError(f"batch has {len(self.jobs)} jobs, no index {index}")
        return index


def _text(err: str | BaseException) -> str:
    return err if isinstance(err, str) else f"{type(err).__name__}: {err}"
