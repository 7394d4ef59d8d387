"""Named enrichment steps of the analytics worker: pure functions, no database.

Each step either returns enriched values or raises `Drop(step, reason)`; the pipeline counts
the drop (Prometheus + daily counter) and moves on. Steps are cached where the input space
repeats (user agents), because the worker budget is ~50 us per event (20k events/s).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from iptocc import country_code
from ua_parser import Parser, load_builtins
from ua_parser.regex import Resolver

from web.analytics import referrers
from web.analytics.records import SESSION_TIMEOUT, Rec
from web.analytics.schema import EVENT_KINDS
from web.analytics.timefmt import DAY, HOUR

MAX_PATH = 500
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class Drop(Exception):
    """An event is dropped by a step for a counted reason."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}:{reason}")
        self.step = step
        self.reason = reason


# --- validate ---------------------------------------------------------------------------


def validate(p: object) -> dict:
    """Shape check of an AnalyticsEvent (ingest validated it; this guards against old or
    foreign publishers). Raises Drop("validate", "invalid")."""
    if not isinstance(p, dict):
        raise Drop("validate", "invalid")
    if (
        type(p.get("site")) is not int
        or p.get("kind") not in EVENT_KINDS
        or not isinstance(p.get("ts"), int | float)
        or not isinstance(p.get("url", ""), str)
        or not isinstance(p.get("ip", ""), str)
        or not isinstance(p.get("ua", ""), str)
        or not isinstance(p.get("name", ""), str)
        or not isinstance(p.get("ref", ""), str)
    ):
        raise Drop("validate", "invalid")
    return p


# --- visitor id -------------------------------------------------------------------------


def visitor_id(salt: bytes, site: int, ip: str, ua: str) -> int:
    """Keyed hash of site, IP and UA under the day's salt, as a positive 63-bit int. The IP
    goes into the hash only; it is never stored."""
    digest = hashlib.blake2b(f"{site}|{ip}|{ua}".encode(), key=salt, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


SESSION_EPOCH = 1_577_836_800  # 2020-01-01: 31 bits of seconds last until 2088
_U64 = (1 << 64) - 1


def session_id_for(vid: int, ts: float) -> int:
    """Deterministic session id, so a redelivered batch recreates the same ids. Start
    second in the high bits: new sessions append to the table's B-tree instead of
    touching random pages (each touched page is 4 KiB of WAL per batch). Below it, 32 bits
    mixed from the visitor id and the start millisecond (splitmix64's finaliser: the visitor
    id is already a keyed hash, so this only has to spread it, at half the cost of a blake2b
    call). Sessions starting in the same second collide with probability n²/2³³ (at 4,000
    new sessions a second, once in ~9 minutes)."""
    x = (vid ^ int(ts * 1000) * 0x9E3779B97F4A7C15) & _U64
    x = ((x ^ (x >> 31)) * 0xBF58476D1CE4E5B9) & _U64
    return ((int(ts) - SESSION_EPOCH) << 32) | (x >> 32)


# --- user agent -------------------------------------------------------------------------

_parser: Parser | None = None


def _ua_parser() -> Parser:
    global _parser
    if _parser is None:
        # The regex resolver is ua-parser-rs (compiled Rust); our lru_cache sits in front.
        _parser = Parser(Resolver(load_builtins()))
    return _parser


_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk|PlayBook|Nexus (?:7|9|10)\b", re.I)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android.*Mobile|Windows Phone|Opera Mini", re.I)


@lru_cache(maxsize=20_000)
def user_agent(ua: str) -> tuple[str, str, str, bool]:
    """(browser, os, device type, is_bot) for a User-Agent string."""
    if not ua:
        return "", "", "", False
    r = _ua_parser().parse(ua)
    browser = r.user_agent.family if r.user_agent else ""
    os_name = r.os.family if r.os else ""
    dev = r.device.family if r.device else ""
    is_bot = dev == "Spider" or browser in {"HeadlessChrome", "PhantomJS"}
    if _TABLET.search(ua) or (os_name == "Android" and "Mobile" not in ua):
        device = "tablet"
    elif _MOBILE.search(ua):
        device = "mobile"
    else:
        device = "desktop"
    return (
        browser if browser != "Other" else "",
        os_name if os_name != "Other" else "",
        device,
        is_bot,
    )


def device_for(device: str, screen: object) -> str:
    """The tracker's viewport width beats the UA guess (a desktop browser in a narrow
    window counts as what the visitor saw)."""
    if type(screen) is int and screen > 0:
        if screen < 768:
            return "mobile"
        if screen < 1024:
            return "tablet"
        return "desktop"
    return device


def ua_step(ua: str) -> tuple[str, str, str]:
    browser, os_name, device, is_bot = user_agent(ua)
    if is_bot:
        raise Drop("ua", "bot")
    return browser, os_name, device


# --- country ----------------------------------------------------------------------------


def country(ip: str) -> str:
    """ISO country code from the offline iptocc table ("" when unknown or private)."""
    if not ip:
        return ""
    try:
        return country_code(ip) or ""
    except (ValueError, TypeError):
        return ""


# --- url, referrer, campaign ------------------------------------------------------------

_MULTI_SLASH = re.compile(r"/{2,}")


def normalise_path(path: str, fragment: str = "") -> str:
    """Path without query, duplicate or trailing slashes and index files; hash routes
    (#/x, #!/x) are kept because they are pages in a hash-routed app."""
    if "//" in path:
        path = _MULTI_SLASH.sub("/", path)
    if ";" in path:
        path = path.split(";", 1)[0]
    if path.endswith(("/index.html", "/index.htm", "/index.php")):
        path = path[: path.rfind("/") + 1]
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    if not path or path[0] != "/":
        path = "/" + path
    if fragment and fragment[0] in "/!":
        path = path + "#" + fragment
    return path[:MAX_PATH]


class Url:
    """The parts of a page URL the worker keeps."""

    __slots__ = ("click_id", "host", "path", "ref_param", "utm")

    def __init__(self, host: str, path: str, utm: tuple[str, ...], click_id: str, ref: str):
        self.host = host
        self.path = path
        self.utm = utm
        self.click_id = click_id
        self.ref_param = ref


NO_UTM = ("", "", "", "", "")


@lru_cache(maxsize=50_000)
def parse_url(url: str) -> Url:
    """Host, normalised path, UTM tuple, click-id kind and ?ref= of a page URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return Url("", "/", NO_UTM, "", "")
    utm = NO_UTM
    click = ""
    ref = ""
    if parts.query:
        q = {}
        for k, v in parse_qsl(parts.query, keep_blank_values=False):
            q.setdefault(k.lower(), v)
        if any(k in q for k in UTM_KEYS):
            utm = tuple(q.get(k, "").strip()[:200] for k in UTM_KEYS)
        for key in referrers.CLICK_IDS:
            if key in q:
                click = key
                break
        ref = (q.get("ref") or q.get("source") or "").strip()[:200]
    host = (parts.hostname or "").lower()
    return Url(host, normalise_path(parts.path, parts.fragment), utm, click, ref)


@lru_cache(maxsize=20_000)
def referrer_host(ref: str) -> str:
    if not ref:
        return ""
    try:
        host = urlsplit(ref).hostname or ""
    except ValueError:
        return ""
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def classify(url: Url, ref_host: str) -> tuple[str, str, str]:
    """(source, medium, referrer host) for the first event of a session.

    Precedence: UTM > click id > ?ref= > referrer host table > other referrer > direct. A
    referrer from the page's own host is internal navigation and counts as direct.
    """
    page_host = url.host[4:] if url.host.startswith("www.") else url.host
    if ref_host == page_host:
        ref_host = ""
    utm_source, utm_medium = url.utm[0], url.utm[1]
    if utm_source or utm_medium:
        known = referrers.lookup(utm_source) if "." in utm_source else None
        source = known[0] if known else (utm_source or ref_host or "Direct")
        medium = utm_medium.lower() or (known[1] if known else "referral")
        if medium in referrers.EMAIL_MEDIUMS:
            medium = "email"
        return source, medium, ref_host
    if url.click_id:
        source, medium = referrers.CLICK_IDS[url.click_id]
        return source, medium, ref_host
    if url.ref_param:
        known = referrers.lookup(url.ref_param) if "." in url.ref_param else None
        return (known or (url.ref_param, "referral"))[0], (known or ("", "referral"))[1], ref_host
    if ref_host:
        known = referrers.lookup(ref_host)
        if known:
            return known[0], known[1], ref_host
        return ref_host, "referral", ref_host
    return "Direct", "(none)", ""


# --- all steps, for one event -----------------------------------------------------------


def enrich(p: dict, eid: str, salts: dict[int, bytes], today: int) -> Rec:
    """Run every step on a validated payload: visitor id (today's and, near midnight,
    yesterday's), user agent, country, URL, referrer and the optional fields. `salts` maps a
    UTC day number to its salt. Raises Drop for a stale event (no salt for its day, or older
    than yesterday) or a bot."""
    r = Rec()
    r.p = p
    r.eid = eid
    r.site = site = p["site"]
    r.ts = ts = float(p["ts"])
    r.kind = p["kind"]
    r.name = (p.get("name") or r.kind)[:200]
    r.hour = int(ts // HOUR)
    r.day = day = int(ts // DAY)
    # step: visitor id
    salt = salts.get(day)
    if salt is None or day < today - 1:
        raise Drop("visitor", "stale")
    ip = p.get("ip") or ""
    ua = p.get("ua") or ""
    r.vid = visitor_id(salt, site, ip, ua)
    # Yesterday's id is only needed to continue a session across midnight.
    prev = salts.get(day - 1) if ts - day * DAY < SESSION_TIMEOUT else None
    r.prev_vid = visitor_id(prev, site, ip, ua) if prev is not None else 0
    # step: user agent
    r.browser, r.os, device = ua_step(ua)
    get = p.get
    screen = get("screen")
    r.screen = screen if type(screen) is int else 0
    r.device = device_for(device, screen)
    # step: country
    r.country = country(ip)
    # step: referrer, campaign, path
    r.url = parse_url(get("url") or "")
    r.ref_host = referrer_host(get("ref") or "")
    props = get("props")
    r.props = props if type(props) is dict else None
    engaged = get("engaged_ms")
    r.engaged = engaged if type(engaged) is int and 0 <= engaged <= 86_400_000 else 0
    scroll = get("scroll")
    r.scroll = scroll if type(scroll) is int else 0
    lang = get("lang")
    r.lang = lang[:35] if type(lang) is str else ""
    err = get("error")
    r.error = err if type(err) is dict else {}
    r.session = None
    return r
