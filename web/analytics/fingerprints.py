"""Error grouping: fingerprint = normalised top stack frames, falling back to type + message.

Line and column numbers, hosts, query strings and build hashes in file names are dropped so
that the same bug groups together across deploys and CDNs; the function names and file
paths of the top frames are what identify it.
"""

from __future__ import annotations

import hashlib
import re
import traceback
from dataclasses import dataclass

TOP_FRAMES = 3

_CHROME = re.compile(r"^\s*at (?:(?P<fn>.+?) \()?(?P<file>[^()\s]+?):(?P<line>\d+)(?::\d+)?\)?\s*$")
_GECKO = re.compile(r"^\s*(?P<fn>[^@\s]*)@(?P<file>.+?):(?P<line>\d+)(?::\d+)?\s*$")
_PYTHON = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<fn>\S+)')
_BUILD_HASH = re.compile(r"[.-][0-9a-f]{6,}(?=\.(?:m?js|css)$)", re.I)
_ERROR_TYPE = re.compile(
    r"^(?:Uncaught\s+)?(?:\(in promise\)\s+)?([A-Z]\w*(?:Error|Exception))\b:?\s*"
)
_MSG_NOISE = [
    (re.compile(r"https?://\S+"), "<url>"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\d+"), "0"),
]


def normalise_file(path: str) -> str:
    """Drop scheme, host, query and build hashes; keep the path inside the site or package."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1]
        path = path[path.find("/") :] if "/" in path else "/"
    for marker in ("site-packages/", "/work/main/", "/lib/python"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return _BUILD_HASH.sub("", path)


def normalise_fn(fn: str) -> str:
    fn = (fn or "").strip()
    for prefix in ("async ", "new ", "Object."):
        if fn.startswith(prefix):
            fn = fn[len(prefix) :]
    return fn or "?"


def parse_stack(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame, innermost first (JS order; Python is reversed)."""
    frames: list[tuple[str, str]] = []
    python = False
    for line in stack.splitlines():
        m = _CHROME.match(line) or _GECKO.match(line)
        if m is None:
            m = _PYTHON.match(line)
            python = python or m is not None
        if m is not None:
            frames.append((normalise_fn(m["fn"]), normalise_file(m["file"])))
    return frames[::-1] if python else frames


def error_type(message: str, default: str = "Error") -> str:
    m = _ERROR_TYPE.match(message)
    return m.group(1) if m else default


def normalise_message(message: str) -> str:
    message = _ERROR_TYPE.sub("", message, count=1).strip()
    for rx, repl in _MSG_NOISE:
        message = rx.sub(repl, message)
    return message[:300]


@dataclass(frozen=True)
class Grouping:
    fingerprint: str
    type: str
    message: str
    culprit: str


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def group_error(*, kind: str, type_: str, message: str, stack: str, where: str = "") -> Grouping:
    """Fingerprint an error: top frames when the stack has any, else type + message."""
    frames = parse_stack(stack)[:TOP_FRAMES] if stack else []
    culprit = f"{frames[0][0]} ({frames[0][1]})" if frames else where
    if frames:
        fp = _digest(kind, type_, *(f"{fn}@{f}" for fn, f in frames))
    else:
        fp = _digest(kind, type_, normalise_message(message), where)
    return Grouping(fp, type_[:200], message[:2000], culprit[:500])


def group_exception(exc: BaseException, *, where: str) -> tuple[Grouping, str]:
    """Fingerprint a Python exception by its innermost frames; returns (grouping, stack)."""
    stack = "".join(traceback.format_exception(exc))
    return group_error(
        kind="server", type_=type(exc).__name__, message=str(exc), stack=stack, where=where
    ), stack


def group_csp(report: dict) -> Grouping:
    """CSP violations group by directive and blocked origin (or keyword: inline, eval)."""

    def pick(*keys: str) -> str:
        for k in keys:
            v = report.get(k)
            if isinstance(v, str) and v:
                return v
        return ""

    directive = (
        pick(
            "effective-directive",
            "effectiveDirective",
            "violated-directive",
            "violatedDirective",
            "directive",
        )
        or "unknown"
    )
    directive = directive.split()[0]
    blocked = pick("blocked-uri", "blockedURL", "blockedURI", "blocked") or "inline"
    if "://" in blocked:
        scheme, rest = blocked.split("://", 1)
        blocked = f"{scheme}://{rest.split('/', 1)[0]}"
    message = pick("message") or f"{directive} blocked {blocked}"
    source = pick("source-file", "sourceFile", "source", "document-uri", "documentURL")
    return Grouping(
        _digest("csp", directive, blocked),
        f"CSP {directive}"[:200],
        message[:2000],
        normalise_file(source)[:500] if source else blocked[:500],
    )
