"""Reads for media: what a template needs to render an image, and staff-only original URLs."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from web.media import storage
from web.media.models import Image
from web.media.pipeline import FORMATS, target_widths


@dataclass(frozen=True)
class Picture:
    """Everything a <picture> element needs; built only from a READY image."""

    alt: str
    width: int
    height: int
    src: str
    webp_srcset: str
    jpeg_srcset: str


def _variants(image: Image) -> list[Any]:
    # Uses a prefetch_related("variants") cache when the caller made one.
    return list(image.variants.all())


def picture(image: Image | None, *, thumb: bool = False) -> Picture | None:
    """The responsive picture of an image, or None while it is not (fully) processed.

    Returns None unless the image is READY, so a page never points at a missing object.
    """
    if image is None or image.status != Image.Status.READY:
        return None
    env = settings.ENV
    variants = _variants(image)
    if thumb:
        chosen = [v for v in variants if v.kind == "thumb"]
    else:
        chosen = [v for v in variants if v.kind != "thumb"]
    webp = sorted((v for v in chosen if v.format == "webp"), key=lambda v: v.width)
    jpeg = sorted((v for v in chosen if v.format == "jpeg"), key=lambda v: v.width)
    if not webp or not jpeg:
        return None
    # The fallback <img> is the JPEG closest to 1024 px: good on most screens.
    fallback = min(jpeg, key=lambda v: abs(v.width - 1024))
    return Picture(
        alt=image.alt,
        width=fallback.width,
        height=fallback.height,
        src=storage.variant_url(env, fallback.key),
        webp_srcset=", ".join(f"{storage.variant_url(env, v.key)} {v.width}w" for v in webp),
        jpeg_srcset=", ".join(f"{storage.variant_url(env, v.key)} {v.width}w" for v in jpeg),
    )


@dataclass(frozen=True)
class Progress:
    """How far an image's variant set is: `done` of `total` objects in the public bucket."""

    status: str
    done: int
    total: int
    error: str = ""

    @property
    def label(self) -> str:
        if self.status == Image.Status.READY:
            return f"Ready: all {self.total} variants published"
        if self.status == Image.Status.FAILED:
            return f"Failed: {self.error}" if self.error else "Failed"
        return f"Making variants: {self.done} of {self.total}"


def variants_expected(image: Image) -> int:
    """Variants an image gets: WebP and JPEG per responsive width (never upscaled) and thumb."""
    return len(FORMATS) * (len(target_widths(image.width)) + 1)


def image_progress(image: Image) -> Progress:
    """Progress of an image's variants, for the admin while the worker renders them.

    READY and FAILED come from the row. While PENDING, `done` counts the objects already in
    the public bucket under the image's prefix since it was uploaded (the job writes them
    all before it records any row), so the count is what S3 really holds; 0 if S3 does not
    answer.
    """
    total = variants_expected(image)
    if image.status == Image.Status.READY:
        return Progress(image.status, total, total)
    if image.status == Image.Status.FAILED:
        return Progress(image.status, 0, total, image.error)
    try:
        done = storage.count_variant_objects(settings.ENV, image.pk, since=image.created_at)
    except Exception:  # S3 down: show no progress rather than fail the page
        done = 0
    return Progress(image.status, min(done, total), total)


def embed_snippet(image: Image) -> str:
    """The Markdown that embeds an image in a post body: `![alt](media:<id>)`.

    `[`, `]` and `\\` in the alt text are escaped so that the snippet stays one image.
    """
    alt = re.sub(r"([\\\[\]])", r"\\\1", " ".join(image.alt.split()))
    return f"![{alt}](media:{image.pk})"


def original_url_for(*, image: Image, user: Any) -> str:
    """A presigned URL (5 minutes) to the private original; staff only.

    Raises PermissionError for anyone else.
    """
    if not (getattr(user, "is_active", False) and getattr(user, "is_staff", False)):
        raise PermissionError("only staff may open original files")
    return storage.presigned_original_url(settings.ENV, image.original_key)


# What render_post makes of ![alt](media:12): markdown-it output after nh3 (attribute order
# src, alt, then nh3's loading/decoding).
_MEDIA_IMG = re.compile(r'<img src="media:(\d+)"(?: alt="([^"]*)")?[^>]*>')


def expand_media_images(body_html: str, *, sizes: str = "(max-width: 720px) 100vw, 720px") -> str:
    """Replace embedded `media:<id>` images by responsive <picture> markup.

    Images that are missing or not READY are left out entirely, so the page never points
    at an object that does not exist yet. One query for all images of the body.
    """
    ids = {int(m.group(1)) for m in _MEDIA_IMG.finditer(body_html)}
    if not ids:
        return body_html
    images = {i.pk: i for i in Image.objects.filter(pk__in=ids).prefetch_related("variants")}

    def replace(m: re.Match[str]) -> str:
        image = images.get(int(m.group(1)))
        pic = picture(image)
        if pic is None:
            return ""
        alt = html.unescape(m.group(2) or "") or pic.alt
        pic = Picture(alt, pic.width, pic.height, pic.src, pic.webp_srcset, pic.jpeg_srcset)
        return render_to_string(
            "media/picture.html",
            {"pic": pic, "sizes": sizes, "loading": "lazy", "css_class": "inline"},
        ).strip()

    return _MEDIA_IMG.sub(replace, body_html)
