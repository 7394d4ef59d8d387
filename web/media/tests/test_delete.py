"""Deleting an image removes its rows now and its S3 objects through `images.purge`
(real S3 and NATS servers from conftest)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.test import Client

from web.core.testing.nats import Collector
from web.media import jobs, pipeline, services, storage
from web.media.models import Image, Variant
from web.media.tests.test_job_s3 import ctx, photo
from web.messaging.handlers import Permanent, Retry

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(
        username="staff@example.com", is_staff=True, is_superuser=True
    )


def exists(env: Any, bucket: str, key: str) -> bool:
    """HEAD the object on the real S3 server."""
    try:
        storage.local_client(env).head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in {"404", "NoSuchKey"}, exc
        return False
    return True


def processed(staff: Any, *, w: int = 800, h: int = 600, seed: int = 0) -> Image:
    image = services.image_upload(data=photo(w + seed, h), alt=f"img {seed}", uploaded_by=staff)
    jobs.images_process({"image_id": image.pk}, ctx())
    image.refresh_from_db()
    assert image.status == Image.Status.READY
    return image


def purge_ctx(delivered: int = 1) -> Any:
    c = ctx(delivered)
    return dataclasses.replace(c, job=dataclasses.replace(c.job, type="images.purge"))


def test_delete_purges_every_object_and_row(
    live_env, staff, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    image = processed(staff)
    keys = sorted(image.variants.values_list("key", flat=True))
    assert len(keys) == 6 and all(exists(live_env, live_env.bucket_public, k) for k in keys)
    assert exists(live_env, live_env.bucket_private, image.original_key)

    with Collector(live_env.nats_url, "jobs.images.purge") as wire:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.image_delete(image_id=image.pk) is True
        [payload] = wire.wait_for(1)
    # Rows are gone at once; the objects only once the job ran (they are unreferenced now).
    assert not Image.objects.filter(pk=image.pk).exists()
    assert not Variant.objects.filter(image_id=image.pk).exists()
    assert payload == {"image_id": image.pk, "public": keys, "private": [image.original_key]}

    jobs.images_purge(payload, purge_ctx())
    assert not any(exists(live_env, live_env.bucket_public, k) for k in keys)
    assert not exists(live_env, live_env.bucket_private, image.original_key)
    # Idempotent: a redelivery after success finds the keys gone and still succeeds.
    jobs.images_purge(payload, purge_ctx())
    assert services.image_delete(image_id=image.pk) is False


def test_purge_during_an_s3_outage_retries_with_backoff(live_env, settings, staff) -> None:  # type: ignore[no-untyped-def]
    image = processed(staff)
    keys = list(image.variants.values_list("key", flat=True))
    payload = {"image_id": image.pk, "public": keys, "private": [image.original_key]}
    services.image_delete(image_id=image.pk)

    # S3 not answering: nothing listens on port 9, so every connection is refused.
    settings.ENV = dataclasses.replace(live_env, s3_endpoint="http://127.0.0.1:9")
    with pytest.raises(Retry) as exc_info:
        jobs.images_purge(payload, purge_ctx(2))
    assert exc_info.value.delay == jobs.retry_delay(2) == 10.0
    assert all(exists(live_env, live_env.bucket_public, k) for k in keys)  # nothing lost yet

    settings.ENV = live_env  # S3 is back: the redelivery completes the purge
    jobs.images_purge(payload, purge_ctx())
    assert not any(exists(live_env, live_env.bucket_public, k) for k in keys)
    assert not exists(live_env, live_env.bucket_private, image.original_key)


def test_admin_delete_single_and_bulk_enqueue_the_purge(
    live_env, staff, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    one, two, three = (processed(staff, w=400, h=300, seed=i) for i in range(3))
    client = Client()
    client.force_login(staff)
    with Collector(live_env.nats_url, "jobs.images.purge") as wire:
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(f"/admin/media/image/{one.pk}/delete/", {"post": "yes"})
        assert r.status_code == 302
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(
                "/admin/media/image/",
                {
                    "action": "delete_selected",
                    "_selected_action": [two.pk, three.pk],
                    "post": "yes",
                },
            )
        assert r.status_code == 302
        payloads = wire.wait_for(3)
    assert sorted(p["image_id"] for p in payloads) == sorted([one.pk, two.pk, three.pk])
    assert not Image.objects.filter(pk__in=[one.pk, two.pk, three.pk]).exists()
    for payload in payloads:
        assert len(payload["public"]) == 4 and len(payload["private"]) == 1  # w320 + thumb
        jobs.images_purge(payload, purge_ctx())
    for image in (one, two, three):
        assert not exists(live_env, live_env.bucket_private, image.original_key)


def test_post_whose_cover_and_embed_were_deleted_renders_without_them(live_env, staff) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    from web.blog import services as blog
    from web.blog.models import Post

    image = processed(staff)
    post = blog.post_save(
        post=Post(
            title="Cat",
            body_md=f"Look:\n\n![a cat](media:{image.pk})\n\nNice.",
            status="published",
            published_at=timezone.now() - timedelta(minutes=1),
            cover=image,
        )
    )
    assert Client().get(post.get_absolute_url()).content.count(b"<picture") == 2
    services.image_delete(image_id=image.pk)
    post.refresh_from_db()
    assert post.cover_id is None  # the FK is SET_NULL: the post stays, without a cover
    r = Client().get(post.get_absolute_url())
    body = r.content.decode()
    assert r.status_code == 200 and "Nice." in body
    assert "<picture" not in body and "media:" not in body and f"img/{image.pk}/" not in body


def test_reprocessing_with_new_bytes_purges_only_the_stale_variants(
    live_env, staff, monkeypatch, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    image = processed(staff)
    before = dict(image.variants.values_list("key", "format"))
    monkeypatch.setattr(pipeline, "WEBP_QUALITY", 60)  # a pipeline change: new WebP bytes
    Image.objects.filter(pk=image.pk).update(status=Image.Status.PENDING)
    purges: list[dict[str, Any]] = []
    monkeypatch.setattr(
        services, "enqueue_purge", lambda i, **kw: purges.append({"image_id": i, **kw})
    )
    with django_capture_on_commit_callbacks(execute=True):
        jobs.images_process({"image_id": image.pk}, ctx())
    after = set(image.variants.values_list("key", flat=True))
    stale = sorted(k for k, f in before.items() if f == "webp")
    assert len(after) == 6 and not after & set(stale)
    assert purges == [{"image_id": image.pk, "public": stale, "private": []}]
    jobs.images_purge(purges[0], purge_ctx())
    assert not any(exists(live_env, live_env.bucket_public, k) for k in stale)
    assert all(exists(live_env, live_env.bucket_public, k) for k in after)  # JPEGs kept


def test_image_deleted_while_processing_purges_what_the_job_wrote(
    live_env, staff, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    image = services.image_upload(data=photo(700, 500), alt="racy", uploaded_by=staff)
    purges: list[dict[str, Any]] = []
    monkeypatch.setattr(
        services, "enqueue_purge", lambda i, **kw: purges.append({"image_id": i, **kw})
    )
    real_render = services.render_variants

    def render_then_delete(data: bytes, **kw: Any) -> list[pipeline.Rendered]:
        services.image_delete(image_id=image.pk)  # the admin deletes it mid-job
        return real_render(data, **kw)

    monkeypatch.setattr(services, "render_variants", render_then_delete)
    jobs.images_process({"image_id": image.pk}, ctx())
    assert not Variant.objects.filter(image_id=image.pk).exists()
    [purge] = purges  # (the delete's own purge is on_commit, not run in this test txn)
    assert len(purge["public"]) == 6
    assert all(exists(live_env, live_env.bucket_public, k) for k in purge["public"])
    jobs.images_purge(purge, purge_ctx())
    assert not any(exists(live_env, live_env.bucket_public, k) for k in purge["public"])


def test_reupload_after_delete_is_not_hit_by_the_old_purge(live_env, staff) -> None:  # type: ignore[no-untyped-def]
    data = photo(500, 400)
    first = services.image_upload(data=data, alt="a", uploaded_by=staff)
    assert services.image_upload(data=data, alt="again", uploaded_by=staff).pk == first.pk  # dedupe
    services.image_delete(image_id=first.pk)
    second = services.image_upload(data=data, alt="b", uploaded_by=staff)
    # Same bytes, same sha256, but a key of its own: the first image's purge cannot reach it.
    assert second.sha256 == first.sha256 and second.original_key != first.original_key
    jobs.images_purge(
        {"image_id": first.pk, "public": [], "private": [first.original_key]}, purge_ctx()
    )
    assert not exists(live_env, live_env.bucket_private, first.original_key)
    assert exists(live_env, live_env.bucket_private, second.original_key)


def test_purge_refuses_keys_of_other_images_or_live_rows(live_env, staff) -> None:  # type: ignore[no-untyped-def]
    image = processed(staff, w=400, h=300)
    live = list(image.variants.values_list("key", flat=True))
    with pytest.raises(Permanent):
        jobs.images_purge({"image_id": image.pk + 1, "public": live, "private": []}, purge_ctx())
    with pytest.raises(Permanent):
        jobs.images_purge({"image_id": image.pk, "public": [], "private": ["x/y"]}, purge_ctx())
    # A late or replayed purge naming keys a row still uses leaves them alone.
    jobs.images_purge(
        {"image_id": image.pk, "public": live, "private": [image.original_key]}, purge_ctx()
    )
    assert all(exists(live_env, live_env.bucket_public, k) for k in live)
    assert exists(live_env, live_env.bucket_private, image.original_key)


def test_purge_job_ids_differ_when_the_keys_differ(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Ids restart after a database restore (and in every test): a bare images.purge.<id>
    # would be dropped by JetStream's dedupe window as a copy of an older image's purge.
    import web.messaging.jobs

    ids: list[str] = []
    monkeypatch.setattr(web.messaging.jobs, "enqueue", lambda t, p, *, id: ids.append(id) or id)
    services.enqueue_purge(7, public=["img/7/a.webp"], private=["originals/aa/x-1.jpg"])
    services.enqueue_purge(7, public=["img/7/a.webp"], private=["originals/aa/x-1.jpg"])
    services.enqueue_purge(7, public=["img/7/b.webp"], private=["originals/aa/y-2.jpg"])
    assert ids[0] == ids[1] != ids[2] and all(i.startswith("images.purge.7.") for i in ids)


def test_a_bare_queryset_delete_purges_too(
    live_env, staff, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    # Not through image_delete: the pre_delete handler (signals.py) still enqueues the purge.
    image = processed(staff, seed=7)
    keys = sorted(image.variants.values_list("key", flat=True))
    with Collector(live_env.nats_url, "jobs.images.purge") as wire:
        with django_capture_on_commit_callbacks(execute=True):
            Image.objects.filter(pk=image.pk).delete()
        [payload] = wire.wait_for(1)
    assert payload == {"image_id": image.pk, "public": keys, "private": [image.original_key]}
    jobs.images_purge(payload, purge_ctx())
    assert not any(exists(live_env, live_env.bucket_public, k) for k in keys)
    assert not exists(live_env, live_env.bucket_private, image.original_key)
