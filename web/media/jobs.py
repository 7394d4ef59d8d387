"""Worker handlers `images.process` and `images.purge` (see web/messaging/contract.md)."""

from __future__ import annotations

from web.media import services
from web.messaging.handlers import JobContext, Permanent, Retry, handler

# Backoff for S3 outages: 5 s, 10 s, 20 s ... capped at 5 minutes.
BASE_DELAY = 5.0
MAX_DELAY = 300.0


def retry_delay(attempt: int) -> float:
    """Seconds to wait before the next try, doubling per delivery."""
    return min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempt - 1))


def _attempt(ctx: JobContext) -> int:
    return max(1, int(ctx.job.delivered))


@handler("images.process")
def images_process(payload: dict, ctx: JobContext) -> None:
    image_id = int(payload["image_id"])
    try:
        services.image_process(image_id=image_id)
    except services.StorageUnavailable as exc:
        raise Retry(delay=retry_delay(_attempt(ctx))) from exc
    except services.ImageGone as exc:
        services.image_mark_failed(image_id=image_id, error=str(exc))
        raise Permanent(str(exc)) from exc


@handler("images.purge")
def images_purge(payload: dict, ctx: JobContext) -> None:
    """S3 deletes after image_delete() or a re-processing; same backoff as images.process."""
    try:
        image_id = int(payload["image_id"])
        public = [str(k) for k in payload.get("public", [])]
        private = [str(k) for k in payload.get("private", [])]
        services.image_purge(image_id=image_id, public=public, private=private)
    except services.StorageUnavailable as exc:
        raise Retry(delay=retry_delay(_attempt(ctx))) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise Permanent(f"bad images.purge job: {exc}") from exc
