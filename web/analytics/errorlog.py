"""A logging handler that turns logged exceptions into issues (Hearth's own errors).

Attached to the root logger in settings (see `# --- analytics ---`), so an unhandled view
exception (django.request logs it with exc_info) and a failing worker job (the worker logs it
with exc_info) both become issues of kind "server" on site 1.
"""

from __future__ import annotations

import logging


class ErrorCaptureHandler(logging.Handler):
    """Records ERROR+ records that carry an exception through services.error_capture."""

    def __init__(self, level: int = logging.ERROR) -> None:
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or record.exc_info[1] is None:
            return
        if record.name.startswith("web.analytics"):
            return  # our own failures are logged, never captured (no loops)
        try:
            from web.analytics.services import error_capture

            where = f"{record.name}:{record.funcName}"
            request = getattr(record, "request", None)
            if request is not None and getattr(request, "path", None):
                where = f"{request.method} {request.path}"
            error_capture(exc=record.exc_info[1], where=where)
        except Exception:
            self.handleError(record)
