"""SMS sender interface. Hearth ships only a console sender; a real one is a small class.

Choose one with the setting ACCOUNTS_SMS_SENDER (dotted path); the `notify.sms` job uses it.
"""

from __future__ import annotations

import logging
import sys
from functools import cache
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@runtime_checkable
class SmsSender(Protocol):
    def send(self, *, to: str, body: str) -> None:
        """Deliver one message or raise; the job retries on any exception."""


class ConsoleSmsSender:
    """Writes the message to stdout, like Django's console email backend."""

    def __init__(self, stream: object = None) -> None:
        self.stream = stream

    def send(self, *, to: str, body: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"SMS to {to}\n{body}\n{'-' * 40}\n")  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]


@cache
def get_sender() -> SmsSender:
    path = getattr(settings, "ACCOUNTS_SMS_SENDER", "web.accounts.sms.ConsoleSmsSender")
    return import_string(path)()
