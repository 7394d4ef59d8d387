"""The details view (every value of a breakdown, searched and paged), history notes on the
panels, and panels loading as independent requests; checked against the raw seeded rows."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from web.analytics.history import services as hs
from web.analytics.models import Event, Session
from web.dashboard.panels import PANELS
from web.dashboard.services import public_link_create, public_link_revoke
from web.dashboard.tests.conftest import FIRST, LAST, RANGE

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture
def sealed(seeded: dict[str, int]) -> dict[str, int]:
    hs.history_seal_all()
    return seeded


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(get_user_model().objects.create(username="owner", is_staff=True))
    return client


class _Table(HTMLParser):
    """Rows of the details table: [value, href, cell, cell, ...]; plus the pager links."""

    def __init__(self) -> None:
        super().__init__()
        self.head: list[str] = []
        self.rows: list[list[str]] = []
        self.links: dict[str, str] = {}
        self._in: str | None = None
        self._row: list[str] | None = None
        self._href = ""
        self._th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self._row, self._href, self._th = [], "", False
        elif tag in ("td", "th") and self._row is not None:
            self._in, self._th = tag, self._th or tag == "th"
            self._row.append("")
        elif tag == "a" and a.get("rel") in ("prev", "next"):
            self.links[a["rel"] or ""] = a.get("href") or ""
        elif tag == "a" and a.get("data-filter") and self._row is not None:
            self._href = a.get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in = None
        elif tag == "tr" and self._row is not None:
            if self._th:
                self.head = self._row
            else:
                self.rows.append([self._row[0], self._href, *self._row[1:]])
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in and self._row is not None:
            self._row[-1] += data.strip()


def _details(client: Client, name: str, **params: Any) -> _Table:
    resp = client.get(f"/dashboard/1/details/{name}/", params)
    assert resp.status_code == 200, resp.content[:300]
    t = _Table()
    t.feed(resp.content.decode())
    return t


def _query(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def _sessions(**filters: Any) -> Any:
    return Session.objects.filter(
        site_id=1, started_at__date__gte=FIRST, started_at__date__lte=LAST, **filters
    )


def test_pages_details_page_through_every_value(staff: Client, sealed: dict[str, int]) -> None:
    pageviews: dict[str, int] = {}
    for path in Event.objects.filter(site_id=1, kind="pageview").values_list("path", flat=True):
        pageviews[path] = pageviews.get(path, 0) + 1
    assert len(pageviews) > 100  # more than one page of values
    seen: list[list[str]] = []
    t = _details(staff, "pages", **RANGE)
    # Scroll depth is a pages metric since issue 16 (item 5); pages have no Visits column
    # (issue 17 item 4: page rollups count none, so it was 0 on every unfiltered row).
    assert t.head == ["Top pages", "Pageviews", "Visitors", "Scroll depth"]
    assert len(t.rows) == 100 and "prev" not in t.links
    pages = 1
    while True:
        seen += t.rows
        if "next" not in t.links:
            break
        nxt = _query(t.links["next"])
        assert nxt["offset"] == str(100 * pages) and nxt["from"] == RANGE["from"]
        t = _details(staff, "pages", **nxt)
        assert "prev" in t.links
        pages += 1
    assert pages == -(-len(pageviews) // 100)
    # Every value once, with its pageviews, in the panel's order (pageviews desc, value).
    assert {r[0]: int(r[2].replace(",", "")) for r in seen} == pageviews
    assert len(seen) == len(pageviews)
    order = [(-int(r[2].replace(",", "")), r[0]) for r in seen]
    assert order == sorted(order)
    # A value links to the dashboard with the range and the value as a filter.
    href = seen[0][1]
    assert urlsplit(href).path == "/dashboard/1/"
    assert _query(href) == {**RANGE, "page": seen[0][0]}


def test_search_under_a_filter_matches_raw_rows(staff: Client, sealed: dict[str, int]) -> None:
    de = set(_sessions(country="DE").values_list("id", flat=True))
    want: dict[str, int] = {}
    for path in Event.objects.filter(
        site_id=1, kind="pageview", session_id__in=de, path__icontains="post-1"
    ).values_list("path", flat=True):
        want[path] = want.get(path, 0) + 1
    assert len(want) > 3
    t = _details(staff, "pages", **RANGE, country="DE", search="POST-1")  # any case
    assert {r[0]: int(r[2]) for r in t.rows} == want
    # The search survives paging links and the filter chips; a value keeps the filter.
    assert _query(t.rows[0][1]) == {**RANGE, "country": "DE", "page": t.rows[0][0]}
    html = staff.get("/dashboard/1/details/pages/", {**RANGE, "country": "DE"}).content.decode()
    assert 'aria-label="Remove filter Country"' in html
    assert 'name="country" value="DE"' in html  # the search form keeps the filter
    none = staff.get("/dashboard/1/details/pages/", {**RANGE, "search": "no-such-page"})
    assert "Nothing matches “no-such-page”" in none.content.decode()


def test_session_dimension_details_have_the_visit_metrics(
    staff: Client, sealed: dict[str, int]
) -> None:
    t = _details(staff, "sources", **RANGE, device="mobile")
    assert t.head == ["Sources", "Visitors", "Visits", "Pageviews", "Bounce rate", "Visit duration"]
    by = {r[0]: r for r in t.rows}
    google = _sessions(device="mobile", source="Google")
    assert int(by["Google"][3]) == google.count() > 0
    assert int(by["Google"][4]) == sum(s.pageviews for s in google)
    bounce = round(100 * google.filter(is_bounce=True).count() / google.count())
    assert by["Google"][5] == f"{bounce}%"
    assert re.fullmatch(r"(\d+m \d\ds|\d+s)", by["Google"][6])


def test_property_details_and_prop_filter(staff: Client, sealed: dict[str, int]) -> None:
    signups = Event.objects.filter(site_id=1, kind="custom", name="signup")
    counts: dict[str, int] = {}
    for e in signups:
        counts[e.props["plan"]] = counts.get(e.props["plan"], 0) + 1
    t = _details(staff, "props", **RANGE, key="plan")
    assert t.head == ["Property plan", "Events", "Visitors", "Visits"]
    assert {r[0]: int(r[2]) for r in t.rows} == counts
    pro = next(r for r in t.rows if r[0] == "pro")
    assert _query(pro[1]) == {**RANGE, "prop:plan": "pro"}
    # The filter it applies: visits with a custom event whose plan is pro.
    visits = {e.session_id for e in signups if e.props["plan"] == "pro"}
    top = staff.get("/dashboard/1/panel/top/", _query(pro[1])).content.decode()
    assert re.search(rf'data-metric="visits">.*?class="value">{len(visits)}<', top, re.S)
    page = staff.get("/dashboard/1/", _query(pro[1])).content.decode()
    assert "Property plan: <b>pro</b>" in page
    # The props sub-panel of the events panel links to these details and filters.
    sub = staff.get("/dashboard/1/panel/props/", {**RANGE, "name": "signup"}).content.decode()
    assert "/dashboard/1/details/props/?range=custom" in sub and "key=plan" in sub
    assert "prop:plan=pro" in sub


def test_every_breakdown_panel_links_to_its_details(staff: Client, sealed: dict[str, int]) -> None:
    for name in ("pages", "entry", "exit", "sources", "countries", "browsers", "events", "goals"):
        html = staff.get(f"/dashboard/1/panel/{name}/", {**RANGE, "os": "Linux"}).content.decode()
        m = re.search(r'<a class="more" href="([^"]+)"', html)
        assert m, name
        href = m.group(1).replace("&amp;", "&")
        assert urlsplit(href).path == f"/dashboard/1/details/{name}/"
        assert _query(href) == {**RANGE, "os": "Linux"}
        t = _details(staff, name, **_query(href))
        assert t.rows, name
        assert all(_query(r[1]).get("os") == "Linux" for r in t.rows)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("pages", {"offset": "-1"}, "offset must be a whole number"),
        ("pages", {"offset": "ten"}, "offset must be a whole number"),
        ("pages", {"search": "x" * 201}, "search is longer than 200"),
        ("shoes", {}, "unknown panel 'shoes'"),
        ("props", {}, "props details need key="),
        ("pages", {"range": "forever"}, "unknown range"),
    ],
)
def test_bad_details_requests_are_400(
    staff: Client, seeded: dict[str, int], name: str, params: dict[str, str], message: str
) -> None:
    resp = staff.get(f"/dashboard/1/details/{name}/", params)
    assert resp.status_code == 400
    assert message in resp.content.decode()


def test_details_are_staff_only_or_public_link(client: Client, sealed: dict[str, int]) -> None:
    assert client.get("/dashboard/1/details/pages/").status_code == 302
    link = public_link_create(site_id=1)
    html = client.get(f"/share/{link.key}/details/sources/", RANGE).content.decode()
    assert f'href="/share/{link.key}/?range=custom' in html  # values stay on the public link
    panel = client.get(f"/share/{link.key}/panel/sources/", RANGE).content.decode()
    assert f'href="/share/{link.key}/details/sources/?range=custom' in panel
    public_link_revoke(link_id=link.pk)
    assert client.get(f"/share/{link.key}/details/sources/").status_code == 404


def test_every_panel_says_when_the_history_is_behind(staff: Client, seeded: dict[str, int]) -> None:
    """Seeded events are not sealed yet (and older than a minute): every panel the history
    answers says the figures miss them (all of them under a filter; goals, funnels and props
    also unfiltered), while unfiltered rollup panels, which are current, say nothing; once
    sealed, no panel says anything."""

    def notes(params: dict[str, str]) -> dict[str, bool]:
        out = {}
        for name in PANELS:
            html = staff.get(f"/dashboard/1/panel/{name}/", params).content.decode()
            out[name] = "data-history-note" in html and "not in these figures yet" in html
        props = staff.get("/dashboard/1/panel/props/", {**params, "name": "signup"})
        out["props"] = "not in these figures yet" in props.content.decode()
        details = staff.get("/dashboard/1/details/pages/", params)
        out["details"] = "not in these figures yet" in details.content.decode()
        return out

    filtered = {**RANGE, "country": "DE"}
    assert notes(filtered) == dict.fromkeys([*PANELS, "props", "details"], True)
    history_only = {"goals", "funnels", "props"}
    assert notes(RANGE) == {n: n in history_only for n in [*PANELS, "props", "details"]}
    hs.history_seal_all()
    assert notes(filtered) == dict.fromkeys([*PANELS, "props", "details"], False)
    assert notes(RANGE) == dict.fromkeys([*PANELS, "props", "details"], False)


def test_panels_load_as_independent_requests(staff: Client, sealed: dict[str, int]) -> None:
    """Each panel is its own htmx request fired on load (none waits for another, ADR-23),
    and each answers alone with the page's range and filters."""
    html = staff.get("/dashboard/1/", {**RANGE, "country": "DE"}).content.decode()
    sections = re.findall(r'<section id="panel-([\w]+)"[^>]*hx-get="([^"]+)"([^>]*)>', html)
    assert sorted(n for n, _, _ in sections) == sorted(PANELS)
    for name, url, rest in sections:
        assert 'hx-trigger="load"' in rest and "hx-sync" not in rest, name
        resp = staff.get(url.replace("&amp;", "&"))
        assert resp.status_code == 200, name
        assert urlsplit(url).path == f"/dashboard/1/panel/{name}/"
        assert _query(url.replace("&amp;", "&")) == {**RANGE, "country": "DE"}
    assert "hx-sync" not in html


def test_pages_have_scroll_depth_from_the_raw_rows(staff: Client, sealed: dict[str, int]) -> None:
    """Plausible's scroll depth (mean over visits of the deepest scroll on the page) on the
    pages panel, details and CSV (issue 16 item 5); the CSV has only the page metrics, no
    visits column of zeros (issue 17 item 4)."""
    from collections import defaultdict

    deepest: dict[tuple[str, int], int] = defaultdict(int)
    rows = Event.objects.filter(site_id=1, kind="engagement", ts__date__gte=FIRST,
                                ts__date__lte=LAST)  # fmt: skip
    for path, sid, scroll in rows.values_list("path", "session_id", "scroll"):
        deepest[(path, sid)] = max(deepest[(path, sid)], scroll)
    depth: dict[str, list[int]] = defaultdict(list)
    for (path, _), scroll in deepest.items():
        if scroll > 0:
            depth[path].append(scroll)
    resp = staff.get("/dashboard/1/panel/pages/", {**RANGE, "format": "csv"})
    lines = resp.content.decode().splitlines()
    assert lines[0] == "value,pageviews,visitors,scroll_depth"
    assert len(lines) - 1 == len(depth) > 100  # the CSV has every page (up to 1,000)
    for line in lines[1:]:
        path, _, _, scroll = line.split(",")
        assert float(scroll) == round(sum(depth[path]) / len(depth[path]), 1)
    t = _details(staff, "pages", **RANGE)
    first = t.rows[0]
    mean = round(sum(depth[first[0]]) / len(depth[first[0]]), 1)
    assert first[4] == f"{int(mean + 0.5)}%"
    panel = staff.get("/dashboard/1/panel/pages/", RANGE).content.decode()
    assert re.findall(r'<th class="num">([^<]+)</th>', panel) == [
        "Pageviews", "Visitors", "Scroll depth"]  # fmt: skip


def test_exit_panel_has_exits_and_exit_rate(staff: Client, sealed: dict[str, int]) -> None:
    """One Exits column (it showed "Visits" twice) and the exit rate: exits / pageviews."""
    html = staff.get("/dashboard/1/panel/exit/", RANGE).content.decode()
    assert re.findall(r'<th class="num">([^<]+)</th>', html) == ["Exits", "Exit rate"]
    lines = staff.get("/dashboard/1/panel/exit/", {**RANGE, "format": "csv"}).content.decode()
    head, first, *_ = lines.splitlines()
    assert head == "value,visits,exit_rate"
    path, exits, rate = first.split(",")
    views = Event.objects.filter(
        site_id=1, kind="pageview", path=path, ts__date__gte=FIRST, ts__date__lte=LAST
    ).count()
    assert int(exits) == _sessions(exit_path=path).count()
    assert float(rate) == round(int(exits) / views, 4)
