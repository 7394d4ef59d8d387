"""Channel names and who may read them.

A channel is a NATS subject without its ``events.`` prefix: ``events.comments.post_12`` is
channel ``comments.post_12``. Channels are admin-only (staff, through django-eventstream)
unless an app registered a public check for their prefix and that check says yes for the
channel's key. Public channels exist only for published content, so a prefix with no
registered check, or a check that raises, refuses (see ADR-4 in
docs/architecture/queues-and-subjects.md).

Other apps register their checks in ``AppConfig.ready()``::

    from web.live.channels import register_public_check

    register_public_check("comments.post_", lambda key: post_is_published(int(key)))
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from asgiref.sync import sync_to_async

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "events."
# Lowercase dotted tokens, no wildcards; short enough for a header and a log line.
_CHANNEL_RE = re.compile(r"^[a-z0-9_-]{1,64}(\.[a-z0-9_-]{1,64}){1,5}$")
# Prefixes that may become public; everything else (alerts.*) is admin-only for good.
PUBLIC_PREFIXES = ("metrics.views.", "comments.post_")

PublicCheck = Callable[[str], bool]
_checks: dict[str, PublicCheck] = {}
# channel -> (allowed, expires_at): reconnect storms must not hit the database per client.
_cache: dict[str, tuple[bool, float]] = {}
CACHE_SECONDS = 5.0
_CACHE_MAX = 50_000


def is_valid_channel(channel: str) -> bool:
    return bool(_CHANNEL_RE.match(channel))


def channel_for_subject(subject: str) -> str | None:
    """The channel of an ``events.*`` subject, or None when the subject is not a live event."""
    if not subject.startswith(SUBJECT_PREFIX):
        return None
    channel = subject[len(SUBJECT_PREFIX) :]
    return channel if is_valid_channel(channel) else None


def subject_for_channel(channel: str) -> str:
    if not is_valid_channel(channel):
        raise ValueError(f"invalid live channel {channel!r}")
    return SUBJECT_PREFIX + channel


def register_public_check(prefix: str, check: PublicCheck) -> None:
    """Let ``check(key)`` decide whether channel ``prefix + key`` is public.

    The check runs in Django's sync thread and may query the database; its answer is cached
    for a few seconds per channel.
    """
    if prefix not in PUBLIC_PREFIXES:
        raise ValueError(f"{prefix!r} is not a public channel prefix: {PUBLIC_PREFIXES}")
    _checks[prefix] = check
    _cache.clear()


def unregister_public_check(prefix: str) -> None:
    _checks.pop(prefix, None)
    _cache.clear()


def _public_state(channel: str) -> bool | None:
    """True/False as the registered check says; None when the check raised."""
    if not is_valid_channel(channel):
        return False
    for prefix, check in _checks.items():
        if channel.startswith(prefix):
            key = channel[len(prefix) :]
            try:
                return bool(key) and bool(check(key))
            except Exception:
                log.exception("public check for %s failed", channel)
                return None
    return False


def is_public_channel(channel: str) -> bool:
    """Sync answer: True only when a registered check allows this channel."""
    return bool(_public_state(channel))


async def public_channel_allowed(channel: str) -> bool:
    """Async, cached form of is_public_channel for the lean SSE endpoint."""
    if not is_valid_channel(channel) or not channel.startswith(PUBLIC_PREFIXES):
        return False
    now = time.monotonic()
    hit = _cache.get(channel)
    if hit is not None and hit[1] > now:
        return hit[0]
    allowed = await sync_to_async(is_public_channel, thread_sensitive=True)(channel)
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[channel] = (allowed, now + CACHE_SECONDS)
    return allowed


def _states(channels: list[str]) -> dict[str, bool | None]:
    return {channel: _public_state(channel) for channel in channels}


async def public_channels_revoked(channels: list[str], *, batch: int = 200) -> list[str]:
    """Of these open public channels, the ones that are no longer public, asked afresh.

    For the periodic re-check of open streams (S4 of issue 15): the cache is bypassed and
    refreshed, so new connections see the answer too. A check that raises revokes nothing:
    a database hiccup must not end every open stream (browsers that get a 403 on reconnect
    stop for good); new connections are still refused while it fails. Checks run in
    batches on Django's sync thread, so requests interleave with a large re-check.
    """
    revoked: list[str] = []
    for start in range(0, len(channels), batch):
        part = channels[start : start + batch]
        states = await sync_to_async(_states, thread_sensitive=True)(part)
        expires = time.monotonic() + CACHE_SECONDS
        for channel, state in states.items():
            if state is None:
                continue
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()
            _cache[channel] = (state, expires)
            if not state:
                revoked.append(channel)
    return revoked


def staff_can_read(user: object, channel: str) -> bool:
    """Admin channels (and every other valid channel) are for active staff only."""
    return (
        is_valid_channel(channel)
        and bool(getattr(user, "is_authenticated", False))
        and bool(getattr(user, "is_active", False))
        and bool(getattr(user, "is_staff", False))
    )
