"""Validation shared by every wire format: field types, bounds, and the one ``Hit`` shape.

Parsers (parsers.py) turn each wire format into ``Hit`` objects using these helpers, so a
rule such as "a URL is http(s), has a host and is at most 2,000 characters" is written once.
``to_event`` stamps a hit that passed every check into the ``AnalyticsEvent`` job payload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from web.analytics.schema import SCHEMA_VERSION, AnalyticsEvent
from web.ingest.errors import BadInput
from web.messaging import jsoncodec

MAX_BODY = 8 * 1024
MAX_URL = 2000
MAX_NAME = 120
MAX_TITLE = 300
MAX_LANG = 35
MAX_PROPS = 30
MAX_PROP_KEY = 100
MAX_PROP_VALUE = 500
MAX_ERROR_FIELD = 2000
MAX_BATCH = 50
MAX_SCREEN = 100_000
MAX_ENGAGED_MS = 24 * 3600 * 1000


@dataclass(slots=True)
class Hit:
    """One beacon after parsing, before the site, allow-list and drop checks.

    ``site_by`` says how the site is named: ("key", public key or id), ("host", a
    hostname to match against the sites' domains) or ("alias", another product's id for
    the site); see web/ingest/sites.py.
    """

    src: str
    kind: str
    name: str
    url: str
    site_by: tuple[str, str]
    ref: str = ""
    props: dict[str, str] | None = None
    screen: int | None = None
    lang: str = ""
    title: str = ""
    engaged_ms: int | None = None
    scroll: int | None = None
    error: dict[str, str] | None = None
    bot_hint: bool = False
    # The visitor's user agent when the protocol carries it for server-side senders
    # (Matomo's ``ua``, Umami's ``payload.userAgent``): it stands for the request's header.
    ua: str = ""
    host: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.host = url_host(self.url)


@dataclass(frozen=True, slots=True)
class Skip:
    """A well-formed request a parser recognises but does not store (Umami's ``identify``
    when nothing is kept of it, for example): answered 2xx, counted as dropped for
    ``reason`` so the owner can see it. ``site_by`` names the site when the request does
    (as ``Hit.site_by``), so the drop can be counted for that site; it takes no part in
    equality."""

    reason: str
    site_by: tuple[str, str] | None = field(default=None, compare=False)


def _reject_constant(name: str) -> Any:
    raise BadInput(f"{name} is not valid JSON here: send finite numbers only")


def load_json(body: bytes) -> Any:
    """Decode a JSON body or raise BadInput with the reason."""
    if not body.strip():
        raise BadInput("empty body: expected a JSON document")
    try:
        return jsoncodec.loads(body, parse_constant=_reject_constant)  # orjson, json's rules
    except BadInput:
        raise
    except RecursionError as exc:
        raise BadInput("JSON nested too deeply") from exc
    except UnicodeDecodeError as exc:
        raise BadInput("body is not UTF-8") from exc
    except ValueError as exc:
        raise BadInput(f"malformed JSON: {exc}") from exc


@lru_cache(maxsize=8192)
def _split(url: str) -> tuple[str, str, bool] | None:
    """(scheme, lower-case host, has fragment), or None when unparsable; cached because
    the same page and referrer URLs arrive over and over."""
    try:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or "").rstrip("."), bool(parts.fragment)
    except ValueError:
        return None


def url_host(url: str) -> str:
    """Lower-case hostname of a URL ('' when it has none)."""
    split = _split(url)
    return split[1] if split else ""


def as_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(f"{what} must be a JSON object")
    return value


def text(value: Any, key: str, *, max_len: int, required: bool = False) -> str:
    """A string field: missing or null is '' (or an error when required)."""
    if value is None or value == "":
        if required:
            raise BadInput(f"'{key}' is required")
        return ""
    if not isinstance(value, str):
        raise BadInput(f"'{key}' must be a string")
    if len(value) > max_len:
        raise BadInput(f"'{key}' is longer than {max_len} characters")
    if "\x00" in value:
        raise BadInput(f"'{key}' contains a NUL character")
    return value


def integer(value: Any, key: str, *, low: int, high: int) -> int | None:
    """An integer field (numeric strings and whole floats accepted); None when missing."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadInput(f"'{key}' must be a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as exc:
            raise BadInput(f"'{key}' must be a number") from exc
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(f"'{key}' must be a finite number")
        value = round(value)
    if not isinstance(value, int):
        raise BadInput(f"'{key}' must be a number")
    if not low <= value <= high:
        raise BadInput(f"'{key}' must be between {low} and {high}")
    return value


def page_url(value: Any, key: str, *, keep_hash: bool = False, required: bool = True) -> str:
    """An absolute http(s) URL with a host; the fragment is cut unless hash routing is on."""
    url = text(value, key, max_len=MAX_URL, required=required)
    if not url:
        return ""
    split = _split(url)
    if split is None:
        raise BadInput(f"'{key}' is not a valid URL")
    scheme, host, fragment = split
    if scheme not in ("http", "https") or not host:
        raise BadInput(f"'{key}' must be an absolute http(s) URL")
    if not keep_hash and fragment:
        url = url.split("#", 1)[0]
    return url


def referrer(value: Any, key: str) -> str:
    """A referrer: any absolute URL or '' (android-app:// and friends are fine)."""
    ref = text(value, key, max_len=MAX_URL)
    if ref and "://" not in ref:
        raise BadInput(f"'{key}' must be an absolute URL")
    return ref


def props(value: Any, key: str) -> dict[str, str] | None:
    """Custom props: an object (or a JSON string of one) of scalar values, kept as strings."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        try:
            value = jsoncodec.loads(value, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise BadInput(f"'{key}' must be a JSON object") from exc
    if not isinstance(value, dict):
        raise BadInput(f"'{key}' must be a JSON object")
    if len(value) > MAX_PROPS:
        raise BadInput(f"'{key}' has more than {MAX_PROPS} entries")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not k or len(k) > MAX_PROP_KEY:
            raise BadInput(f"'{key}' keys must be 1 to {MAX_PROP_KEY} characters")
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, int | float):
            if isinstance(v, float) and not math.isfinite(v):
                raise BadInput(f"'{key}.{k}' must be a finite number")
            v = str(v)
        elif v is None:
            continue
        elif not isinstance(v, str):
            raise BadInput(f"'{key}.{k}' must be a string, number or boolean")
        if len(v) > MAX_PROP_VALUE:
            raise BadInput(f"'{key}.{k}' is longer than {MAX_PROP_VALUE} characters")
        out[k] = v
    return out or None


def error_fields(value: dict[str, Any], key: str) -> dict[str, str]:
    """Error details: scalar fields kept as bounded strings, empty ones left out."""
    out: dict[str, str] = {}
    for k, v in value.items():
        if v is None or v == "":
            continue
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise BadInput(f"'{key}.{k}' must be a string or number")
        s = str(v)
        if len(s) > MAX_ERROR_FIELD:
            s = s[:MAX_ERROR_FIELD]  # stacks and samples are cut, not refused
        out[str(k)[:MAX_PROP_KEY]] = s
    return out


def event_name(value: Any, key: str, *, default: str = "") -> str:
    name = text(value, key, max_len=MAX_NAME) or default
    if not name:
        raise BadInput(f"'{key}' (event name) is required")
    return name


def batch(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadInput(f"{what} must be a JSON array")
    if not value:
        raise BadInput(f"{what} is empty")
    if len(value) > MAX_BATCH:
        raise BadInput(f"{what} has more than {MAX_BATCH} items")
    return value


def to_event(hit: Hit, *, site_id: int, ts: float, ip: str, ua: str) -> AnalyticsEvent:
    """Stamp a hit into the job payload (receive time, client IP and UA come from us; the
    UA from the hit when its protocol forwards the visitor's)."""
    event: AnalyticsEvent = {
        "v": SCHEMA_VERSION,
        "site": site_id,
        "kind": hit.kind,  # type: ignore[typeddict-item]
        "name": hit.name,
        "url": hit.url,
        "ref": hit.ref,
        "ts": ts,
        "ip": ip,
        "ua": hit.ua or ua,
        "src": hit.src,
    }
    if hit.props:
        event["props"] = hit.props
    if hit.screen is not None:
        event["screen"] = hit.screen
    if hit.lang:
        event["lang"] = hit.lang
    if hit.title:
        event["title"] = hit.title
    if hit.engaged_ms is not None:
        event["engaged_ms"] = hit.engaged_ms
    if hit.scroll is not None:
        event["scroll"] = hit.scroll
    if hit.error:
        event["error"] = hit.error
    return event
