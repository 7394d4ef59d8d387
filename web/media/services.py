"""Writes for media: accept an upload, and turn an original into its public variants."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from web.media import storage
from web.media.models import Image, Variant
from web.media.pipeline import UploadRejected, normalize_upload, render_variants

log = logging.getLogger(__name__)

_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


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


def image_upload(*, data: bytes, alt: str, uploaded_by: Any = None) -> Image:
    """Check and store an uploaded image; its variants are made later by `images.process`.

    Raises UploadRejected (a ValueError whose message is for the uploader) for a missing alt
    text or a bad file, and StorageUnavailable if the private bucket cannot be written.
    Nothing is recorded unless the original is safely in S3.
    """
    alt = (alt or "").strip()
    if not alt:
        raise UploadRejected(
            "Alt text is required: describe the image for people who cannot see it."
        )
    norm = normalize_upload(data)
    existing = Image.objects.filter(sha256=norm.sha256).first()
    if existing is not None:
        return existing
    key = storage.original_key(norm.sha256, _EXT[norm.content_type])
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
        transaction.on_commit(lambda: _enqueue_process(image.pk))
    return image


def _enqueue_process(image_id: int) -> None:
    from web.messaging.jobs import enqueue

    # The job id dedupes repeated uploads of the same image inside NATS' window.
    enqueue("images.process", {"image_id": image_id}, id=f"images.process.{image_id}")


def image_process(*, image_id: int) -> str:
    """Make and publish every variant of an image; idempotent.

    All variant objects are written before any row is recorded, and the rows plus the READY
    status are committed together, so readers see either no variants or all of them. Keys
    carry a content hash, so a retry rewrites the same keys with the same bytes.
    Raises ImageGone (do not retry) or StorageUnavailable (retry with backoff).
    """
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        raise ImageGone(f"image {image_id} does not exist")
    if image.status == Image.Status.READY:
        return "already done"
    env = settings.ENV
    try:
        original = storage.get_original(env, image.original_key)
    except (BotoCoreError, ClientError) as exc:
        raise _storage_error(exc, f"reading original of image {image_id}") from exc
    try:
        rendered = render_variants(original)
    except Exception as exc:  # a corrupt original will not get better on retry
        raise ImageGone(f"original of image {image_id} cannot be decoded: {exc}") from exc
    client = storage.local_client(env)
    rows = []
    for r in rendered:
        key = storage.variant_key(image.pk, r.kind, r.digest, r.ext)
        try:
            storage.put_variant(client, env, key=key, data=r.data, content_type=r.content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"writing variant {key} of image {image_id}") from exc
        rows.append(
            Variant(
                image=image,
                kind=r.kind,
                format=r.format,
                width=r.width,
                height=r.height,
                key=key,
                size=len(r.data),
            )
        )
    with transaction.atomic():
        Variant.objects.filter(image=image).delete()
        Variant.objects.bulk_create(rows)
        Image.objects.filter(pk=image.pk).update(
            status=Image.Status.READY, processed_at=timezone.now(), error=""
        )
    log.info("image %s: %d variants published", image_id, len(rows))
    return f"{len(rows)} variants"


def image_mark_failed(*, image_id: int, error: str) -> None:
    """Record why an image could not be processed (shown in the admin)."""
    Image.objects.filter(pk=image_id).exclude(status=Image.Status.READY).update(
        status=Image.Status.FAILED, error=error[:300]
    )
