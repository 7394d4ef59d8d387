"""Hardening (issue 15, security items 1, 5 and 11): download filenames, strict parameter
parsing (400, never 500) and the stats API's answers to other methods."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from web.dashboard.services import public_link_create, token_create
from web.dashboard.tests.conftest import RANGE

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])

SAFE_ATTACHMENT = re.compile(r'attachment; filename="[A-Za-z0-9._-]{1,80}\.(csv|zip)"')


@pytest.fixture
def anon() -> Client:
    """An anonymous client that answers a server error as a 500 instead of raising."""
    return Client(raise_request_exception=False)


@pytest.fixture
def share(seeded: dict[str, int]) -> str:
    return f"/share/{public_link_create(site_id=1).key}"


# --- item 1: download filenames -------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        "x\"; filename*=UTF-8''report.html; x=\"",  # a second filename the browser prefers
        "signup\r\nSet-Cookie: a=b",  # a header break: was a 500
        "../../etc/passwd",
        "é" * 300,
        "",
    ],
)
def test_csv_filename_from_the_share_link_is_built_from_safe_parts(
    anon: Client, share: str, event: str
) -> None:
    resp = anon.get(f"{share}/panel/props/", {**RANGE, "name": event, "format": "csv"})
    assert resp.status_code == 200
    assert SAFE_ATTACHMENT.fullmatch(resp["Content-Disposition"]), resp["Content-Disposition"]
    assert "filename*" not in resp["Content-Disposition"]
    assert "Set-Cookie" not in resp.headers


def test_every_download_filename_is_safe(anon: Client, share: str) -> None:
    resp = anon.get(f"{share}/panel/sources/", {**RANGE, "format": "csv"})
    assert resp["Content-Disposition"] == 'attachment; filename="1-sources-custom.csv"'


@pytest.mark.parametrize(
    ("parts", "name"),
    [
        ((1, "props", "signup"), "1-props-signup.csv"),
        ((1, "props", "x\"; filename*=UTF-8''a.html"), "1-props-x_filename_UTF-8_a.html.csv"),
        ((1, "props", "..", "."), "1-props.csv"),
        (("", "\r\n"), "export.csv"),
        ((1, "a" * 200), "1-" + "a" * 78 + ".csv"),
    ],
)
def test_download_name(parts: tuple[Any, ...], name: str) -> None:
    from web.dashboard.views import download_name

    assert download_name(*parts, ext="csv") == name


# --- item 5: every parameter parsed strictly, bad input is a 400 with a message --------------


@pytest.fixture
def token(seeded: dict[str, int]) -> str:
    return token_create(name="t", site_ids=[1])[1]


def _api(client: Client, path: str, token: str, **params: str) -> Any:
    return client.get(path, params, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"site_id": "²"}, "site_id is required and must be a whole number"),
        ({"site_id": "\u0661"}, "site_id is required and must be a whole number"),  # Arabic-Indic 1
        ({"site_id": "0"}, "site_id is required and must be a whole number"),
        ({"site_id": "-1"}, "site_id is required and must be a whole number"),
        ({"site_id": "9" * 30}, "site_id is required and must be a whole number"),
        ({"site_id": "9" * 5000}, "site_id is required and must be a whole number"),
        ({"site_id": "1", "property": "page", "limit": "²"}, "limit must be a whole number"),
        ({"site_id": "1", "property": "page", "offset": "³"}, "offset must be a whole number"),
        ({"site_id": "1", "property": "page", "limit": "1" * 5000}, "limit must be a whole"),
        ({"site_id": "1", "property": "page", "limit": "+5"}, "limit must be a whole"),
        (
            {"site_id": "1", "range": "custom", "from": "2024-01-01", "to": "9999-12-31"},
            "to= must be between",
        ),
        (
            {"site_id": "1", "range": "custom", "from": "0001-01-01", "to": "0001-01-02"},
            "from= must be between",
        ),
        (
            {"site_id": "1", "range": "custom", "from": "2024-W01-1", "to": "2024-01-02"},
            "as YYYY-MM-DD",
        ),
    ],
)
def test_api_bad_parameters_are_400_not_500(
    anon: Client, token: str, params: dict[str, str], message: str
) -> None:
    resp = _api(anon, "/api/v1/breakdown", token, **{"property": "page", **params})
    assert resp.status_code == 400, resp.content[:200]
    assert message in resp.json()["error"]


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/", {**RANGE, "to": "9999-12-31"}, "to= must be between 1970-01-01 and 2087-12-31"),
        ("/panel/top/", {**RANGE, "to": "9999-12-31"}, "to= must be between"),
        (
            "/panel/chart/",
            {"range": "custom", "from": "0001-01-01", "to": "0001-01-02"},
            "from= must be between",
        ),
        ("/details/pages/", {**RANGE, "to": "9999-12-31"}, "to= must be between"),
        ("/details/pages/", {**RANGE, "offset": "²"}, "offset must be a whole number"),
        ("/details/pages/", {**RANGE, "offset": "\u0663"}, "offset must be a whole number"),
        ("/details/pages/", {**RANGE, "offset": "9" * 5000}, "offset must be a whole number"),
        ("/panel/props/", {**RANGE, "name": "n" * 501}, "name is longer than 500"),
    ],
)
def test_share_link_bad_parameters_are_400_not_500(
    anon: Client, share: str, path: str, params: dict[str, str], message: str
) -> None:
    resp = anon.get(f"{share}{path}", params)
    assert resp.status_code == 400, resp.content[:200]
    assert message in resp.content.decode()


@pytest.mark.parametrize(
    ("first", "last", "ok"),
    [
        ("1970-01-01", "1970-01-31", True),
        ("2087-12-01", "2087-12-31", True),
        ("1969-12-31", "1970-01-01", False),
        ("2087-12-31", "2088-01-01", False),
        ("2024-01-01", "9999-12-31", False),
        ("2024-1-1", "2024-01-02", False),
        ("20240101", "20240102", False),
        ("\uff12\uff10\uff12\uff14-01-01", "2024-01-02", False),  # fullwidth digits
    ],
)
def test_custom_range_days_are_strict_and_fit(first: str, last: str, ok: bool) -> None:
    from web.dashboard.querying import QueryError, parse_query

    params = {"range": "custom", "from": first, "to": last}
    if ok:
        q = parse_query(1, params)
        assert q.previous().start < q.start < q.end  # the compared period fits too
    else:
        with pytest.raises(QueryError):
            parse_query(1, params)


def test_blank_page_filter_is_400_not_500(anon: Client, share: str) -> None:
    resp = anon.get(f"{share}/panel/top/", {**RANGE, "page": " "})
    assert resp.status_code == 400
    assert "filter page must be a path" in resp.content.decode()
