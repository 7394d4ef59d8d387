"""Stats API: authorisation, filter arithmetic against the raw seeded rows, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from web.analytics.history import services as hs
from web.analytics.models import Event, Session, Site
from web.dashboard import openapi
from web.dashboard.services import rollups_compact, token_create, token_revoke
from web.dashboard.tests.conftest import FIRST, LAST, RANGE

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


def _get(client: Client, path: str, token: str | None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, params, headers=headers)


@pytest.fixture
def token(seeded: dict[str, int]) -> str:
    """A token for site 1, once the seeded events are sealed into the history (filtered
    figures, goals, props and funnels read only sealed events)."""
    hs.history_seal_all()
    return token_create(name="t", site_ids=[1])[1]


def _validate(resp: Any, op: str) -> dict[str, Any]:
    """The response must match the OpenAPI document's schema for its status code."""
    doc = openapi.document()
    responses = doc["paths"][op]["get"]["responses"]
    assert str(resp.status_code) in responses, f"{resp.status_code} not documented for {op}"
    schema = responses[str(resp.status_code)]["content"]["application/json"]["schema"]
    body = resp.json()
    assert openapi.validate(body, schema, doc) == [], body
    return body


# --- authorisation ---------------------------------------------------------------------------


def test_no_token_is_401(client: Client, seeded: dict[str, int]) -> None:
    resp = _get(client, "/api/v1/aggregate", None, site_id=1)
    assert resp.status_code == 401
    assert resp["WWW-Authenticate"].startswith("Bearer")
    assert "missing bearer token" in _validate(resp, "/api/v1/aggregate")["error"]
    resp = client.get("/api/v1/aggregate", {"site_id": 1}, headers={"Authorization": "Basic x"})
    assert resp.status_code == 401


def test_unknown_and_revoked_tokens_are_401(client: Client, seeded: dict[str, int]) -> None:
    t, raw = token_create(name="t", site_ids=[1])
    assert t.digest != raw and raw not in t.digest  # stored hashed
    assert _get(client, "/api/v1/aggregate", raw, site_id=1).status_code == 200
    assert _get(client, "/api/v1/aggregate", raw + "x", site_id=1).status_code == 401
    token_revoke(token_id=t.pk)
    resp = _get(client, "/api/v1/aggregate", raw, site_id=1)
    assert resp.status_code == 401
    assert _validate(resp, "/api/v1/aggregate")["error"] == "this token was revoked"


def test_wrong_site_is_403(client: Client, seeded: dict[str, int]) -> None:
    other = Site.objects.create(name="other", domains=["other.test"])
    _, raw = token_create(name="only-other", site_ids=[other.pk])
    resp = _get(client, "/api/v1/breakdown", raw, site_id=1, property="page")
    assert resp.status_code == 403
    assert "no access to site 1" in _validate(resp, "/api/v1/breakdown")["error"]
    assert _get(client, "/api/v1/aggregate", raw, site_id=other.pk).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/v1/aggregate", {}, "site_id is required"),
        ("/api/v1/aggregate", {"site_id": 1, "range": "decade"}, "unknown range"),
        ("/api/v1/aggregate", {"site_id": 1, "range": "custom", "from": "x"}, "custom range"),
        ("/api/v1/aggregate", {"site_id": 1, "compare": "lastyear"}, "compare must be"),
        ("/api/v1/breakdown", {"site_id": 1, "property": "shoe"}, "unknown dimension"),
        ("/api/v1/breakdown", {"site_id": 1, "property": "page", "limit": "0"}, "limit"),
        ("/api/v1/breakdown", {"site_id": 1, "property": "page", "limit": "a"}, "limit"),
    ],
)
def test_bad_parameters_are_400(
    client: Client, token: str, path: str, params: dict[str, Any], message: str
) -> None:
    resp = _get(client, path, token, **params)
    assert resp.status_code == 400
    assert message in _validate(resp, path)["error"]


def test_rate_limit_is_429_with_retry_after(client: Client, seeded: dict[str, int]) -> None:
    _, raw = token_create(name="slow", site_ids=[1], rate_per_minute=3)
    codes = [_get(client, "/api/v1/aggregate", raw, site_id=1).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    resp = _get(client, "/api/v1/aggregate", raw, site_id=1)
    assert 1 <= int(resp["Retry-After"]) <= 60
    _validate(resp, "/api/v1/aggregate")
    with connection.cursor():  # the counter lives in ttl.db, not data.db
        from django.db import connections

        with connections["ttl"].cursor() as cur:
            cur.execute("SELECT SUM(count) FROM core_ratecounter")
            assert cur.fetchone()[0] >= 6


# --- arithmetic against the raw rows ------------------------------------------------------------


def _raw_sessions(**filters: str) -> Any:
    return Session.objects.filter(
        site_id=1, started_at__date__gte=FIRST, started_at__date__lte=LAST, **filters
    )


def _visitor_days(rows: Any) -> set[tuple[Any, Any]]:
    """Distinct (visitor id, UTC day) of sessions or events: what "visitors" counts."""
    field = "started_at" if rows.model is Session else "ts"
    return {(v, t.date()) for v, t in rows.values_list("visitor_id", field)}


def test_unfiltered_aggregate_from_rollups_matches_raw_rows(client: Client, token: str) -> None:
    body = _validate(
        _get(client, "/api/v1/aggregate", token, site_id=1, **RANGE), "/api/v1/aggregate"
    )
    r = body["results"]
    sessions = _raw_sessions()
    visits = sessions.count()
    pageviews = Event.objects.filter(site_id=1, kind="pageview").count()
    bounces = sessions.filter(is_bounce=True).count()
    assert visits > 500
    assert r["visits"] == visits
    # Visitors are visitor-days (the id rotates daily); the seed brings some visitors back.
    visitor_days = len(_visitor_days(sessions))
    assert r["visitors"] == visitor_days < visits
    assert r["pageviews"] == pageviews
    assert r["views_per_visit"] == round(pageviews / visits, 4)
    assert r["bounce_rate"] == round(bounces / visits, 4)


@pytest.mark.parametrize(
    "filters",
    [{"country": "DE"}, {"country": "US", "device": "mobile"}, {"source": "Google"},
     {"utm_campaign": "launch"}, {"browser": "Firefox", "os": "Linux"}],
)  # fmt: skip
def test_session_filters_count_exactly(client: Client, token: str, filters: dict[str, str]) -> None:
    body = _validate(
        _get(client, "/api/v1/aggregate", token, site_id=1, **RANGE, **filters), "/api/v1/aggregate"
    )
    sessions = _raw_sessions(**filters)
    assert body["filters"] == filters
    assert body["results"]["visits"] == sessions.count()
    assert body["results"]["pageviews"] == sum(s.pageviews for s in sessions)
    # A breakdown under the same filter partitions the same visits.
    bd = _validate(
        _get(client, "/api/v1/breakdown", token, site_id=1, property="device", limit=50,
             **RANGE, **filters),
        "/api/v1/breakdown",
    )  # fmt: skip
    assert sum(row["visits"] for row in bd["results"]) == sessions.count()
    ts = _validate(
        _get(client, "/api/v1/timeseries", token, site_id=1, **RANGE, **filters),
        "/api/v1/timeseries",
    )
    assert len(ts["results"]) == 4  # one point per day
    assert sum(p["visits"] for p in ts["results"]) == sessions.count()


def test_page_filter_means_visits_that_viewed_the_page(client: Client, token: str) -> None:
    body = _get(client, "/api/v1/aggregate", token, site_id=1, page="/pricing/", **RANGE).json()
    ids = set(
        Event.objects.filter(kind="pageview", path="/pricing").values_list("session_id", flat=True)
    )
    assert body["results"]["visits"] == len(ids) > 0
    pages = _get(client, "/api/v1/breakdown", token, site_id=1, property="page", page="/pricing/",
                 limit=1, **RANGE).json()["results"]  # fmt: skip
    assert pages[0]["value"] == "/pricing"
    assert pages[0]["pageviews"] == Event.objects.filter(kind="pageview", path="/pricing").count()


def test_unfiltered_breakdown_from_rollups_matches_raw(client: Client, token: str) -> None:
    rows = _get(client, "/api/v1/breakdown", token, site_id=1, property="country", limit=100,
                **RANGE).json()["results"]  # fmt: skip
    by = {r["value"]: r for r in rows}
    assert by["DE"]["visits"] == _raw_sessions(country="DE").count()
    assert sum(r["visits"] for r in rows) == _raw_sessions().count()
    goals = _get(client, "/api/v1/breakdown", token, site_id=1, property="goal", **RANGE).json()
    signup = next(r for r in goals["results"] if r["value"] == "Signup")
    converting = len(_visitor_days(Event.objects.filter(kind="custom", name="signup")))
    assert signup["visitors"] == converting
    total = len(_visitor_days(_raw_sessions()))
    assert signup["conversion_rate"] == round(converting / total, 4)


def test_compacted_rows_give_the_same_answers(client: Client, token: str) -> None:
    """Day/month rows (PeriodRollup) answer exactly as the hourly rollups they came from."""
    params = {"site_id": 1, "property": "page", "limit": 1000, **RANGE}
    single = {"site_id": 1, "country": "DE", **RANGE}  # one session filter: rollup rows too

    def answers() -> list[Any]:
        return [
            _get(client, "/api/v1/breakdown", token, **params).json()["results"],
            _get(client, "/api/v1/aggregate", token, **single).json()["results"],
            _get(client, "/api/v1/timeseries", token, **single).json()["results"],
        ]

    before = answers()
    res = rollups_compact(site_id=1, through=LAST)  # the last day stays hourly
    assert res["rows"] > 0
    after = answers()
    assert before == after
    assert after[1]["visits"] == _raw_sessions(country="DE").count()
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM dashboard_periodrollup WHERE grain='d'")
        assert cur.fetchone()[0] > 0


def test_compare_previous_reports_change(client: Client, token: str) -> None:
    body = _validate(
        _get(client, "/api/v1/aggregate", token, site_id=1, compare="previous", **RANGE),
        "/api/v1/aggregate",
    )
    assert body["previous"]["visits"] == 0  # nothing was seeded before the range
    assert body["change"]["visits"] is None


# --- OpenAPI ---------------------------------------------------------------------------


def test_openapi_document_is_served_and_covers_the_urls(client: Client, token: str) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc == openapi.document()
    assert doc["openapi"].startswith("3.1")
    for path, item in doc["paths"].items():
        params = {"site_id": 1, **RANGE}
        if path.endswith("breakdown"):
            params["property"] = "source"
        if path.endswith("funnel"):
            params["steps"] = "/,/pricing,event:signup"
        resp = _get(client, path, token, **params)
        assert resp.status_code == 200, path
        _validate(resp, path)
        # Every documented filter parameter is accepted and echoed.
        names = [p["name"] for p in item["get"]["parameters"]]
        for dim in ("page", "country", "utm_campaign", "goal", "event", "prop"):
            assert dim in names
        resp = _get(client, path, token, **params, country="DE")
        assert _validate(resp, path)["filters"] == {"country": "DE"}
        resp = _get(client, path, token, **params, **{"prop:plan": "pro"})
        assert _validate(resp, path)["filters"] == {"prop:plan": "pro"}


def test_validator_rejects_wrong_shapes() -> None:
    doc = openapi.document()
    schema = {"$ref": "#/components/schemas/Stats"}
    assert openapi.validate({"visitors": 1}, schema, doc)  # missing keys
    good = dict.fromkeys(["visitors", "visits", "pageviews"], 1) | {
        "views_per_visit": 1.0, "bounce_rate": 0.5, "visit_duration_s": 3.0}  # fmt: skip
    assert openapi.validate(good, schema, doc) == []
    assert openapi.validate({**good, "visits": "1"}, schema, doc)
    assert openapi.validate({**good, "extra": 1}, schema, doc)
    assert openapi.validate({**good, "visits": True}, schema, doc)


def test_token_created_and_revoked_in_the_admin(seeded: dict[str, int]) -> None:
    from django.contrib.auth import get_user_model

    from web.dashboard.models import ApiToken

    admin = Client()
    admin.force_login(
        get_user_model().objects.create(username="a", is_staff=True, is_superuser=True)
    )
    resp = admin.post(
        "/admin/dashboard/apitoken/add/",
        {"name": "ci", "sites": ["1"], "rate_per_minute": "60"},
        follow=True,
    )
    assert resp.status_code == 200
    shown = [str(m) for m in resp.context["messages"] if "Copy this token" in str(m)]
    raw = shown[0].rsplit(" ", 1)[-1]
    token = ApiToken.objects.get(name="ci")
    assert raw.startswith("hth_") and token.digest != raw and raw not in str(token.__dict__)
    api = Client()
    assert _get(api, "/api/v1/aggregate", raw, site_id=1).status_code == 200
    admin.post(
        "/admin/dashboard/apitoken/",
        {"action": "revoke", "_selected_action": [str(token.pk)]},
    )
    assert _get(api, "/api/v1/aggregate", raw, site_id=1).status_code == 401


def test_goals_under_a_filter_count_exactly(client: Client, token: str) -> None:
    rows = _get(client, "/api/v1/breakdown", token, site_id=1, property="goal", country="US",
                **RANGE).json()["results"]  # fmt: skip
    by = {r["value"]: r for r in rows}
    us = set(_raw_sessions(country="US").values_list("id", flat=True))
    signups = Event.objects.filter(kind="custom", name="signup", session_id__in=us)
    pricing = Event.objects.filter(kind="pageview", path="/pricing", session_id__in=us)
    assert by["Signup"]["events"] == signups.count() > 0
    assert by["Signup"]["visitors"] == len(_visitor_days(signups))
    assert by["Pricing visit"]["events"] == pricing.count() > 0
    assert by["Pricing visit"]["visitors"] == len(_visitor_days(pricing))
    us_visitors = len(_visitor_days(_raw_sessions(country="US")))
    assert by["Signup"]["conversion_rate"] == round(by["Signup"]["visitors"] / us_visitors, 4)
