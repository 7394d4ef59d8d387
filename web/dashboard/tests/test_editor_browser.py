"""The admin's funnel and goal editors and the share link page in headless Chromium against
the real ASGI app with seeded traffic (issue 17, items 7 and 9): a 3-step funnel is built
row by row (add, choose Event, reorder, remove) and the saved Funnel row is checked in the
database; the forms fit a phone; screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from web.core.testing import assert_fits, run_django
from web.dashboard.tests import serve
from web.dashboard.tests.serve import App

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(nats_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    with serve.running(nats_server.url, tmp_path_factory.mktemp("editor-app")) as a:
        yield a


@pytest.fixture
def open_page(app: App, browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []
    errors: list[str] = []

    def open_(path: str, width: int = 1280, height: int = 800) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
        ctx.add_cookies([{"name": "sessionid", "value": app.session, "url": app.url}])
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.goto(app.url + path)
        return pg

    yield open_
    for ctx in contexts:
        ctx.close()
    assert errors == [], errors


def _funnel(app: App, name: str) -> dict[str, Any]:
    code = (
        "import json; from web.dashboard.models import Funnel;"
        f"f = Funnel.objects.get(name={name!r}); print(json.dumps([f.site_id, f.steps]))"
    )
    site_id, steps = json.loads(run_django(app.env, code))
    return {"site_id": site_id, "steps": steps}


def test_build_a_three_step_funnel_in_the_editor(app: App, open_page: Any) -> None:
    pg = open_page("/admin/dashboard/funnel/add/")
    rows = pg.locator(".steps-row")
    rows.first.wait_for()
    # The JSON field is replaced by rows; the site is preselected (one-site install).
    assert pg.locator("textarea[name=steps]").is_hidden()
    assert rows.count() == 2
    assert pg.locator("#id_site").input_value() == "1"
    # The rules are explained beside the editor.
    help_text = pg.locator(".form-row.field-steps").inner_text()
    assert "trailing slash does not matter" in help_text and "/blog/*" in help_text
    # The pick lists hold the site's pages and events (from the seeded traffic).
    pages = pg.eval_on_selector_all("#id_steps-pages option", "os => os.map(o => o.value)")
    events = pg.eval_on_selector_all("#id_steps-events option", "os => os.map(o => o.value)")
    assert "/pricing" in pages and "signup" in events

    pg.fill("#id_name", "Browser funnel")
    rows.nth(0).locator(".steps-value").fill("/pricing/")  # trailing slash: saved without
    rows.nth(1).locator(".steps-value").fill("/")
    pg.click(".steps-add")
    rows.nth(2).locator(".steps-kind").select_option("event")
    assert rows.nth(2).locator(".steps-value").get_attribute("list") == "id_steps-events"
    rows.nth(2).locator(".steps-value").fill("signup")
    # Reorder: "/" first, then "/pricing/".
    rows.nth(1).locator(".steps-up").click()
    # Add a fourth step and remove it again.
    pg.click(".steps-add")
    assert rows.count() == 4
    rows.nth(3).locator(".steps-value").fill("/docs/*")
    rows.nth(3).locator(".steps-remove").click()
    assert rows.count() == 3
    assert json.loads(pg.locator("textarea[name=steps]").input_value()) == [
        "/",
        "/pricing/",
        "event:signup",
    ]
    assert_fits(pg, "admin-funnel-editor")
    pg.click("input[name=_continue]")
    pg.wait_for_url("**/admin/dashboard/funnel/*/change/")
    saved = _funnel(app, "Browser funnel")
    assert saved == {"site_id": 1, "steps": ["/", "/pricing", "event:signup"]}
    # The change page shows the stored (normalised) steps in the editor again.
    values = pg.eval_on_selector_all(".steps-value", "els => els.map(e => e.value)")
    kinds = pg.eval_on_selector_all(".steps-kind", "els => els.map(e => e.value)")
    assert values == ["/", "/pricing", "signup"] and kinds == ["page", "page", "event"]


def test_funnel_editor_shows_what_to_fix_and_stores_nothing(app: App, open_page: Any) -> None:
    pg = open_page("/admin/dashboard/funnel/add/")
    pg.locator(".steps-row").first.wait_for()
    pg.fill("#id_name", "Half done")
    pg.locator(".steps-row").nth(0).locator(".steps-value").fill("/")
    pg.locator(".steps-row").nth(1).locator(".steps-kind").select_option("event")
    pg.click("input[name=_save]")
    pg.wait_for_load_state()
    error = pg.locator(".field-steps .errorlist").inner_text()
    assert "Step 2 is an event step without a name: enter one." in error
    # The rows come back as they were, to be fixed.
    assert pg.eval_on_selector_all(".steps-kind", "els => els.map(e => e.value)") == [
        "page",
        "event",
    ]
    assert_fits(pg, "admin-funnel-error")
    count = "from web.dashboard.models import Funnel as F; print(F.objects.filter(name='Half done')"
    count += ".count())"
    assert run_django(app.env, count) == "0"


def test_funnel_editor_fits_a_phone(open_page: Any) -> None:
    pg = open_page("/admin/dashboard/funnel/add/", 390, 844)
    pg.locator(".steps-row").first.wait_for()
    pg.click(".steps-add")
    assert_fits(pg, "admin-funnel-editor")


def test_goal_editor_switches_pick_list_with_kind(app: App, open_page: Any) -> None:
    pg = open_page("/admin/analytics/goal/add/")
    match = pg.locator("#id_match")
    assert pg.locator("#id_site").input_value() == "1"
    assert match.get_attribute("list") == "id_match-events"  # default kind: event
    pg.check("input[name=kind][value=page]")
    assert match.get_attribute("list") == "id_match-pages"
    assert "/pricing" in (match.get_attribute("placeholder") or "")
    pg.fill("#id_name", "Docs visit")
    match.fill("docs/*/")
    assert_fits(pg, "admin-goal-editor")
    pg.click("input[name=_save]")
    pg.wait_for_url("**/admin/analytics/goal/")
    stored = run_django(app.env, "from web.analytics.models import Goal;"
                                 "print(Goal.objects.get(name='Docs visit').match)")  # fmt: skip
    assert stored == "/docs/*"


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)])
def test_share_link_url_and_copy_after_saving(
    app: App, open_page: Any, size: tuple[int, int]
) -> None:
    pg = open_page("/admin/dashboard/publiclink/add/", *size)
    assert pg.locator("#id_site").input_value() == "1"
    pg.click("input[name=_save]")
    pg.wait_for_url("**/admin/dashboard/publiclink/*/change/")
    field = pg.locator(".share-url input")
    url = field.input_value()
    assert url.startswith(app.url + "/share/") and url.endswith("/")
    # The success message links to the share page.
    link = pg.locator(".messagelist a")
    assert link.get_attribute("href") == url
    pg.click(".share-url button[data-copy]")
    pg.wait_for_function(
        "() => document.querySelector('.share-url button').textContent === 'Copied'"
    )
    assert pg.evaluate("navigator.clipboard.readText()") == url
    assert_fits(pg, "admin-share-link")
    # The copied address opens the public dashboard.
    share = pg.context.new_page()
    assert share.goto(url).status == 200
