"""The image admin (issue 17): several images in one upload, progress while variants are made,
and the image page with its embed snippet and each variant once. Real S3 (SeaweedFS)."""

from __future__ import annotations

import html
import io
import re

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image as PILImage

from web.media import jobs, services, storage
from web.media.models import Image, Variant
from web.media.selectors import embed_snippet
from web.media.tests.test_job_s3 import ctx

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])

ALL_KINDS = {(k, f) for k in ("w320", "w640", "w1024", "w1600", "thumb") for f in ("webp", "jpeg")}


def photo(w: int, h: int, shade: int) -> bytes:
    im = PILImage.linear_gradient("L").resize((w, h)).convert("RGB")
    im.paste((shade, 30, 90), (0, 0, w // 5, h // 5))  # distinct bytes per file
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(
        username="staff@example.com", is_staff=True, is_superuser=True
    )


@pytest.fixture
def admin_client(staff) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Image ids whose images.process job the upload enqueued (run by the test itself)."""
    ids: list[int] = []
    monkeypatch.setattr(services, "_enqueue_process", lambda i, **kw: ids.append(i))
    return ids


def _objects(env, bucket: str, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    got = storage.local_client(env).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in got.get("Contents", [])]


def _clear_prefix(env, image_id: int) -> None:  # type: ignore[no-untyped-def]
    """Image ids restart in every test while the S3 server lives for the session."""
    client = storage.local_client(env)
    storage.delete_keys(
        client, env.bucket_public, _objects(env, env.bucket_public, f"img/{image_id}/")
    )


def test_multi_upload_creates_one_image_and_one_variant_set_per_file(
    live_env, admin_client, enqueued, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    files = [
        SimpleUploadedFile(f"p{i}.jpg", photo(1800, 1200, 40 * i), "image/jpeg") for i in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(
            "/admin/media/image/add/", {"alt": "Harbour at dusk", "upload": files}
        )
    assert r.status_code == 302 and r["Location"] == "/admin/media/image/"
    images = list(Image.objects.order_by("pk"))
    assert len(images) == 3 and sorted(enqueued) == [i.pk for i in images]
    assert {i.alt for i in images} == {"Harbour at dusk"} and len({i.sha256 for i in images}) == 3
    listing = admin_client.get("/admin/media/image/")
    assert "3 images uploaded; their variants are being made." in listing.content.decode()

    for image in images:
        _clear_prefix(live_env, image.pk)
        jobs.images_process({"image_id": image.pk}, ctx())
    base = f"{live_env.s3_public_url}/{live_env.bucket_public}"
    with httpx.Client(timeout=10) as http:
        for image in images:
            image.refresh_from_db()
            assert image.status == Image.Status.READY
            variants = list(image.variants.all())
            assert {(v.kind, v.format) for v in variants} == ALL_KINDS
            for v in variants:  # in the real public bucket, readable anonymously
                got = http.get(f"{base}/{v.key}")
                assert got.status_code == 200, v.key
                assert PILImage.open(io.BytesIO(got.content)).size == (v.width, v.height)
    assert Variant.objects.count() == 3 * len(ALL_KINDS)


def test_a_bad_file_among_several_is_named_and_nothing_is_stored(
    live_env, admin_client, enqueued, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    before = _objects(live_env, live_env.bucket_private, "originals/")
    files = [
        SimpleUploadedFile("good.jpg", photo(600, 400, 10), "image/jpeg"),
        SimpleUploadedFile("notes.jpg", b"these are not pixels", "image/jpeg"),
        SimpleUploadedFile("also-good.jpg", photo(600, 400, 200), "image/jpeg"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post("/admin/media/image/add/", {"alt": "x", "upload": files})
    page = html.unescape(r.content.decode())
    assert r.status_code == 200
    assert "notes.jpg: This file is not a JPEG, PNG or WebP image." in page
    assert "The other 2 were not saved either." in page
    assert Image.objects.count() == 0 and enqueued == []
    assert _objects(live_env, live_env.bucket_private, "originals/") == before

    # The same checks as a single upload: alt text is required.
    r = admin_client.post(
        "/admin/media/image/add/",
        {"alt": " ", "upload": [SimpleUploadedFile("a.jpg", photo(600, 400, 1), "image/jpeg")]},
    )
    assert r.status_code == 200 and Image.objects.count() == 0


def test_progress_counts_the_variants_in_the_bucket_then_ready(
    live_env, admin_client, staff, enqueued
) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(1800, 1200, 77), alt="Progress", uploaded_by=staff)
    _clear_prefix(live_env, image.pk)
    url = f"/media/images/{image.pk}/progress"

    def progress() -> dict:  # type: ignore[type-arg]
        r = admin_client.get(url)
        assert r.status_code == 200 and r["Cache-Control"].startswith("max-age=0")
        return r.json()

    assert progress() == {
        "status": "pending",
        "done": 0,
        "total": 10,
        "label": "Making variants: 0 of 10",
        "thumb": None,
        "thumb_height": None,
    }
    # The job writes its objects first: three of them in the bucket are "3 of 10".
    client = storage.local_client(live_env)
    for kind in ("w1600", "w1024", "w640"):
        key = storage.variant_key(image.pk, kind, "0123456789abcdef", "webp")
        storage.put_variant(client, live_env, key=key, data=b"x", content_type="image/webp")
    assert progress()["label"] == "Making variants: 3 of 10"
    # The change page shows the same line, wired to the progress URL for the admin script.
    page = admin_client.get(f"/admin/media/image/{image.pk}/change/").content.decode()
    assert f'data-progress-url="{url}"' in page and "Making variants: 3 of 10" in page
    assert "media/admin-images.js" in page

    _clear_prefix(live_env, image.pk)
    jobs.images_process({"image_id": image.pk}, ctx())
    done = progress()
    assert done["status"] == "ready" and (done["done"], done["total"]) == (10, 10)
    assert done["label"] == "Ready: all 10 variants published"
    thumb = image.variants.get(kind="thumb", format="jpeg")
    assert done["thumb"].endswith(f"/{thumb.key}") and done["thumb_height"] == 90

    # A small image gets fewer widths (never upscaled), and the total says so.
    small = services.image_upload(data=photo(700, 420, 9), alt="Small", uploaded_by=staff)
    _clear_prefix(live_env, small.pk)
    got = admin_client.get(f"/media/images/{small.pk}/progress").json()
    assert (got["done"], got["total"]) == (0, 6)
    # Staff only.
    anon = Client().get(url)
    assert anon.status_code == 302 and "/admin/login/" in anon["Location"]


def test_image_page_offers_the_snippet_and_lists_each_variant_once(
    live_env, admin_client, staff, enqueued
) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(1800, 1200, 5), alt="A [red] boat", uploaded_by=staff)
    _clear_prefix(live_env, image.pk)
    jobs.images_process({"image_id": image.pk}, ctx())
    r = admin_client.get(f"/admin/media/image/{image.pk}/change/")
    assert r.status_code == 200
    page = r.content.decode()
    snippet = f"![A \\[red\\] boat](media:{image.pk})"
    assert embed_snippet(image) == snippet
    m = re.search(r'<input[^>]*class="[^"]*media-embed[^"]*"[^>]*value="([^"]*)"', page)
    assert m is not None and html.unescape(m.group(1)) == snippet
    assert re.search(r'<button type="button" class="button" data-copy="media-embed-\d+">Copy', page)
    assert "Ready: all 10 variants published" in page
    # The original's size reads as a person reads it (issue 17, item 2), not a byte count.
    field = page[page.index("field-file_size") :]
    size = re.search(r'<div class="readonly">([^<]*)</div>', field)
    assert size is not None and re.fullmatch(r"[\d.,]+\xa0(KB|MB)", size.group(1)), size

    table = re.search(r'<table class="media-variants">(.*?)</table>', page, re.S)
    assert table is not None
    rows = re.findall(r'<tr class="media-variant"><td>(\w+)</td><td>(\w+)</td>', table.group(1))
    assert len(rows) == 10 and set(rows) == ALL_KINDS  # each variant once
    for v in image.variants.all():
        assert table.group(1).count(f">{v.key}<") == 1
        # Nowhere else on the page as text either (no second listing of the same variant).
        assert page.count(f">{v.key}<") == 1


def test_snippet_escapes_markdown_in_alt_text(live_env, staff) -> None:  # type: ignore[no-untyped-def]
    image = Image(pk=7, alt="  a \\ b ]\n[c  ")
    assert embed_snippet(image) == "![a \\\\ b \\] \\[c](media:7)"


def test_the_same_file_twice_in_one_upload_is_one_image(
    live_env, admin_client, enqueued, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    data = photo(600, 400, 33)
    files = [SimpleUploadedFile(n, data, "image/jpeg") for n in ("a.jpg", "copy-of-a.jpg")]
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post("/admin/media/image/add/", {"alt": "Twice", "upload": files})
    assert r.status_code == 302
    [image] = Image.objects.all()
    assert enqueued == [image.pk]
    listing = admin_client.get(r["Location"]).content.decode()
    assert "images uploaded" not in listing and "was added successfully" in listing
