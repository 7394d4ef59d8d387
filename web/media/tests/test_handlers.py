"""The worker finds this issue's handlers by autodiscovery (web.<app>.jobs)."""

from __future__ import annotations

from web.media.jobs import retry_delay
from web.messaging.handlers import HANDLERS, job_modules


def test_handlers_are_discovered_and_registered() -> None:
    modules = job_modules()
    assert {"web.media.jobs", "web.accounts.jobs"} <= set(modules)
    import web.accounts.jobs
    import web.media.jobs  # noqa: F401

    for job_type in ("images.process", "images.purge", "notify.email", "notify.sms"):
        assert job_type in HANDLERS and not HANDLERS[job_type].batch


def test_retry_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert retry_delay(50) == 300.0
