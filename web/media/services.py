"""Writes for media: accept an upload, turn an original into its public variants, delete an
image and purge its S3 objects."""

from __future__ import annotations

import hashlib
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from web.media import storage
from web.media.models import Image, Variant
from web.media.pipeline import Normalized, UploadRejected, normalize_upload, render_variants

log = logging.getLogger(__name__)

_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

# The files of a multiple upload are checked two at a time (Pillow releases the GIL while it
# decodes and encodes). A job renders its image on its own thread: the worker already runs
# two image jobs at once, one per core (site.md, "Image pipeline", on why encodes are not
# spread over threads). Variant PUTs are I/O: up to four at once.
CHECK_THREADS = 2
MAX_FILES = 50  # images per admin upload
PUT_THREADS = 4
_checkers = ThreadPoolExecutor(max_workers=CHECK_THREADS, thread_name_prefix="media-check")
_putters = ThreadPoolExecutor(max_workers=PUT_THREADS, thread_name_prefix="media-put")


class StorageUnavailable(Exception):
    """S3 did not answer or failed server-side; the caller should retry later."""


class ImageGone(Exception):
    """The image row or its original is missing or undecodable; retrying cannot help."""


def _storage_error(exc: Exception, what: str) -> Exception:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {"NoSuchKey", "404", "NoSuchBucket"}:
            return ImageGone(f"{what}: {code}")
    return StorageUnavailable(f"{what}: {exc}")


def _check_alt(alt: str) -> str:
    alt = (alt or "").strip()
    if not alt:
        raise UploadRejected(
            "Alt text is required: describe the image for people who cannot see it."
        )
    return alt


def image_upload(*, data: bytes, alt: str, uploaded_by: Any = None) -> Image:
    """Check and store an uploaded image; its variants are made later by `images.process`.

    Raises UploadRejected (a ValueError whose message is for the uploader) for a missing alt
    text or a bad file, and StorageUnavailable if the private bucket cannot be written.
    Nothing is recorded unless the original is safely in S3.
    """
    alt = _check_alt(alt)
    return _store(normalize_upload(data), alt=alt, uploaded_by=uploaded_by)


def image_upload_many(
    *, files: list[tuple[str, bytes]], alt: str, uploaded_by: Any = None
) -> list[Image]:
    """Several uploads at once (the admin's multiple file input): one Image per file.

    Every file goes through the checks of image_upload() first; if any fails, UploadRejected
    names each bad file with its reason and nothing is stored, so the uploader fixes the
    selection and sends it again. Files are checked two at a time (Pillow releases the GIL
    while decoding and encoding). Each image gets `alt`; the owner refines it per image.
    """
    alt = _check_alt(alt)
    if not files:
        raise UploadRejected("Choose at least one image file.")
    if len(files) > MAX_FILES:
        raise UploadRejected(f"Upload at most {MAX_FILES} images at once.")

    def check(item: tuple[str, bytes]) -> Normalized | str:
        try:
            return normalize_upload(item[1])
        except UploadRejected as exc:
            return f"{item[0]}: {exc}"

    checked = list(_checkers.map(check, files))
    bad = [c for c in checked if isinstance(c, str)]
    if bad:
        ok = len(files) - len(bad)
        note = f" The other {ok} were not saved either." if ok else ""
        raise UploadRejected(" ".join(bad) + note)
    return [_store(n, alt=alt, uploaded_by=uploaded_by) for n in checked if not isinstance(n, str)]


def _store(norm: Normalized, *, alt: str, uploaded_by: Any) -> Image:
    existing = Image.objects.filter(sha256=norm.sha256).first()
    if existing is not None:
        return existing
    key = storage.original_key(norm.sha256, _EXT[norm.content_type], secrets.token_hex(4))
    env = settings.ENV
    try:
        storage.put_original(env, key=key, data=norm.data, content_type=norm.content_type)
    except (BotoCoreError, ClientError) as exc:
        raise StorageUnavailable(f"storing original {key}") from exc
    with transaction.atomic():
        image = Image.objects.create(
            alt=alt,
            original_key=key,
            sha256=norm.sha256,
            content_type=norm.content_type,
            width=norm.width,
            height=norm.height,
            size=len(norm.data),
            uploaded_by_id=getattr(uploaded_by, "pk", None),
        )
        transaction.on_commit(lambda: _enqueue_process(image.pk, key=key))
    return image


def _enqueue_process(image_id: int, *, key: str = "") -> None:
    from web.messaging.jobs import enqueue

    # The id dedupes a re-publish of this upload's job (outbox relay) inside NATS' window.
    # It carries a hash of the original's key (random per upload) because image ids come
    # back after a database restore, and a bare id would drop the new image's job.
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    enqueue("images.process", {"image_id": image_id}, id=f"images.process.{image_id}.{digest}")


def image_process(*, image_id: int) -> str:
    """Make and publish every variant of an image; idempotent.

    All variant objects are written before any row is recorded, and the rows plus the READY
    status are committed together, so readers see either no variants or all of them. Keys
    carry a content hash, so a retry rewrites the same keys with the same bytes. Keys that a
    re-processing no longer uses, or that were written for an image deleted meanwhile, are
    handed to `images.purge`. An image deleted before or while the job runs is not an error.
    Raises ImageGone (do not retry) or StorageUnavailable (retry with backoff).
    """
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        # Jobs are enqueued only on commit of an upload, so the row was deleted since
        # (image_delete purges its objects): nothing to make, and not worth a dead letter.
        log.info("image %s no longer exists: nothing to process", image_id)
        return "deleted"
    if image.status == Image.Status.READY:
        return "already done"
    env = settings.ENV
    try:
        original = storage.get_original(env, image.original_key)
    except (BotoCoreError, ClientError) as exc:
        err = _storage_error(exc, f"reading original of image {image_id}")
        if isinstance(err, ImageGone) and not Image.objects.filter(pk=image_id).exists():
            return "deleted"  # deleted and purged while we started
        raise err from exc
    try:
        rendered = render_variants(original)
    except Exception as exc:  # a corrupt original will not get better on retry
        raise ImageGone(f"original of image {image_id} cannot be decoded: {exc}") from exc
    client = storage.local_client(env)
    keys = [storage.variant_key(image.pk, r.kind, r.digest, r.ext) for r in rendered]

    def put(i: int) -> None:
        r = rendered[i]
        storage.put_variant(client, env, key=keys[i], data=r.data, content_type=r.content_type)

    # Every PUT has finished (none still running once the job is settled) before a failure
    # is raised or any row is written.
    futures = [_putters.submit(put, i) for i in range(len(rendered))]
    errors = [f.exception() for f in futures]
    for exc in errors:
        if isinstance(exc, BotoCoreError | ClientError):
            raise StorageUnavailable(f"writing variants of image {image_id}: {exc}") from exc
        if exc is not None:
            raise exc
    rows = [
        Variant(
            image=image,
            kind=r.kind,
            format=r.format,
            width=r.width,
            height=r.height,
            key=key,
            size=len(r.data),
        )
        for r, key in zip(rendered, keys, strict=True)
    ]
    new_keys = {r.key for r in rows}
    # BEGIN IMMEDIATE (settings): the existence check and the insert hold the write lock, so
    # an image_delete() either ran before (we purge what we wrote) or runs after (it sees
    # and purges our rows).
    with transaction.atomic():
        gone = not Image.objects.filter(pk=image.pk).exists()
        if not gone:
            old_keys = set(Variant.objects.filter(image=image).values_list("key", flat=True))
            Variant.objects.filter(image=image).delete()
            Variant.objects.bulk_create(rows)
            Image.objects.filter(pk=image.pk).update(
                status=Image.Status.READY, processed_at=timezone.now(), error=""
            )
            stale = sorted(old_keys - new_keys)
            if stale:  # re-processed with different bytes: the old keys are no longer used
                transaction.on_commit(lambda: enqueue_purge(image_id, public=stale, private=[]))
    if gone:  # deleted while we rendered: what we wrote has no row, so purge it
        enqueue_purge(image_id, public=sorted(new_keys), private=[])
        log.info("image %s was deleted while processed: purging its new variants", image_id)
        return "deleted meanwhile"
    log.info("image %s: %d variants published", image_id, len(rows))
    return f"{len(rows)} variants"


def image_mark_failed(*, image_id: int, error: str) -> None:
    """Record why an image could not be processed (shown in the admin)."""
    Image.objects.filter(pk=image_id).exclude(status=Image.Status.READY).update(
        status=Image.Status.FAILED, error=error[:300]
    )


def image_delete(*, image_id: int) -> bool:
    """Delete an image's rows now and its S3 objects soon; False if there is no such image.

    The Image and its Variant rows go in one transaction; on commit `images.purge` (job id
    `images.purge.<id>.<hash of the keys>`, enqueued by the pre_delete handler in
    signals.py, so a bare `.delete()` purges too) deletes every variant from the public
    bucket and the original from the private one, retrying while S3 is down. Posts lose it
    as cover (the FK is SET_NULL) and `media:<id>` embeds render nothing, so no page points
    at a purged object.
    """
    with transaction.atomic():
        image = Image.objects.filter(pk=image_id).first()
        if image is None:
            return False
        image.delete()  # cascades to Variant, sets Post.cover to NULL; signals.py purges
    log.info("image %s deleted: purging its objects", image_id)
    return True


def enqueue_purge(image_id: int, *, public: list[str], private: list[str]) -> None:
    """Enqueue `images.purge` for these keys of an image (after the rows are gone)."""
    from web.messaging.jobs import enqueue

    # Named by the image and a hash of its keys: a redelivered enqueue (outbox relay) dedupes,
    # while a purge of other keys (a re-processing's stale set, or an id used again after a
    # database restore) is never mistaken for a duplicate inside the 20-minute window.
    digest = hashlib.sha256("\n".join([*private, *public]).encode()).hexdigest()[:16]
    enqueue(
        "images.purge",
        {"image_id": image_id, "public": public, "private": private},
        id=f"images.purge.{image_id}.{digest}",
    )


def image_purge(*, image_id: int, public: list[str], private: list[str]) -> int:
    """Delete objects of a deleted image (or stale variants of a re-processed one).

    Idempotent: a key that is already gone counts as deleted. Keys still referenced by a
    row are kept, so a late or replayed job cannot break a live image. Returns how many keys
    were deleted. Raises ValueError for keys outside this image's prefixes (a bad job; never
    retried) and StorageUnavailable when S3 fails (retry).
    """
    prefix = f"img/{image_id}/"
    bad = [k for k in public if not k.startswith(prefix)]
    bad += [k for k in private if not k.startswith("originals/")]
    if bad:
        raise ValueError(f"image {image_id}: refusing to purge keys {bad[:3]}")
    live_public = set(Variant.objects.filter(key__in=public).values_list("key", flat=True))
    live_private = set(
        Image.objects.filter(original_key__in=private).values_list("original_key", flat=True)
    )
    public = [k for k in public if k not in live_public]
    private = [k for k in private if k not in live_private]
    env = settings.ENV
    client = storage.local_client(env)
    try:
        storage.delete_keys(client, env.bucket_public, public)
        storage.delete_keys(client, env.bucket_private, private)
    except (BotoCoreError, ClientError) as exc:
        raise StorageUnavailable(f"purging objects of image {image_id}: {exc}") from exc
    log.info("image %s: purged %d objects", image_id, len(public) + len(private))
    return len(public) + len(private)
