"""Errors of the backup and cron family: one root, a small explicit hierarchy."""

from __future__ import annotations


class BackupsError(Exception):
    """Root of every error raised by web.backups and the cron runner."""


class JobSkipped(BackupsError):
    """A job had nothing it could do (for example offsite is not configured).

    The runner records the outcome ``skipped: <message>`` and logs a warning; it is not a
    failure, so no alert is raised.
    """


class BackupError(BackupsError):
    """An offsite copy or tier promotion could not complete; the message says what to do."""


class RestoreError(BackupsError):
    """A restore refused to run or found data it cannot trust."""
