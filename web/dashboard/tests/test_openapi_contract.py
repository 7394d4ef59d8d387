"""The stats API's paging, search, property breakdowns, property filters and funnels: every
response (success and error) is checked against its schema in /api/v1/openapi.json, and
the figures against the raw rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from web.analytics.goals import path_matches
from web.analytics.history import services as hs
from web.analytics.models import Event, Session
from web.analytics.services import events_process_batch
from web.core.testing.events import ev
from web.dashboard import openapi
from web.dashboard.services import token_create
from web.dashboard.tests.conftest import FIRST, LAST, RANGE

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture(autouse=True)
def no_live(settings: Any, history_dir: Any) -> Any:
    settings.ANALYTICS_LIVE = False  # no NATS here
    return history_dir


@pytest.fixture
def token(seeded: dict[str, int]) -> str:
    hs.history_seal_all()
    return token_create(name="t", site_ids=[1])[1]


def _call(client: Client, path: str, token: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """GET an API path; the body must match the documented schema of its status code."""
    resp = client.get(path, params, headers={"Authorization": f"Bearer {token}"})
    doc = client.get("/api/v1/openapi.json").json()
    responses = doc["paths"][path]["get"]["responses"]
    assert str(resp.status_code) in responses, f"{resp.status_code} not documented for {path}"
    schema = responses[str(resp.status_code)]["content"]["application/json"]["schema"]
    body = resp.json()
    assert openapi.validate(body, schema, doc) == [], body
    return resp.status_code, body


def _sessions(**filters: Any) -> Any:
    return Session.objects.filter(
        site_id=1, started_at__date__gte=FIRST, started_at__date__lte=LAST, **filters
    )


# --- breakdown: paging and search ----------------------------------------------------------


def test_breakdown_pages_through_every_value(client: Client, token: str) -> None:
    status, whole = _call(client, "/api/v1/breakdown", token, site_id=1, property="page",
                          limit=1000, **RANGE)  # fmt: skip
    assert status == 200 and whole["paging"]["next_offset"] is None
    assert len(whole["results"]) == len(
        set(Event.objects.filter(kind="pageview").values_list("path", flat=True))
    )
    pages: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        _, body = _call(client, "/api/v1/breakdown", token, site_id=1, property="page",
                        limit=37, offset=offset, **RANGE)  # fmt: skip
        assert body["paging"]["offset"] == offset and body["paging"]["limit"] == 37
        assert len(body["results"]) == 37 or body["paging"]["next_offset"] is None
        pages += body["results"]
        offset = body["paging"]["next_offset"]
    assert pages == whole["results"]
    # Past the end: no rows, no next page.
    _, body = _call(client, "/api/v1/breakdown", token, site_id=1, property="page",
                    offset=len(pages), **RANGE)  # fmt: skip
    assert body["results"] == [] and body["paging"]["next_offset"] is None


def test_breakdown_search_is_a_case_insensitive_substring(client: Client, token: str) -> None:
    us = set(_sessions(country="US").values_list("id", flat=True))
    want: dict[str, int] = defaultdict(int)
    for path in Event.objects.filter(kind="pageview", session_id__in=us).values_list(
        "path", flat=True
    ):
        if "docs" in path.lower():
            want[path] += 1
    _, body = _call(client, "/api/v1/breakdown", token, site_id=1, property="page",
                    search="DoCs", limit=100, country="US", **RANGE)  # fmt: skip
    assert {r["value"]: r["pageviews"] for r in body["results"]} == want
    assert body["paging"]["search"] == "DoCs" and len(want) > 1
    _, body = _call(client, "/api/v1/breakdown", token, site_id=1, property="source",
                    search="git", **RANGE)  # fmt: skip
    assert [r["value"] for r in body["results"]] == ["GitHub"]
    assert body["results"][0]["visits"] == _sessions(source="GitHub").count()


# --- custom event properties ----------------------------------------------------------------


def test_property_breakdown_counts_events_per_value(client: Client, token: str) -> None:
    counts: dict[str, int] = defaultdict(int)
    visits: dict[str, set[int]] = defaultdict(set)
    for e in Event.objects.filter(kind="custom", name="download"):
        counts[e.props["file"]] += 1
        visits[e.props["file"]].add(e.session_id)
    _, body = _call(client, "/api/v1/breakdown", token, site_id=1, property="props:file",
                    **RANGE)  # fmt: skip
    assert body["property"] == "props:file"
    rows = body["results"]
    assert {r["value"]: r["events"] for r in rows} == counts
    assert {r["value"]: r["visits"] for r in rows} == {k: len(v) for k, v in visits.items()}
    assert all(set(r) == {"value", "visitors", "visits", "events"} for r in rows)
    assert [r["events"] for r in rows] == sorted((r["events"] for r in rows), reverse=True)


def test_property_filter_keeps_visits_with_that_property(client: Client, token: str) -> None:
    pro = {
        e.session_id
        for e in Event.objects.filter(kind="custom", name="signup")
        if e.props.get("plan") == "pro"
    }
    _, body = _call(client, "/api/v1/aggregate", token, site_id=1, **RANGE,
                    **{"prop:plan": "pro"})  # fmt: skip
    assert body["filters"] == {"prop:plan": "pro"}
    assert body["results"]["visits"] == len(pro) > 0
    assert body["results"]["pageviews"] == sum(s.pageviews for s in _sessions(id__in=pro))
    # Combined with a session filter (AND).
    _, body = _call(client, "/api/v1/breakdown", token, site_id=1, property="device", **RANGE,
                    **{"prop:plan": "pro", "country": "US"})  # fmt: skip
    want = _sessions(id__in=pro, country="US")
    assert sum(r["visits"] for r in body["results"]) == want.count()


def test_property_values_page_and_search(client: Client, seeded: dict[str, int]) -> None:
    """130 values of one property, sent through the worker: pages of 50 in order (events
    desc, then value), and a search that keeps the matching ones."""
    day = datetime.combine(LAST, datetime.min.time(), UTC) + timedelta(hours=10)
    payloads = []
    for i in range(130):
        for _ in range(2 if i < 5 else 1):
            payloads.append(ev(day.timestamp() + len(payloads), kind="custom", name="order",
                               ip=f"10.0.{i}.1", props={"sku": f"sku-{i:03d}"}))  # fmt: skip
    events_process_batch(payloads=payloads, now=day.timestamp() + 600)
    hs.history_seal_all()
    raw = token_create(name="p", site_ids=[1])[1]
    got: list[str] = []
    offset: int | None = 0
    while offset is not None:
        _, body = _call(client, "/api/v1/breakdown", raw, site_id=1, property="props:sku",
                        limit=50, offset=offset, **RANGE)  # fmt: skip
        got += [r["value"] for r in body["results"]]
        assert body["results"][0]["events"] == (2 if offset == 0 else 1)
        offset = body["paging"]["next_offset"]
    assert got == [f"sku-{i:03d}" for i in range(130)]
    _, body = _call(client, "/api/v1/breakdown", raw, site_id=1, property="props:sku",
                    search="SKU-12", **RANGE)  # fmt: skip
    assert [r["value"] for r in body["results"]] == [f"sku-{i}" for i in range(120, 130)]


# --- funnel ---------------------------------------------------------------------------------


def _walk(steps: list[str], session_ids: set[int]) -> list[int]:
    """Visits reaching each step in order, walking each visit's events by (ts, seq)."""
    by: dict[int, list[Event]] = defaultdict(list)
    for e in Event.objects.filter(site_id=1, session_id__in=session_ids).order_by("ts", "id"):
        by[e.session_id].append(e)
    reached = [0] * len(steps)
    for events in by.values():
        i = 0
        for e in events:
            if i == len(steps):
                break
            step = steps[i]
            if step.startswith("event:"):
                hit = e.kind == "custom" and e.name == step[6:]
            else:
                hit = e.kind == "pageview" and path_matches(step, e.path)
            if hit:
                reached[i] += 1
                i += 1
    return reached


@pytest.mark.parametrize("filters", [{}, {"country": "US"}, {"prop:plan": "team"}])
def test_funnel_counts_visits_in_step_order(
    client: Client, token: str, filters: dict[str, str]
) -> None:
    _, body = _call(client, "/api/v1/funnel", token, site_id=1,
                    steps="/, /blog/*, event:signup", **RANGE, **filters)  # fmt: skip
    assert body["steps"] == ["/", "/blog/*", "event:signup"]
    assert body["filters"] == filters
    ids = set(_sessions(**({"country": "US"} if "country" in filters else {})).values_list(
        "id", flat=True))  # fmt: skip
    if "prop:plan" in filters:
        ids &= {e.session_id for e in Event.objects.filter(kind="custom")
                if e.props.get("plan") == "team"}  # fmt: skip
    reached = _walk(["/", "/blog/*", "event:signup"], ids)
    assert [r["visits"] for r in body["results"]] == reached
    assert reached[0] > 0
    first, second = body["results"][:2]
    assert second["dropoff"] == first["visits"] - second["visits"]
    assert second["conversion_rate"] == round(second["visits"] / first["visits"], 4)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/v1/breakdown", {}, "property is required"),
        ("/api/v1/breakdown", {"property": "props:"}, "needs a property name"),
        ("/api/v1/breakdown", {"property": "props:" + "k" * 101}, "unknown dimension"),
        ("/api/v1/breakdown", {"property": "page", "offset": "-5"}, "offset must be a whole"),
        ("/api/v1/breakdown", {"property": "page", "offset": "x"}, "offset must be a whole"),
        ("/api/v1/breakdown", {"property": "page", "limit": "1001"}, "between 1 and 1000"),
        ("/api/v1/breakdown", {"property": "page", "search": "s" * 201}, "search must be at"),
        ("/api/v1/breakdown", {"property": "page", "prop:": "x"}, "property filter needs a key"),
        ("/api/v1/funnel", {}, "steps must list 2 to 8"),
        ("/api/v1/funnel", {"steps": "/pricing"}, "steps must list 2 to 8"),
        ("/api/v1/funnel", {"steps": ",".join(f"/{i}" for i in range(9))}, "2 to 8"),
        ("/api/v1/funnel", {"steps": "/,event:"}, "funnel step"),
        ("/api/v1/funnel", {"steps": "/,/x", "range": "week"}, "unknown range"),
    ],
)
def test_bad_parameters_are_400_with_a_message(
    client: Client, token: str, path: str, params: dict[str, str], message: str
) -> None:
    status, body = _call(client, path, token, site_id=1, **params)
    assert status == 400
    assert message in body["error"]


def test_the_document_describes_the_new_parameters(client: Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"]["/api/v1/breakdown"]["get"]["parameters"]}
    assert {"property", "limit", "offset", "search", "prop", "page"} <= set(params)
    assert params["prop"]["style"] == "form" and params["prop"]["explode"] is True
    funnel = {p["name"]: p for p in doc["paths"]["/api/v1/funnel"]["get"]["parameters"]}
    assert funnel["steps"]["required"] is True
    assert "400" in doc["paths"]["/api/v1/funnel"]["get"]["responses"]


def test_validator_rejects_wrong_new_shapes() -> None:
    doc = openapi.document()

    def errors(value: Any, name: str) -> list[str]:
        return openapi.validate(value, {"$ref": f"#/components/schemas/{name}"}, doc)

    row = {"value": "pro", "visitors": 1, "visits": 1, "events": 2}
    assert errors(row, "PropertyRow") == []
    assert errors({**row, "pageviews": 1}, "PropertyRow")
    paging = {"limit": 10, "offset": 0, "search": "", "next_offset": None}
    assert errors(paging, "Paging") == []
    assert errors({**paging, "next_offset": 10}, "Paging") == []
    assert errors({**paging, "next_offset": "10"}, "Paging")
    assert errors({**paging, "offset": -1}, "Paging")  # minimum
    envelope = {"site_id": 1, "filters": {}, "note": "", "results": [row], "paging": paging,
                "range": {"name": "7d", "start": "s", "end": "e", "interval": "day"}}  # fmt: skip
    assert errors({**envelope, "property": "props:plan"}, "Breakdown") == []
    assert errors({**envelope, "property": "props:"}, "Breakdown")  # pattern
    assert errors({**envelope, "property": "shoes"}, "Breakdown")  # anyOf: neither
    assert errors({**envelope, "property": "page", "results": [{"value": 1}]}, "Breakdown")
    assert errors({k: v for k, v in envelope.items() if k != "note"} | {"property": "page"},
                  "Breakdown")  # fmt: skip
    step = {"step": "/", "visits": 3, "conversion_rate": 1.0, "dropoff": 0, "dropoff_rate": 0.0}
    assert errors(step, "FunnelStep") == []
    assert errors({**step, "visits": 1.5}, "FunnelStep")
