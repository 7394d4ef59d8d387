"""Comments: sign-in required, sanitised, rate limited, moderated, published live on NATS."""

from __future__ import annotations

import time

import pytest
from django.contrib.admin.sites import site as admin_site
from django.test import Client

from web.accounts.models import Profile
from web.blog import services
from web.blog.models import Comment
from web.core.testing.nats import Collector
from web.live.channels import is_public_channel

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture
def reader(django_user_model):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(username="r@example.com", email="r@example.com")
    Profile.objects.create(user=user, display_name="Rita")
    return user


@pytest.fixture
def post(make_post):  # type: ignore[no-untyped-def]
    return make_post("Commented post")


def test_anonymous_is_sent_to_sign_in(post) -> None:  # type: ignore[no-untyped-def]
    r = Client().post(f"{post.get_absolute_url()}comments", {"body": "hi"})
    assert r.status_code == 303 and r["Location"].startswith("/accounts/sign-in/")
    assert Comment.objects.count() == 0


def test_reader_comment_is_sanitised_and_waits_for_moderation(post, reader) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(reader)
    r = client.post(
        f"{post.get_absolute_url()}comments",
        {"body": "Nice <script>alert(1)</script> [x](javascript:alert(1)) **post**"},
    )
    assert r.status_code == 303 and "posted=pending" in r["Location"]
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.PENDING
    assert "<script" not in comment.body_html and "&lt;script&gt;" in comment.body_html
    assert "href" not in comment.body_html  # the javascript: link stays inert text
    assert "<strong>post</strong>" in comment.body_html
    page = client.get(post.get_absolute_url()).content.decode()
    assert "<strong>post</strong>" not in page  # not shown before approval


def test_empty_and_overlong_comments_are_refused(post, reader) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(reader)
    assert client.post(f"{post.get_absolute_url()}comments", {"body": "  "}).status_code == 400
    long = "x" * (services.COMMENT_MAX_CHARS + 1)
    assert client.post(f"{post.get_absolute_url()}comments", {"body": long}).status_code == 400
    assert Comment.objects.count() == 0


def test_comments_on_drafts_are_refused(make_post, reader) -> None:  # type: ignore[no-untyped-def]
    draft = make_post("Draft", status="draft")
    with pytest.raises(services.CommentRejected) as exc:
        services.comment_create(post=draft, author=reader, body="hi")
    assert exc.value.status == 404


def test_rate_limit_per_user(post, reader) -> None:  # type: ignore[no-untyped-def]
    for i in range(services.COMMENTS_PER_MINUTE[0]):
        services.comment_create(post=post, author=reader, body=f"comment {i}")
    with pytest.raises(services.CommentRejected) as exc:
        services.comment_create(post=post, author=reader, body="one too many")
    assert exc.value.status == 429
    assert Comment.objects.count() == services.COMMENTS_PER_MINUTE[0]


def test_trusted_readers_are_auto_approved(post, reader, settings, django_user_model) -> None:  # type: ignore[no-untyped-def]
    settings.BLOG_COMMENT_TRUST_AFTER = 2
    staff = django_user_model.objects.create_user(username="s@example.com", is_staff=True)
    first = services.comment_create(post=post, author=reader, body="one")
    second = services.comment_create(post=post, author=reader, body="two")
    assert first.status == second.status == Comment.Status.PENDING
    for c in (first, second):
        services.comment_moderate(comment=c, status=Comment.Status.APPROVED, by=staff)
    third = services.comment_create(post=post, author=reader, body="three")
    assert third.status == Comment.Status.APPROVED
    # One comment marked spam removes the earned trust.
    services.comment_moderate(comment=third, status=Comment.Status.SPAM, by=staff)
    Profile.objects.filter(user=reader).update(trusted=False)
    time.sleep(0)  # (no clock dependence; the minute limit allows 3)
    with pytest.raises(services.CommentRejected):  # 4th in a minute: rate limited
        services.comment_create(post=post, author=reader, body="four")


def test_explicitly_trusted_profile_skips_the_queue(post, reader) -> None:  # type: ignore[no-untyped-def]
    Profile.objects.filter(user=reader).update(trusted=True)
    reader.refresh_from_db()
    assert services.comment_create(post=post, author=reader, body="hi").status == "approved"


def test_comment_channel_is_public_only_for_published_posts(post, make_post) -> None:  # type: ignore[no-untyped-def]
    draft = make_post("Hidden", status="draft")
    assert is_public_channel(f"comments.post_{post.pk}")
    assert not is_public_channel(f"comments.post_{draft.pk}")
    assert not is_public_channel("comments.post_abc")


def test_pending_goes_to_admin_alerts_and_approval_to_readers_over_nats(  # type: ignore[no-untyped-def]
    live_env, post, reader, admin_user, django_capture_on_commit_callbacks
) -> None:
    with (
        Collector(live_env.nats_url, f"events.comments.post_{post.pk}") as readers,
        Collector(live_env.nats_url, "events.alerts.comments") as admins,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            comment = services.comment_create(post=post, author=reader, body="Hello *live*")
        [alert] = admins.wait_for(1)
        assert alert["type"] == "comment.pending" and alert["id"] == comment.pk
        assert alert["url"] == f"/admin/blog/comment/{comment.pk}/change/"
        assert readers.messages == []  # nothing public before approval

        client = Client()
        client.force_login(admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(
                "/admin/blog/comment/",
                {"action": "approve", "_selected_action": [comment.pk], "status": "pending"},
            )
        assert r.status_code == 302
        [event] = readers.wait_for(1)
        assert event["type"] == "comment.approved" and event["id"] == comment.pk
        assert "<em>live</em>" in event["html"] and "Rita" in event["html"]
        assert f'id="comment-{comment.pk}"' in event["html"]
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED and comment.moderated_by == admin_user
    assert "<em>live</em>" in Client().get(post.get_absolute_url()).content.decode()
    assert admin_site.is_registered(Comment)


def test_unapproving_withdraws_the_comment_live(  # type: ignore[no-untyped-def]
    live_env, post, reader, admin_user, django_capture_on_commit_callbacks
) -> None:
    comment = services.comment_create(post=post, author=reader, body="soon gone")
    with Collector(live_env.nats_url, f"events.comments.post_{post.pk}") as readers:
        with django_capture_on_commit_callbacks(execute=True):
            services.comment_moderate(comment=comment, status="approved", by=admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            services.comment_moderate(comment=comment, status="spam", by=admin_user)
        events = readers.wait_for(2)
    assert [e["type"] for e in events] == ["comment.approved", "comment.withdrawn"]
    assert events[1]["id"] == comment.pk
    with pytest.raises(ValueError):
        services.comment_moderate(comment=comment, status="pending", by=admin_user)
