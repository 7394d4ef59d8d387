"""The one rule for goal and page-pattern matching (see analytics.md, "Goals").

Used by the worker (rollup counting), the history query path (filters, goal panels, funnel
steps) and the admin form, so a pattern means the same thing everywhere:

- A page pattern is normalised like a stored path (``steps.normalise_path``): one leading
  slash, no duplicate slashes, no trailing slash, no index file. ``/pricing/`` is stored and
  matched as ``/pricing``.
- ``*`` matches any run of characters, ``/`` included, anywhere in the pattern. No other
  character is special: ``_`` and ``%`` match themselves.
- An event goal matches a custom event whose name equals the pattern exactly.
"""

from __future__ import annotations

import re
from functools import lru_cache

from web.analytics.steps import normalise_path

KINDS = ("event", "page")
MAX_PATTERN = 500


class GoalError(ValueError):
    """A goal or pattern that cannot be stored; the message is shown to the user."""


def normalise_pattern(kind: str, match: str) -> str:
    """The stored form of a goal's pattern. Raises GoalError for an empty or unknown one."""
    if kind not in KINDS:
        raise GoalError(f"unknown goal kind {kind!r}; use 'event' or 'page'")
    match = match.strip()
    if not match:
        raise GoalError("a goal needs something to match")
    if len(match) > MAX_PATTERN:
        raise GoalError(f"a goal's pattern is longer than {MAX_PATTERN} characters")
    if kind == "event":
        return match
    if "*" not in match:
        path, _, fragment = match.partition("#")
        return normalise_path(path, fragment)
    match = re.sub("/{2,}", "/", match)
    if not match.startswith(("/", "*")):
        match = "/" + match
    if len(match) > 1 and match.endswith("/"):
        match = match.rstrip("/") or "/"
    return match


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    """Whether a stored (normalised) path matches a normalised page pattern."""
    if "*" not in pattern:
        return path == pattern
    return _regex(pattern).fullmatch(path) is not None


def event_matches(pattern: str, name: str) -> bool:
    return name == pattern


def matches(kind: str, pattern: str, event_kind: str, name: str, path: str) -> bool:
    """Whether one event (kind, name, path) converts a goal of ``kind`` with ``pattern``."""
    if kind == "event":
        return event_kind == "custom" and name == pattern
    return event_kind == "pageview" and path_matches(pattern, path)


def sql_condition(kind: str, pattern: str) -> tuple[str, list[str]]:
    """A condition on columns ``kind``, ``name``, ``path`` with ``?`` parameters, for the
    history engine (DuckDB). Same meaning as ``matches``; ``_``/``%`` are escaped."""
    if kind == "event":
        return "(kind = 'custom' AND name = ?)", [pattern]
    if "*" not in pattern:
        return "(kind = 'pageview' AND path = ?)", [pattern]
    if pattern.count("*") == 1 and pattern.endswith("*"):
        return "(kind = 'pageview' AND starts_with(path, ?))", [pattern[:-1]]
    like = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "(kind = 'pageview' AND path LIKE ? ESCAPE '\\')", [like.replace("*", "%")]


def sql_condition_for_goal(kind: str, match: str) -> tuple[str, list[str]]:
    """``sql_condition`` of a stored goal (normalised again: rows older than the rule)."""
    return sql_condition(kind, normalise_pattern(kind, match))


def step_spec(step: str) -> tuple[str, str]:
    """A funnel step as (kind, pattern): ``event:<name>`` or a page pattern."""
    if step.startswith("event:"):
        return "event", normalise_pattern("event", step[6:])
    return "page", normalise_pattern("page", step)
