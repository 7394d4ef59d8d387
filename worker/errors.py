"""The one error hierarchy of job handlers.

- ``Retry(delay)``: NAK with that delay (counts as a delivery; dead letter at max_deliver).
- ``Permanent(reason)``: TERM now and record a dead letter; retrying cannot help.
- any other exception: NAK with the family's backoff until max_deliver, then dead letter.
"""

from __future__ import annotations


class JobError(Exception):
    """Root of the errors a handler raises on purpose."""


class Retry(JobError):
    """Try again after `delay` seconds (e.g. a remote peer said 429 or 503)."""

    def __init__(self, delay: float = 5.0, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = float(delay)


class Permanent(JobError):
    """This job can never succeed (bad payload, object gone); dead-letter it now."""
