"""Errors of the backups family: one root, a small explicit hierarchy.

(A job with nothing to do raises ``web.jobs.errors.JobSkipped``, the jobs app's.)"""

from __future__ import annotations


class BackupsError(Exception):
    """Root of every error raised by web.backups."""


class BackupError(BackupsError):
    """An offsite copy or tier promotion could not complete; the message says what to do."""


class RestoreError(BackupsError):
    """A restore refused to run or found data it cannot trust."""
