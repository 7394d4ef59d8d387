"""Image pipeline benchmark: a 12-megapixel JPEG to every variant, on one core.

- ``images_per_s``: web.media.pipeline.render_variants (JPEG draft() decode at the largest
  needed scale, then resizes chained from large to small, WebP method 0 + JPEG).
- ``naive_images_per_s``: the same variants from a full-size decode with a plain resize each
  (naive_variants), measured in the same run on the same image.
- ``source_mb``: size of the test JPEG (photo-like synthetic content, quality 90).
- ``decode_ms``, ``resize_ms``, ``thumb_ms``, ``webp_ms``, ``jpeg_ms``: CPU ms per image
  spent in each stage of render_variants during the images_per_s runs.

Both run in this process pinned to one CPU and are single-threaded. The rates are per CPU
second of that core (what a dedicated core delivers; the box is shared by many processes),
and ``*_wall_s`` are the same runs per wall-clock second. Target: images_per_s >= 8.
Run: ``python -m bench.images`` (or ``make bench BENCH=images``).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parent.parent
TARGET = 8.0
WIDTH, HEIGHT = 4000, 3000


def test_photo() -> bytes:
    """Deterministic 12 MP JPEG with photo-like structure: smooth gradients, texture at
    several scales and fine grain (a flat image would flatter the encoders)."""
    layers = []
    for i, scale in enumerate((64, 16, 4)):
        small = Image.effect_noise((WIDTH // scale, HEIGHT // scale), 50 + 10 * i)
        layers.append(small.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC))
    grain = Image.effect_noise((WIDTH, HEIGHT), 12)
    base = Image.merge(
        "RGB",
        [
            Image.blend(Image.linear_gradient("L").resize((WIDTH, HEIGHT)), layers[0], 0.5),
            Image.blend(layers[1], grain, 0.3),
            Image.blend(Image.radial_gradient("L").resize((WIDTH, HEIGHT)), layers[2], 0.4),
        ],
    ).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    base.save(out, "JPEG", quality=90)
    return out.getvalue()


def _rate(
    fn, data: bytes, *, min_runs: int, min_seconds: float, after_warmup=None
) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(images per CPU second, images per wall second, runs) for fn on data.

    The process is pinned to one core and the work is single-threaded, so CPU time is the
    time one dedicated core needs; wall time also counts waiting for the core on a shared box.
    """
    fn(data)  # warm-up (imports, codec init)
    if after_warmup is not None:
        after_warmup()
    runs, wall, cpu = 0, time.perf_counter(), time.process_time()
    while runs < min_runs or time.perf_counter() - wall < min_seconds:
        fn(data)
        runs += 1
    return runs / (time.process_time() - cpu), runs / (time.perf_counter() - wall), runs


def run() -> dict[str, float]:
    from web.media.pipeline import naive_variants, render_variants

    data = test_photo()
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})  # one core
    stages: dict[str, float] = {}
    try:
        fast, fast_wall, runs = _rate(
            lambda d: render_variants(d, stages=stages),
            data,
            min_runs=10,
            min_seconds=4.0,
            after_warmup=stages.clear,
        )
        naive, naive_wall, _ = _rate(naive_variants, data, min_runs=3, min_seconds=3.0)
    finally:
        os.sched_setaffinity(0, before)
    return {
        "images_per_s": round(fast, 2),
        "naive_images_per_s": round(naive, 2),
        "speedup": round(fast / naive, 1),
        "images_per_wall_s": round(fast_wall, 2),
        "naive_images_per_wall_s": round(naive_wall, 2),
        "source_mb": round(len(data) / 1e6, 2),
        # CPU ms per image by stage of render_variants (they add up to 1000 / images_per_s).
        **{f"{k}_ms": round(v * 1000 / runs, 1) for k, v in stages.items()},
    }


def main() -> None:
    from bench import format_table, write_result

    result = run()
    print(format_table("images", result))
    met = "met" if result["images_per_s"] >= TARGET else "MISSED"
    print(f"target images_per_s >= {TARGET}: {met}")
    write_result("images", result)


if __name__ == "__main__":
    main()
