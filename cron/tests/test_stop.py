"""A second stop signal while cron is stopping (a Ctrl-C reaches it twice under litestream
-exec) stops it just the same, with no traceback."""

from __future__ import annotations

import logging
import os
import signal

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from cron.main import stop_handler


def test_a_second_signal_during_shutdown_is_harmless(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    monkeypatch.setattr(logging, "shutdown", lambda: None)  # keep pytest's handlers open
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    scheduler = BackgroundScheduler()
    scheduler.start()
    stop = stop_handler(scheduler)
    real_shutdown = scheduler.shutdown
    calls: list[bool] = []

    def shutdown(wait: bool = True) -> None:
        calls.append(wait)
        real_shutdown(wait=wait)
        if len(calls) == 1:
            stop(signal.SIGINT, None)  # the second signal arrives inside the first shutdown

    monkeypatch.setattr(scheduler, "shutdown", shutdown)
    try:
        stop(signal.SIGTERM, None)
        assert exits == [0, 0] and calls == [False, False]
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
