"""A logging handler that turns logged exceptions into issues (Hearth's own errors).

Attached to the root logger in settings (see `# --- analytics ---`), so an unhandled view
exception (django.request logs it with exc_info) and a failing worker job (the worker logs it
with exc_info) both become issues of kind "server" on site 1.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

# The ORM refuses to run on an event loop thread, so records logged there (the lean ASGI
# routes, the worker's async loop) are written from this one background thread.
_offloop = ThreadPoolExecutor(max_workers=1, thread_name_prefix="error-capture")


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


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
            if _on_event_loop():
                _offloop.submit(self._capture, record, where)
            else:
                error_capture(exc=record.exc_info[1], where=where)
        except Exception:
            self.handleError(record)

    def _capture(self, record: logging.LogRecord, where: str) -> None:
        from django.db import close_old_connections

        from web.analytics.services import error_capture

        try:
            error_capture(exc=record.exc_info[1], where=where)  # type: ignore[index]
        finally:
            close_old_connections()
