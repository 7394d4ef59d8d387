"""Hardening (issue 15, security items 1, 5 and 11): download filenames, strict parameter
parsing (400, never 500) and the stats API's answers to other methods."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from web.dashboard import openapi
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


# --- item 11: the stats API answers other methods with a JSON 405; its document's bounds ------

API_PATHS = [
    "/api/v1/aggregate",
    "/api/v1/timeseries",
    "/api/v1/breakdown",
    "/api/v1/funnel",
    "/api/v1/openapi.json",
]


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_api_answers_other_methods_with_a_json_405(token: str, path: str, method: str) -> None:
    """With CSRF checks on, as a browser or curl meets them (the test client skips them by
    default); with and without a token."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        resp = getattr(client, method)(path, headers=headers)
        assert resp.status_code == 405, resp.content[:200]
        assert resp["Content-Type"] == "application/json"
        assert resp["Allow"] == "GET"
        assert "use GET" in resp.json()["error"]
        if path != "/api/v1/openapi.json":
            doc = openapi.document()
            schema = doc["paths"][path]["get"]["responses"]["405"]["content"]
            assert openapi.validate(resp.json(), schema["application/json"]["schema"], doc) == []


def _integer_params(op: str) -> list[dict[str, Any]]:
    params = openapi.document()["paths"][op]["get"]["parameters"]
    return [p for p in params if p["schema"].get("type") == "integer"]


@pytest.mark.parametrize("op", [p for p in API_PATHS if p != "/api/v1/openapi.json"])
def test_documented_integer_bounds_are_the_ones_the_api_enforces(
    client: Client, token: str, op: str
) -> None:
    """Every integer parameter has a minimum (site_id 1: no negative ids) and a maximum;
    one past either is a 400, the bound itself is accepted (or, for site_id, refused only
    by the token's scope)."""
    base = {"site_id": "1", "property": "page", "steps": "/,/x"}
    for param in _integer_params(op):
        name, schema = param["name"], param["schema"]
        assert "minimum" in schema and "maximum" in schema, name
        for bad in (schema["minimum"] - 1, schema["maximum"] + 1):
            resp = _api(client, op, token, **{**base, name: str(bad)})
            assert resp.status_code == 400, (name, bad)
            assert name in resp.json()["error"]
        for good in (schema["minimum"], schema["maximum"]):
            resp = _api(client, op, token, **{**base, name: str(good)})
            assert resp.status_code == (403 if name == "site_id" and good != 1 else 200)
    assert _integer_params(op)[0]["name"] == "site_id"
    assert _integer_params(op)[0]["schema"]["minimum"] == 1


def test_response_ids_and_counts_are_documented_non_negative() -> None:
    doc = openapi.document()
    schemas = doc["components"]["schemas"]
    assert schemas["Aggregate"]["properties"]["site_id"]["minimum"] == 1
    for name in ("visitors", "visits", "pageviews"):
        assert schemas["Stats"]["properties"][name]["minimum"] == 0
        assert schemas["BreakdownRow"]["properties"][name]["minimum"] == 0
    stats = {"visitors": -1, "visits": 0, "pageviews": 0, "views_per_visit": 0.0,
             "bounce_rate": 0.0, "visit_duration_s": 0.0}  # fmt: skip
    assert openapi.validate(stats, {"$ref": "#/components/schemas/Stats"}, doc)
    paging = {"limit": 1001, "offset": 0, "search": "", "next_offset": None}
    assert openapi.validate(paging, {"$ref": "#/components/schemas/Paging"}, doc)  # maximum
