"""Upload checks and variant rendering (pure Pillow, no S3)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageChops

from web.media.pipeline import (
    THUMB_SIZE,
    UploadRejected,
    normalize_upload,
    render_variants,
    target_widths,
)


def jpeg(w: int, h: int, *, exif: Image.Exif | None = None, color=(200, 40, 40)) -> bytes:  # type: ignore[no-untyped-def]
    im = Image.new("RGB", (w, h), color)
    # A distinct top-left corner, to see where rotation put it.
    im.paste((0, 0, 255), (0, 0, w // 4, h // 4))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif or Image.Exif())
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(w: int, h: int) -> bytes:
    """A tiny PNG file claiming w x h pixels (1-bit grey)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + _chunk(b"IEND", b"")
    )


def test_exif_is_stripped_and_orientation_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (1.0, 2.0, 3.0)}  # GPS IFD
    norm = normalize_upload(jpeg(400, 200, exif=exif))
    im = Image.open(io.BytesIO(norm.data))
    assert (norm.width, norm.height) == im.size == (200, 400)  # rotated
    assert not im.getexif()  # nothing left: no orientation, no camera, no GPS
    assert b"SecretCam" not in norm.data
    # Top-left blue corner of the stored pixels moved to the top-right after a 90° CW turn.
    assert im.getpixel((190, 5))[2] > 200 and im.getpixel((5, 5))[2] < 100  # type: ignore[index]
    assert norm.content_type == "image/jpeg" and len(norm.sha256) == 64


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"GIF89a" + b"\0" * 100, "not a JPEG"),
        (b"%PDF-1.4 hello", "not a JPEG"),
        (jpeg(300, 200)[:600], "damaged"),
    ],
    ids=["empty", "gif", "pdf", "truncated"],
)
def test_bad_files_are_rejected_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(UploadRejected, match=message):
        normalize_upload(data)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A PNG header may claim any size; the pixels would only be decoded later.
    for side in (8000, 20000):  # 64 MP (our limit: 50) and 400 MP (Pillow's own guard)
        with pytest.raises(UploadRejected, match="megapixels"):
            normalize_upload(png_header(side, side))


def test_size_limit() -> None:
    with pytest.raises(UploadRejected, match="larger than"):
        normalize_upload(jpeg(100, 100), max_bytes=100)


def test_variants_have_the_right_sizes_and_formats() -> None:
    variants = render_variants(jpeg(4000, 3000))
    got = {(v.kind, v.format): (v.width, v.height) for v in variants}
    for w in (320, 640, 1024, 1600):
        for fmt in ("webp", "jpeg"):
            assert got[(f"w{w}", fmt)] == (w, w * 3 // 4)
    assert got[("thumb", "webp")] == got[("thumb", "jpeg")] == THUMB_SIZE
    for v in variants:
        im = Image.open(io.BytesIO(v.data))
        assert im.size == (v.width, v.height)
        assert im.format == ("WEBP" if v.format == "webp" else "JPEG")


def test_small_images_are_never_upscaled() -> None:
    assert target_widths(200) == [200]
    assert target_widths(700) == [320, 640]
    kinds = {v.kind for v in render_variants(jpeg(700, 500))}
    assert kinds == {"w320", "w640", "thumb"}


def test_exact_halving_is_the_same_area_average_as_box() -> None:
    from web.media.pipeline import CHAIN_FILTER, _shrink

    src = Image.effect_noise((640, 480), 60).convert("RGB")
    fast, box = _shrink(src, (320, 240)), src.resize((320, 240), CHAIN_FILTER)
    assert fast.size == box.size == (320, 240)
    diff = ImageChops.difference(fast, box).getextrema()
    assert max(hi for _, hi in diff) <= 1  # rounding only


def test_stage_clock_covers_every_stage() -> None:
    stages: dict[str, float] = {}
    render_variants(jpeg(1200, 900), stages=stages)
    assert set(stages) == {"decode", "resize", "thumb", "webp", "jpeg"}
    assert all(v >= 0 for v in stages.values()) and stages["webp"] > 0
