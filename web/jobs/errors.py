"""Errors of the jobs family: one root, a small explicit hierarchy."""

from __future__ import annotations


class JobError(Exception):
    """Root of every error raised by web.jobs."""


class JobSkipped(JobError):
    """A job had nothing it could do (for example offsite is not configured).

    The runner records the outcome ``skipped: <message>`` and logs a warning; it is not a
    failure, so no alert is raised.
    """


class DryRunUnsupported(JobError):
    """The job's function takes no ``dry_run`` argument."""
