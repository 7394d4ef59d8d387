# ruff: noqa: E501
"""The stats API's OpenAPI 3.1 document, built from the same constants as the views, and a
small JSON Schema validator (the subset the document uses) that the tests run every API
response through."""

from __future__ import annotations

import re
from typing import Any

from web.dashboard.querying import MAX_ID, MAX_OFFSET
from web.dashboard.selectors import BREAKDOWN_DIMS, FILTER_DIMS, MAX_LIMIT, RANGES

_NUM = {"type": "number"}
_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}  # as api.py parses site_id
_STR = {"type": "string"}

STATS = {
    "type": "object",
    "required": [
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "visit_duration_s",
    ],
    "additionalProperties": False,
    "properties": {
        "visitors": {
            **_COUNT,
            "description": "Sum of daily unique visitors (visitor-days) over the range.",
        },
        "visits": _COUNT,
        "pageviews": _COUNT,
        "views_per_visit": _NUM,
        "bounce_rate": {**_NUM, "description": "0..1"},
        "visit_duration_s": {**_NUM, "description": "Mean engaged time per visit."},
    },
}
RANGE = {
    "type": "object",
    "required": ["name", "start", "end", "interval"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "enum": list(RANGES)},
        "start": {"type": "string"},
        "end": {"type": "string"},
        "interval": {"type": "string", "enum": ["hour", "day"]},
    },
}
COMMON = {
    "site_id": _ID,
    "range": {"$ref": "#/components/schemas/Range"},
    "filters": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "The filters applied, as given (prop:<name> for properties)."},
    "note": {"type": "string", "description": "Empty when the figures cover the whole range; "
             "otherwise a sentence saying which part of it they cover."},
}  # fmt: skip
PROP_PATTERN = "^props:.+"
PROPERTY = {
    "anyOf": [
        {"type": "string", "enum": list(BREAKDOWN_DIMS)},
        {"type": "string", "pattern": PROP_PATTERN},
    ],
    "description": "A dimension, or props:<name> for the values of one custom event property.",
}


def _envelope(
    results: dict[str, Any], extra: dict[str, Any] | None = None, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    props = {**COMMON, "results": results, **(extra or {})}
    return {
        "type": "object",
        "required": ["site_id", "range", "filters", "note", "results", *required],
        "additionalProperties": False,
        "properties": props,
    }


def _row(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "additionalProperties": False,
            "properties": props}  # fmt: skip


BREAKDOWN_ROW = _row(
    ["value", "visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration_s"],
    {
        "value": {"type": "string"},
        "visitors": _COUNT,
        "visits": _COUNT,
        "pageviews": _COUNT,
        "events": _COUNT,
        "bounce_rate": _NUM,
        "visit_duration_s": _NUM,
        "conversion_rate": {**_NUM, "description": "Goals only: converting visitors / visitors."},
        "scroll_depth": {
            "type": ["number", "null"], "minimum": 0, "maximum": 100,
            "description": "Pages only: mean over visits of the deepest scroll (percent) "
            "reported on the page; null when no engagement event reported one.",
        },
        "exit_rate": {**_NUM, "description": "Exit pages only: exits / pageviews of the page."},
    },
)  # fmt: skip
PROP_ROW = _row(
    ["value", "visitors", "visits", "events"],
    {"value": {"type": "string", "description": "A value of the property."},
     "visitors": _COUNT, "visits": _COUNT,
     "events": {**_COUNT, "description": "Custom events carrying the property with this value."}},
)  # fmt: skip
PAGING = _row(
    ["limit", "offset", "search", "next_offset"],
    {
        "limit": {**_INT, "minimum": 1, "maximum": MAX_LIMIT},
        "offset": {**_INT, "minimum": 0, "maximum": MAX_OFFSET},
        "search": _STR,
        "next_offset": {"type": ["integer", "null"], "minimum": 0,
                        "description": "offset of the next page; null after the last page."},
    },
)  # fmt: skip
FUNNEL_STEP = _row(
    ["step", "visits", "conversion_rate", "dropoff", "dropoff_rate"],
    {
        "step": _STR,
        "visits": {**_COUNT, "description": "Visits that reached this step after the previous."},
        "conversion_rate": {**_NUM, "description": "visits / visits of the first step."},
        "dropoff": {**_COUNT, "description": "Visits of the previous step that stopped there."},
        "dropoff_rate": _NUM,
    },
)


SCHEMAS: dict[str, Any] = {
    "Stats": STATS,
    "Range": RANGE,
    "Aggregate": _envelope(
        {"$ref": "#/components/schemas/Stats"},
        {
            "previous": {"$ref": "#/components/schemas/Stats"},
            "change": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
        },
    ),
    "Timeseries": _envelope(
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["t", "visitors", "visits", "pageviews"],
                "additionalProperties": False,
                "properties": {
                    "t": {"type": "string"},
                    "visitors": _COUNT,
                    "visits": _COUNT,
                    "pageviews": _COUNT,
                },
            },
        }
    ),
    "BreakdownRow": BREAKDOWN_ROW,
    "PropertyRow": PROP_ROW,
    "Paging": PAGING,
    "Breakdown": _envelope(
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"$ref": "#/components/schemas/BreakdownRow"},
                    {"$ref": "#/components/schemas/PropertyRow"},
                ]
            },
            "description": "BreakdownRow items for a dimension, PropertyRow items for "
            "props:<name>.",
        },
        {"property": PROPERTY, "paging": {"$ref": "#/components/schemas/Paging"}},
        ("property", "paging"),
    ),
    "FunnelStep": FUNNEL_STEP,
    "Funnel": _envelope(
        {"type": "array", "items": {"$ref": "#/components/schemas/FunnelStep"}},
        {"steps": {"type": "array", "items": _STR}},
        ("steps",),
    ),
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {"error": {"type": "string"}},
    },
}


def _param(name: str, schema: dict[str, Any], desc: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": desc,
    }


COMMON_PARAMS = [
    _param("site_id", _ID, "Site id; the token must be scoped to it.", True),
    _param("range", {"type": "string", "enum": list(RANGES), "default": "30d"}, "UTC range."),
    _param("from", {"type": "string", "format": "date"}, "First day of a custom range."),
    _param("to", {"type": "string", "format": "date"}, "Last day (inclusive) of a custom range."),
    *[_param(d, {"type": "string"}, f"Filter: {d} equals this value.") for d in FILTER_DIMS],
    {
        "name": "prop",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "schema": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "propertyNames": {"pattern": "^prop:.+"},
        },
        "description": "Custom event property filters, one query parameter each: "
        "prop:<name>=<value> keeps visits with a custom event whose property "
        "<name> equals <value> (e.g. prop:plan=pro).",
    },
]
ERRORS = {
    str(code): {"description": why, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for code, why in (
        (400, "Bad parameter (the message names it and says what is accepted)."),
        (401, "Missing, unknown or revoked bearer token."),
        (403, "The token is not scoped to this site."),
        (405, "A method other than GET (the answer has Allow: GET)."),
        (429, "Rate limit exceeded; see Retry-After."),
    )
}  # fmt: skip


def _op(op_id: str, summary: str, schema: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "security": [{"bearer": []}],
            "parameters": [*COMMON_PARAMS, *extra],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}},
                **ERRORS,
            },
        }
    }  # fmt: skip


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hearth stats API", "version": "1.0.0",
                 "description": "Read-only analytics. Bearer tokens are created in the admin. "
                                "Errors are {\"error\": message} with the status codes listed per operation."},
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/aggregate": _op("aggregate", "Top stats for a range", "Aggregate",
                [_param("compare", {"type": "string", "enum": ["previous"]}, "Add the previous period.")]),
            "/api/v1/timeseries": _op("timeseries", "Visitors, visits, pageviews per hour or day", "Timeseries", []),
            "/api/v1/breakdown": _op("breakdown", "Values of one dimension or custom event property, paged and searchable", "Breakdown", [
                _param("property", PROPERTY, "Dimension, or props:<name> for the values of a custom event property (rows: value, visitors, visits, events).", True),
                _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}, "Rows per page."),
                _param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, "Rows to skip (paging: use paging.next_offset of the previous page). Not called page: page is the page filter."),
                _param("search", {"type": "string", "maxLength": 200}, "Keep values containing this text (case-insensitive, no wildcards)."),
            ]),
            "/api/v1/funnel": _op("funnel", "Visits reaching each step of a funnel in order", "Funnel", [
                _param("steps", {"type": "string", "examples": ["/,/pricing,event:signup"]}, "2 to 8 comma-separated steps: page paths (/pricing; /blog/* for a prefix) or event:<name>. Within a visit, step n counts only after step n-1.", True),
            ]),
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }  # fmt: skip


_TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
    "integer": int, "number": (int, float),
}  # fmt: skip


def validate(
    value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$"
) -> list[str]:
    """Errors of ``value`` against ``schema`` ($ref, anyOf, type, enum, pattern, minimum,
    maximum, required, properties, additionalProperties, items). Empty list = valid."""
    root = root or document()
    if "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return validate(value, node, root, path)
    if "anyOf" in schema:
        tries = [validate(value, alt, root, path) for alt in schema["anyOf"]]
        if all(tries):
            return [f"{path}: matches none of anyOf: " + " | ".join("; ".join(t) for t in tries)]
    errors: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any(
            isinstance(value, _TYPES[t])
            and not (t in ("integer", "number") and isinstance(value, bool))
            for t in types
        )
        if not ok:
            return [f"{path}: expected {types}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
        errors.append(f"{path}: {value} is below the minimum {schema['minimum']}")
    if "maximum" in schema and isinstance(value, int | float) and value > schema["maximum"]:
        errors.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errors += validate(v, props[k], root, f"{path}.{k}")
            elif extra is False:
                errors.append(f"{path}: unexpected property {k}")
            elif isinstance(extra, dict):
                errors += validate(v, extra, root, f"{path}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errors += validate(v, schema["items"], root, f"{path}[{i}]")
    return errors
