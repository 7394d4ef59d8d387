"""The image job against the real S3 server (SeaweedFS from conftest)."""

from __future__ import annotations

import dataclasses
import io

import httpx
import pytest
from django.test import Client
from PIL import Image as PILImage

from web.media import jobs, services
from web.media.models import Image, Variant
from web.media.selectors import original_url_for, picture
from web.messaging.handlers import Job, JobContext, Permanent, Retry

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


def photo(w: int = 2400, h: int = 1600) -> bytes:
    im = PILImage.linear_gradient("L").resize((w, h)).convert("RGB")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def ctx(delivered: int = 1) -> JobContext:
    return JobContext(Job("j1", "images.process", {}, {}, delivered, 1, ""))


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(
        username="staff@example.com", is_staff=True, is_superuser=True
    )


def test_upload_then_job_publishes_every_variant(live_env, s3_server, staff) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(), alt="A gradient", uploaded_by=staff)
    assert image.status == Image.Status.PENDING and picture(image) is None

    jobs.images_process({"image_id": image.pk}, ctx())
    image.refresh_from_db()
    assert image.status == Image.Status.READY
    variants = list(image.variants.all())
    kinds = {(v.kind, v.format) for v in variants}
    assert kinds == {
        (k, f) for k in ("w320", "w640", "w1024", "w1600", "thumb") for f in ("webp", "jpeg")
    }

    base = f"{live_env.s3_public_url}/{live_env.bucket_public}"
    with httpx.Client(timeout=10) as http:  # anonymous: no credentials at all
        for v in variants:
            r = http.get(f"{base}/{v.key}")
            assert r.status_code == 200, v.key
            got = PILImage.open(io.BytesIO(r.content))
            assert got.size == (v.width, v.height)
            assert got.format == ("WEBP" if v.format == "webp" else "JPEG")
            assert r.headers["content-type"] == f"image/{v.format}"
            if v.kind.startswith("w"):
                assert v.width == int(v.kind[1:]) and v.height == round(1600 * v.width / 2400)
            assert v.key.startswith(f"img/{image.pk}/{v.kind}-")  # content hash in the key
        # The public bucket is readable by key, not listable.
        assert http.get(f"{base}/").status_code in (401, 403)
        assert http.get(f"{base}?list-type=2").status_code in (401, 403)
        # The original sits in the private bucket and is not readable anonymously...
        private = f"{live_env.s3_public_url}/{live_env.bucket_private}/{image.original_key}"
        assert http.get(private).status_code in (401, 403)
        # ...but is through a short-lived presigned URL, for staff only.
        signed = original_url_for(image=image, user=staff)
        assert "X-Amz-Expires=300" in signed
        r = http.get(signed)
        assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    with pytest.raises(PermissionError):
        original_url_for(image=image, user=type(staff)(username="x", is_staff=False))

    pic = picture(image)
    assert pic is not None and pic.alt == "A gradient" and (pic.width, pic.height) == (1024, 683)
    assert pic.webp_srcset.count("w,") == 3 and " 1600w" in pic.webp_srcset

    # Idempotent: running again changes nothing.
    before = sorted(Variant.objects.filter(image=image).values_list("key", flat=True))
    jobs.images_process({"image_id": image.pk}, ctx(2))
    assert sorted(Variant.objects.filter(image=image).values_list("key", flat=True)) == before


def test_staff_redirect_to_presigned_original(live_env, staff) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(800, 600), alt="small", uploaded_by=staff)
    anon = Client().get(f"/media/originals/{image.pk}")
    assert anon.status_code == 302 and "/admin/login/" in anon["Location"]
    client = Client()
    client.force_login(staff)
    r = client.get(f"/media/originals/{image.pk}")
    assert r.status_code == 302 and "X-Amz-Signature=" in r["Location"]


def test_s3_outage_retries_with_backoff_and_shows_nothing(live_env, settings, staff) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(800, 600), alt="outage", uploaded_by=staff)
    # Reading works, but every write fails: point writes at a closed port half-way.
    real = services.storage.put_variant
    calls = {"n": 0}

    def flaky(client, env, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 2:  # some variants written, then S3 goes away
            dead = dataclasses.replace(env, s3_endpoint="http://127.0.0.1:9")
            client = services.storage.local_client(dead, fast_fail=True)
        return real(client, env, **kw)

    settings.ENV = live_env
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(services.storage, "put_variant", flaky)
        with pytest.raises(Retry) as exc_info:
            jobs.images_process({"image_id": image.pk}, ctx(3))
    assert exc_info.value.delay == jobs.retry_delay(3) == 20.0
    image.refresh_from_db()
    assert image.status == Image.Status.PENDING
    assert not image.variants.exists() and picture(image) is None  # no half-done set visible
    # S3 back: the retry completes the set.
    jobs.images_process({"image_id": image.pk}, ctx(4))
    image.refresh_from_db()
    assert image.status == Image.Status.READY and image.variants.count() == 6


def test_job_for_a_deleted_image_does_nothing(live_env, staff) -> None:  # type: ignore[no-untyped-def]
    # Deleted (image_delete) before its images.process job ran: acked, not a dead letter,
    # and nothing written under the image's prefix.
    image = services.image_upload(data=photo(600, 400), alt="gone", uploaded_by=staff)
    services.image_delete(image_id=image.pk)

    def listing() -> list[tuple[str, str]]:  # (ids restart per test: other tests' keys exist)
        got = services.storage.local_client(live_env).list_objects_v2(
            Bucket=live_env.bucket_public, Prefix=f"img/{image.pk}/"
        )
        return sorted((o["Key"], str(o["LastModified"])) for o in got.get("Contents", []))

    before = listing()
    jobs.images_process({"image_id": image.pk}, ctx())
    assert listing() == before and not Variant.objects.filter(image_id=image.pk).exists()


def test_corrupt_original_is_permanent_and_marks_the_image_failed(live_env, staff) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(600, 400), alt="bad", uploaded_by=staff)
    services.storage.put_original(
        live_env, key=image.original_key, data=b"\xff\xd8 not really", content_type="image/jpeg"
    )
    with pytest.raises(Permanent):
        jobs.images_process({"image_id": image.pk}, ctx())
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED and "cannot be decoded" in image.error


def test_upload_without_alt_text_stores_nothing(live_env) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.UploadRejected, match="Alt text"):
        services.image_upload(data=photo(400, 300), alt="  ")
    assert Image.objects.count() == 0


def test_admin_upload_form(live_env, staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    client.force_login(staff)
    bad = client.post(
        "/admin/media/image/add/",
        {"alt": "x", "upload": SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg")},
    )
    assert bad.status_code == 200 and b"not a JPEG" in bad.content
    assert Image.objects.count() == 0
    enqueued: list[int] = []
    monkeypatch.setattr(services, "_enqueue_process", lambda i, **kw: enqueued.append(i))
    ok = client.post(
        "/admin/media/image/add/",
        {"alt": "ok", "upload": SimpleUploadedFile("p.jpg", photo(500, 400), "image/jpeg")},
    )
    assert ok.status_code == 302
    image = Image.objects.get()
    assert image.alt == "ok" and (image.width, image.height) == (500, 400)


def test_admin_upload_during_an_s3_outage_stores_nothing(live_env, settings, staff) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ENV = dataclasses.replace(live_env, s3_endpoint="http://127.0.0.1:9")
    client = Client()
    client.force_login(staff)
    r = client.post(
        "/admin/media/image/add/",
        {"alt": "ok", "upload": SimpleUploadedFile("p.jpg", photo(500, 400), "image/jpeg")},
    )
    assert r.status_code == 200 and b"not answering, so nothing was saved" in r.content
    assert Image.objects.count() == 0


def test_s3_down_while_reading_the_original_means_retry(live_env, settings, staff) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(600, 400), alt="x", uploaded_by=staff)
    settings.ENV = dataclasses.replace(live_env, s3_endpoint="http://127.0.0.1:9")
    with pytest.raises(Retry) as exc_info:
        jobs.images_process({"image_id": image.pk}, ctx(1))
    assert exc_info.value.delay == 5.0
    image.refresh_from_db()
    assert image.status == Image.Status.PENDING and not image.variants.exists()
