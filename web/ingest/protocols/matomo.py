"""The Matomo HTTP Tracking API (GET|POST /matomo.php, /piwik.php), as its clients send it.

Shapes read from matomo-org/matomo ``js/piwik.js`` (``getRequest``, ``sendRequest``,
``sendBulkRequest``, ``buildEventRequest``, ``logLink``, the heartbeat) and the Node client
``matomo-tracker`` 2.2 (``track``: GET with the parameters in the query;
``trackBulk``: POST ``{"requests": ["?idsite=..&rec=1&..", ...]}``). piwik.js sends the
parameters in the query of a POST with an empty body (sendBeacon, the default), in a
form-encoded body (requests over 2,000 characters, or ``setRequestMethod('POST')``), or a
bulk JSON body labelled ``application/x-www-form-urlencoded``: the body is read by its first
byte, not its content type.

One request maps to one hit: ``e_c``/``e_a`` → a custom event named after the action,
``link=`` / ``download=`` → Hearth's "Outbound Link: Click" / "File Download", ``search=``
→ "Site Search", anything else with a ``url`` → a pageview titled ``action_name``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from web.ingest import validate as v
from web.ingest.errors import BadInput
from web.ingest.protocols.common import PAGEVIEW, Incoming
from web.ingest.validate import Hit, Skip

# piwik.js sends 25-45 parameters per request (browser features, dimensions, client hints).
MAX_FIELDS = 120
MAX_PARAM = 8 * 1024
OUTBOUND = "Outbound Link: Click"  # the names Hearth's own tracker uses (t.js)
DOWNLOAD = "File Download"
SEARCH = "Site Search"


def params(query: str) -> dict[str, str]:
    """Query parameters, first value wins; BadInput past MAX_FIELDS."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise BadInput(f"more than {MAX_FIELDS} parameters") from exc
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _cvars(raw: str, key: str) -> dict[str, str]:
    """Custom variables ``{"1": ["name", "value"], ...}`` as name → value."""
    if not raw:
        return {}
    try:
        data = v.load_json(raw.encode())
    except BadInput as exc:
        raise BadInput(f"'{key}' must be a JSON object: {exc.message}") from exc
    if not isinstance(data, dict):
        raise BadInput(f"'{key}' must be a JSON object")
    out: dict[str, str] = {}
    for slot in data.values():
        if isinstance(slot, list) and len(slot) == 2 and all(isinstance(s, str) for s in slot):
            out[slot[0][: v.MAX_PROP_KEY]] = slot[1][: v.MAX_PROP_VALUE]
    return out


def _props(base: dict[str, str], q: dict[str, str], cvar_key: str) -> dict[str, str] | None:
    out = {k: val for k, val in base.items() if val}
    for name, value in q.items():
        if name.startswith("dimension") and name[9:].isdigit() and value:
            out[name] = value[: v.MAX_PROP_VALUE]
    out.update(_cvars(q.get(cvar_key, ""), cvar_key))
    out = {k: val for k, val in out.items() if k and "\x00" not in k + val}
    if len(out) > v.MAX_PROPS:
        out = dict(list(out.items())[: v.MAX_PROPS])
    return out or None


def _width(res: str) -> int | None:
    head = res.split("x", 1)[0]
    return int(head) if head.isdigit() and int(head) <= v.MAX_SCREEN else None


def _one(q: dict[str, str], req: Incoming) -> Hit | Skip:
    """One tracking request (its parameters) → a Hit, or Skip for what Hearth does not keep."""
    site = v.text(q.get("idsite"), "idsite", max_len=60, required=True)
    site_by = ("alias", site)
    if q.get("rec") != "1":
        return Skip("unsupported", site_by)  # Matomo records nothing without rec=1 either
    if q.get("ping"):
        return Skip("heartbeat", site_by)  # Matomo's heartbeat: no engaged time to store
    if "idgoal" in q:  # Hearth's goals are its own
        return Skip("ecommerce" if q["idgoal"] == "0" else "goal", site_by)
    raw_url = v.text(q.get("url"), "url", max_len=v.MAX_URL)
    if not raw_url and req.referer.startswith(("http://", "https://")):
        raw_url = req.referer
    if not raw_url:
        raise BadInput("'url' is required: the page the request is about")
    url = v.page_url(raw_url, "url")
    ref = v.text(q.get("urlref"), "urlref", max_len=v.MAX_URL)
    title = v.text(q.get("action_name"), "action_name", max_len=MAX_PARAM)[: v.MAX_TITLE]
    kind, name, base = "pageview", PAGEVIEW, {}
    cvar_key = "cvar"
    if "e_c" in q or "e_a" in q:
        # Matomo trims both and refuses them empty (or only spaces).
        category = v.text(q.get("e_c", "").strip(), "e_c", max_len=v.MAX_PROP_VALUE, required=True)
        action = v.text(q.get("e_a", "").strip(), "e_a", max_len=v.MAX_NAME, required=True)
        # The action is the event's name (as GA4 renamed Universal Analytics' event action);
        # the category, name and value are its props.
        kind, name, cvar_key = "custom", action, "e_cvar"
        base = {
            "category": category,
            "name": v.text(q.get("e_n", "").strip(), "e_n", max_len=v.MAX_PROP_VALUE),
            "value": v.text(q.get("e_v"), "e_v", max_len=40),
        }
        if base["value"]:
            v.integer(base["value"], "e_v", low=-(2**53), high=2**53)  # Matomo: a number
    elif q.get("link") or q.get("download"):
        link_key = "link" if q.get("link") else "download"
        target = v.text(q.get(link_key), link_key, max_len=v.MAX_URL)
        kind, name = "custom", OUTBOUND if link_key == "link" else DOWNLOAD
        base = {"url": target[: v.MAX_PROP_VALUE]}
    elif "search" in q:
        kind, name = "custom", SEARCH
        base = {
            "keyword": v.text(q.get("search"), "search", max_len=v.MAX_PROP_VALUE),
            "category": v.text(q.get("search_cat"), "search_cat", max_len=v.MAX_PROP_VALUE),
            "count": v.text(q.get("search_count"), "search_count", max_len=20),
        }
    elif q.get("c_n") or q.get("ca"):
        return Skip("content" if q.get("c_n") else "unsupported", site_by)
    lang = v.text(q.get("lang"), "lang", max_len=500).split(",", 1)[0].split(";", 1)[0]
    return Hit(
        src="matomo",
        kind=kind,
        name=name,
        url=url,
        site_by=site_by,
        ref=v.referrer(ref if "://" in ref else "", "urlref"),
        props=_props(base, q, cvar_key),
        screen=_width(q.get("res", "")),
        lang=lang.strip()[: v.MAX_LANG],
        title=title if kind == "pageview" else "",
        ua=v.text(q.get("ua"), "ua", max_len=MAX_PARAM)[:500],  # Matomo's UA override
    )


def _strip_to_query(item: Any) -> str:
    if not isinstance(item, str):
        raise BadInput("'requests' items must be strings like '?idsite=1&rec=1&url=...'")
    return item.split("?", 1)[1] if "?" in item else item


def parse_matomo(req: Incoming) -> list[Hit | Skip]:
    """GET|POST /matomo.php (/piwik.php): one request in the query and/or a form body, or
    a bulk ``{"requests": [...]}`` body of up to 50 (piwik.js sends 50 per chunk)."""
    query = params(req.query)
    body = req.body.strip()
    if body.startswith(b"{"):
        data = v.as_object(v.load_json(body), "body")
        items = v.batch(data.get("requests"), "'requests'")
        return [_one({**query, **params(_strip_to_query(i))}, req) for i in items]
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput("body is not UTF-8") from exc
        query = {**query, **params(text.lstrip("?"))}
    return [_one(query, req)]
