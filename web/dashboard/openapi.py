# ruff: noqa: E501
"""The stats API's OpenAPI 3.1 document, built from the same constants as the views, and a
small JSON Schema validator (the subset the document uses) that the tests run every API
response through."""

from __future__ import annotations

from typing import Any

from web.dashboard.selectors import BREAKDOWN_DIMS, FILTER_DIMS, RANGES

_NUM = {"type": "number"}
_INT = {"type": "integer"}

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
            **_INT,
            "description": "Sum of daily unique visitors (visitor-days) over the range.",
        },
        "visits": _INT,
        "pageviews": _INT,
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
COMMON = {"site_id": _INT, "range": {"$ref": "#/components/schemas/Range"}, "filters": {
    "type": "object", "additionalProperties": {"type": "string"}}}  # fmt: skip


def _envelope(results: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {**COMMON, "results": results, **(extra or {})}
    return {
        "type": "object",
        "required": ["site_id", "range", "filters", "results"],
        "additionalProperties": False,
        "properties": props,
    }


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
                    "visitors": _INT,
                    "visits": _INT,
                    "pageviews": _INT,
                },
            },
        }
    ),
    "Breakdown": _envelope(
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "value",
                    "visitors",
                    "visits",
                    "pageviews",
                    "events",
                    "bounce_rate",
                    "visit_duration_s",
                ],
                "additionalProperties": False,
                "properties": {
                    "value": {"type": "string"},
                    "visitors": _INT,
                    "visits": _INT,
                    "pageviews": _INT,
                    "events": _INT,
                    "bounce_rate": _NUM,
                    "visit_duration_s": _NUM,
                    "conversion_rate": _NUM,
                },
            },
        },
        {"property": {"type": "string", "enum": list(BREAKDOWN_DIMS)}},
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
    _param("site_id", _INT, "Site id; the token must be scoped to it.", True),
    _param("range", {"type": "string", "enum": list(RANGES), "default": "30d"}, "UTC range."),
    _param("from", {"type": "string", "format": "date"}, "First day of a custom range."),
    _param("to", {"type": "string", "format": "date"}, "Last day (inclusive) of a custom range."),
    *[_param(d, {"type": "string"}, f"Filter: {d} equals this value.") for d in FILTER_DIMS],
]
ERRORS = {
    str(code): {"description": why, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for code, why in (
        (400, "Bad parameter (the message says which)."),
        (401, "Missing, unknown or revoked bearer token."),
        (403, "The token is not scoped to this site."),
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
                 "description": "Read-only analytics from rollups. Bearer tokens are created in the admin."},
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/aggregate": _op("aggregate", "Top stats for a range", "Aggregate",
                [_param("compare", {"type": "string", "enum": ["previous"]}, "Add the previous period.")]),
            "/api/v1/timeseries": _op("timeseries", "Visitors, visits, pageviews per hour or day", "Timeseries", []),
            "/api/v1/breakdown": _op("breakdown", "Top values of one dimension", "Breakdown", [
                _param("property", {"type": "string", "enum": list(BREAKDOWN_DIMS)}, "Dimension.", True),
                _param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}, "Rows."),
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
    """Errors of ``value`` against ``schema`` ($ref, type, enum, required, properties,
    additionalProperties, items). Empty list = valid."""
    root = root or document()
    if "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return validate(value, node, root, path)
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
