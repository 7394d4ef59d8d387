"""Circuit breaker for producers: once NATS fails to acknowledge, stop waiting on it.

Without it, while nats-server hangs (alive on TCP, answering nothing: SIGSTOP, a stuck
disk) every publish waits the full PubAck bound before its jobs go to the outbox, so each
beacon took 3-6 s (issue 15, R6). After one failed publish the breaker opens; while it is
open, producers write straight to the outbox (web/messaging/jobs.py) and a single probe
per connection asks JetStream for the JOBS stream's info every ``PROBE_INTERVAL_S``; the
first answer closes the breaker. Nothing changes for the guarantees: an outboxed job is
relayed by the worker under the same Nats-Msg-Id (see docs/architecture/ingest.md).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

log = logging.getLogger("web.messaging")

# A pipelined publish that has had no PubAck for this long opens the breaker early (it keeps
# waiting up to the full stall bound itself), so that only the beacons of about this long
# queue behind a hung server (bench/outage.py).
TRIP_AFTER_S = 0.5
PROBE_INTERVAL_S = 1.0  # how often an open breaker asks NATS whether it is back
PROBE_TIMEOUT_S = 1.0  # how long one probe waits for JetStream's answer


class CircuitOpen(ConnectionError):
    """Raised instead of publishing while the breaker is open (the caller outboxes)."""


class Breaker:
    """Open/closed state of one producer connection; thread-safe.

    ``trip`` opens it (returns True if it was closed), ``reset`` closes it (True if it was
    open). Transitions are logged at WARNING (open) and INFO (closed).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self.opened_at: float | None = None  # time.monotonic() when it opened
        self.opens = 0  # times it opened since the process started
        self.last_error = ""
        _ALL.add(self)

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def trip(self, exc: BaseException | str) -> bool:
        with self._lock:
            self.last_error = repr(exc)[:300] if not isinstance(exc, str) else exc[:300]
            if self.opened_at is not None:
                return False
            self.opened_at = time.monotonic()
            self.opens += 1
        log.warning(
            "NATS circuit breaker OPEN (%s): publishing straight to the outbox until a probe "
            "succeeds; cause: %s",
            self.name,
            self.last_error,
        )
        return True

    def reset(self) -> bool:
        with self._lock:
            if self.opened_at is None:
                return False
            open_s = time.monotonic() - self.opened_at
            self.opened_at = None
        log.info(
            "NATS circuit breaker CLOSED (%s) after %.1f s: publishing again", self.name, open_s
        )
        return True


_ALL: weakref.WeakSet[Breaker] = weakref.WeakSet()


def breakers() -> list[Breaker]:
    """Every live breaker of this process (one per producer connection)."""
    return list(_ALL)
