"""End to end: staff deletes an image in the admin of a running site (uvicorn) → images.purge
on JetStream → a real `python -m worker` deletes every object from both buckets, and the post
that used it as its cover still renders, without it."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import sys
from pathlib import Path

import httpx
from botocore.exceptions import ClientError

from web.core.testing import start_process, stop_group, wait_until
from web.core.testing.server import Server
from web.core.testing.site import seed, site_env


def _objects_left(s3, keys: list[tuple[str, str]]) -> list[str]:  # type: ignore[no-untyped-def]
    left = []
    for bucket, key in keys:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            left.append(key)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in {"404", "NoSuchKey"}, exc
    return left


def test_admin_delete_is_purged_by_the_real_worker(nats_server, s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = site_env(nats_server, s3_server, tmp_path / "data")
    data = seed(env)  # a published post whose cover went through upload + images.process
    db = sqlite3.connect(tmp_path / "data" / "data.db")
    [(image_id, original)] = db.execute("select id, original_key from media_image").fetchall()
    keys = [("private", original)] + [
        ("public", k)
        for (k,) in db.execute("select key from media_variant where image_id = ?", (image_id,))
    ]
    s3 = s3_server.client()
    assert len(keys) == 11 and _objects_left(s3, keys) == [k for _, k in keys]

    server = Server(env, log=tmp_path / "uvicorn.log").start("web.asgi:application")
    log = tmp_path / "worker.log"
    worker = start_process(
        [sys.executable, "-m", "worker"],
        {**env, "HEARTH_WORKER_JOBS": "web.media.jobs", "HEARTH_WORKER_FAMILIES": "images"},
        log,
    )
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            http.cookies.set("sessionid", data["staff_session"])
            url = f"/admin/media/image/{image_id}/delete/"
            confirm = http.get(url)
            assert confirm.status_code == 200, confirm.text[:500]
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.text)
            assert token is not None
            r = http.post(url, data={"csrfmiddlewaretoken": token.group(1), "post": "yes"})
            assert r.status_code == 302, r.text[:500]
            # The rows are gone at once; the post keeps rendering, now without the cover.
            assert db.execute("select count(*) from media_image").fetchone() == (0,)
            assert db.execute("select count(*) from media_variant").fetchone() == (0,)
            page = http.get(data["post_url"])
            assert page.status_code == 200 and "<picture" not in page.text

        with contextlib.suppress(AssertionError):  # the assert below says what is left
            wait_until(lambda: not _objects_left(s3, keys), timeout=30, interval=0.3)
        left = _objects_left(s3, keys)
        assert not left, f"still in S3: {left}; worker log:\n{log.read_text()[-3000:]}"
    finally:
        db.close()
        stop_group(worker)
        server.stop()
