"""Reuse the worker tests' harness fixtures (real nats-server, migrated data dir)."""

from worker.tests.conftest import _queue_harness, queue  # noqa: F401
