"""The funnel and goal editors (server side), share links after saving, the admin home's
moderation count: what the admin stores and shows (issue 17, items 7, 9, 11)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from web.analytics.models import Goal, Rollup, Site
from web.blog.models import Comment, Post
from web.dashboard import editors
from web.dashboard.models import Funnel, PublicLink

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


def _post_funnel(client: Client, steps: object, **extra: str) -> object:
    data = {"site": "1", "name": "Signup", "steps": json.dumps(steps), **extra}
    return client.post("/admin/dashboard/funnel/add/", data)


def test_funnel_saves_normalised_steps(admin_client: Client) -> None:
    r = _post_funnel(admin_client, [" /pricing/ ", "blog//*", "event:signup", "/docs/"])
    assert r.status_code == 302, r.content.decode()[:2000]
    funnel = Funnel.objects.get(name="Signup")
    # The one rule (goals.normalise_pattern): trailing slash dropped, slashes collapsed,
    # leading slash added; event names kept as typed.
    assert funnel.steps == ["/pricing", "/blog/*", "event:signup", "/docs"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["/"], "A funnel needs at least 2 steps (this one has 1): add a step."),
        ([f"/p{i}" for i in range(9)], "A funnel has at most 8 steps (this one has 9)"),
        (["/", ""], "Step 2 is empty: enter a page path such as /pricing"),
        (["/", "event:", "/x"], "Step 2 is an event step without a name: enter one."),
        (["/", 5], "Step 2 is not text"),
        (["/", "/" + "x" * 600], "Step 2: a goal&#x27;s pattern is longer than 500 characters."),
        ({"a": 1}, "The steps must be a list, such as"),
    ],
)
def test_funnel_errors_name_the_step_and_store_nothing(
    admin_client: Client, steps: object, message: str
) -> None:
    r = _post_funnel(admin_client, steps)
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not Funnel.objects.exists()


def test_funnel_invalid_json_is_explained(admin_client: Client) -> None:
    r = admin_client.post(
        "/admin/dashboard/funnel/add/", {"site": "1", "name": "x", "steps": "[/pricing"}
    )
    body = r.content.decode()
    assert r.status_code == 200 and "The steps are not a valid list. Write them as" in body
    assert "[/pricing" in body  # what was typed comes back to be fixed
    assert not Funnel.objects.exists()


def test_funnel_form_explains_rules_offers_suggestions_and_preselects_the_site(
    admin_client: Client,
) -> None:
    assert list(Site.objects.values_list("pk", flat=True)) == [1]  # a one-site install
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    Rollup.objects.create(site_id=1, hour=now, dim="page", value="/pricing", pageviews=9)
    Rollup.objects.create(site_id=1, hour=now, dim="event", value="signup", events=3)
    body = admin_client.get("/admin/dashboard/funnel/add/").content.decode()
    assert '<option value="1" selected>Hearth</option>' in body
    assert "A trailing slash does not matter (/pricing/ is saved as /pricing" in body
    assert "* matches any characters" in body
    assert "data-steps-editor" in body and "dashboard/editor.js" in body
    assert '<datalist id="id_steps-pages"><option value="/pricing"></option>' in body
    assert '<datalist id="id_steps-events"><option value="signup"></option>' in body


def test_site_not_preselected_with_two_sites(admin_client: Client) -> None:
    Site.objects.create(name="Other", domains=["other.example"])
    assert editors.site_initial() == {}
    body = admin_client.get("/admin/dashboard/funnel/add/").content.decode()
    assert '<option value="1">Hearth</option>' in body and '<option value="1" selected' not in body


def test_goal_form_normalises_and_preselects(admin_client: Client) -> None:
    body = admin_client.get("/admin/analytics/goal/add/").content.decode()
    assert '<option value="1" selected>Hearth</option>' in body
    assert "data-goal-editor" in body and 'type="radio"' in body
    r = admin_client.post(
        "/admin/analytics/goal/add/",
        {"site": "1", "name": "Pricing", "kind": "page", "match": "pricing/"},
    )
    assert r.status_code == 302
    assert Goal.objects.get(name="Pricing").match == "/pricing"


def test_share_link_shows_its_full_url_after_saving(admin_client: Client) -> None:
    r = admin_client.post("/admin/dashboard/publiclink/add/", {"site": "1"}, follow=True)
    link = PublicLink.objects.get()
    url = f"http://testserver/share/{link.key}/"
    # Back on the link's own page, not the list.
    assert r.redirect_chain[-1][0] == f"/admin/dashboard/publiclink/{link.pk}/change/"
    body = r.content.decode()
    assert f'Share link for Hearth created: <a href="{url}"' in body  # the message links it
    assert f'value="{url}"' in body and f'data-copy="#share-url-{link.pk}"' in body
    assert "hearth/copy.js" in body


def test_revoked_share_link_says_so(admin_client: Client) -> None:
    link = PublicLink.objects.create(site_id=1, revoked_at=datetime.now(UTC))
    body = admin_client.get(f"/admin/dashboard/publiclink/{link.pk}/change/").content.decode()
    assert "revoked: it no longer opens" in body and "data-copy" not in body


def test_admin_home_counts_comments_waiting(admin_client: Client, admin_user) -> None:  # type: ignore[no-untyped-def]
    body = admin_client.get("/admin/").content.decode()
    assert "No comments waiting for moderation." in body
    post = Post.objects.create(title="P", slug="p", body_md="x", body_html="x")
    for status in ("pending", "pending", "pending", "approved"):
        Comment.objects.create(post=post, author=admin_user, body_md="hi", status=status)
    body = admin_client.get("/admin/").content.decode()
    assert (
        '<a href="/admin/blog/comment/?status=pending"><strong>3</strong> comments waiting '
        "for moderation</a>"
    ) in body


def test_api_token_form_preselects_the_only_site(admin_client: Client) -> None:
    body = admin_client.get("/admin/dashboard/apitoken/add/").content.decode()
    assert '<option value="1" selected>Hearth</option>' in body
