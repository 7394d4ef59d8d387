"""Pure image work (no I/O): upload checks and variant rendering.

Kept free of Django and S3 so the worker job, the admin upload and the benchmark share one
code path, and so it can be measured on its own (bench/images.py).
"""

from __future__ import annotations

import hashlib
import io
import time
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Responsive widths (see site.md, ADR-18). The largest decides the JPEG draft() scale.
WIDTHS = (320, 640, 1024, 1600)
THUMB_SIZE = (400, 300)
WEBP_QUALITY = 80
# method=0 is the fastest libwebp effort; measured 3-4x faster than the default 4 here for
# about 10% larger files, which a cache-forever key pays once.
WEBP_METHOD = 0
JPEG_QUALITY = 82
FORMATS = ("webp", "jpeg")  # each size in both
# Each chained step shrinks by less than 2x. Pillow's BOX filter then is exact area
# averaging (OpenCV's INTER_AREA, the usual choice for shrinking): no aliasing, and measured
# ~15% faster for the whole set than bilinear, which itself was ~40% faster than bicubic.
CHAIN_FILTER = Image.Resampling.BOX
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000


class UploadRejected(ValueError):
    """The upload is not an acceptable image; the message says why, for the uploader."""


@dataclass(frozen=True)
class Normalized:
    """An accepted original with EXIF removed and orientation applied."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


@dataclass(frozen=True)
class Rendered:
    kind: str
    format: str
    width: int
    height: int
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]

    @property
    def ext(self) -> str:
        return "webp" if self.format == "webp" else "jpg"

    @property
    def content_type(self) -> str:
        return "image/webp" if self.format == "webp" else "image/jpeg"


def _open_checked(data: bytes, *, max_pixels: int) -> Image.Image:
    """Open lazily and refuse unknown formats and decompression bombs before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UploadRejected(
            f"The image has too many pixels; the limit is {max_pixels // 1_000_000} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise UploadRejected("This file is not a JPEG, PNG or WebP image.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadRejected("The image is damaged or truncated.") from exc
    if im.format not in ALLOWED_FORMATS:
        raise UploadRejected(f"{im.format} images are not accepted; use JPEG, PNG or WebP.")
    w, h = im.size
    if w < 1 or h < 1 or w * h > max_pixels:
        raise UploadRejected(
            f"The image is {w}x{h} pixels; the limit is {max_pixels // 1_000_000} megapixels."
        )
    return im


def normalize_upload(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS
) -> Normalized:
    """Check an upload and re-encode it without metadata.

    Raises UploadRejected for files that are too big, not an allowed image type, truncated or
    corrupt (Pillow verify() and a full decode), or decompression bombs (pixel count checked
    from the header, before any decoding). EXIF is dropped; its orientation is applied first.
    """
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    im = _open_checked(data, max_pixels=max_pixels)
    fmt = im.format
    try:
        im.verify()
        im = _open_checked(data, max_pixels=max_pixels)  # verify() leaves the image unusable
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
    except UploadRejected:
        raise
    except Exception as exc:
        raise UploadRejected("The image is damaged or truncated.") from exc
    im = ImageOps.exif_transpose(im)
    icc = im.info.get("icc_profile")
    out = io.BytesIO()
    if fmt == "JPEG":
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.save(out, "JPEG", quality=95, icc_profile=icc)
    elif fmt == "PNG":
        im.save(out, "PNG", icc_profile=icc)
    else:
        im.save(out, "WEBP", quality=95, icc_profile=icc)
    body = out.getvalue()
    return Normalized(
        data=body,
        content_type=ALLOWED_FORMATS[fmt],
        width=im.width,
        height=im.height,
        sha256=hashlib.sha256(body).hexdigest(),
    )


def target_widths(width: int) -> list[int]:
    """Widths to make for an original `width` px wide: never upscale, at least one."""
    widths = [w for w in WIDTHS if w <= width]
    return widths or [width]


def _flatten(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "L"):
        return im.convert("RGB") if im.mode == "L" else im
    if im.mode in ("RGBA", "LA", "P", "PA"):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return im.convert("RGB")


def _encode(im: Image.Image, kind: str, fmt: str) -> Rendered:
    out = io.BytesIO()
    if fmt == "webp":
        im.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    else:
        im.save(out, "JPEG", quality=JPEG_QUALITY)
    return Rendered(kind=kind, format=fmt, width=im.width, height=im.height, data=out.getvalue())


def _shrink(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Area-average `im` down to `size` (each chained step shrinks by less than 2x, or by
    exactly 2x). An exact halving uses reduce(2): the same 2x2 average as BOX, ~4x cheaper."""
    if im.size == size:
        return im
    if im.width == 2 * size[0] and im.height == 2 * size[1]:
        return im.reduce(2)
    return im.resize(size, CHAIN_FILTER)


def render_variants(data: bytes, *, stages: dict[str, float] | None = None) -> list[Rendered]:
    """All variants of an original: each responsive width and a thumbnail, WebP and JPEG.

    JPEG sources are decoded with draft(), which lets libjpeg scale by 1/2, 1/4 or 1/8 while
    decoding (about 10x faster than decoding 12 MP and resizing). Widths are made from the
    largest down, each from the previous one, so every resize reads a small source.
    `stages`, if given, accumulates CPU seconds per stage (decode, resize, thumb, webp, jpeg)
    for the benchmark's breakdown.
    """
    clock = [time.process_time()]

    def lap(stage: str) -> None:
        if stages is not None:
            now = time.process_time()
            stages[stage] = stages.get(stage, 0.0) + now - clock[0]
            clock[0] = now

    im = Image.open(io.BytesIO(data))
    width, height = im.size
    widths = target_widths(width)
    largest = widths[-1]
    if im.format == "JPEG":
        im.draft("RGB", (largest, max(1, round(height * largest / width))))
    im.load()
    im = _flatten(im)
    lap("decode")
    prev = im
    by_width: dict[int, Image.Image] = {}
    for w in reversed(widths):
        prev = _shrink(prev, (w, max(1, round(height * w / width))))
        by_width[w] = prev
    lap("resize")
    big_enough = [w for w in widths if w >= THUMB_SIZE[0]]
    thumb_src = by_width[big_enough[0] if big_enough else widths[-1]]
    thumb = ImageOps.fit(thumb_src, THUMB_SIZE, Image.Resampling.BICUBIC)
    lap("thumb")
    out: list[Rendered] = []
    for kind, img in [*((f"w{w}", by_width[w]) for w in widths), ("thumb", thumb)]:
        out.append(_encode(img, kind, "webp"))
        lap("webp")
        out.append(_encode(img, kind, "jpeg"))
        lap("jpeg")
    return out


def naive_variants(data: bytes) -> list[Rendered]:
    """Baseline for the benchmark: full decode, then a plain resize per variant."""
    src = _flatten(Image.open(io.BytesIO(data)))
    out = []
    for w in target_widths(src.width):
        v = src.resize((w, max(1, round(src.height * w / src.width))), Image.Resampling.BICUBIC)
        out.append(_encode(v, f"w{w}", "webp"))
        out.append(_encode(v, f"w{w}", "jpeg"))
    thumb = ImageOps.fit(src, THUMB_SIZE, Image.Resampling.BICUBIC)
    out.append(_encode(thumb, "thumb", "webp"))
    out.append(_encode(thumb, "thumb", "jpeg"))
    return out
