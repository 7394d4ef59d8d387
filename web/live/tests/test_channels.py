"""The public-channel registry: unknown means refused, a failing check refuses, staff rules."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from web.live import channels


def test_no_registered_check_means_refused(registry: None) -> None:
    assert not channels.is_public_channel("comments.post_1")
    assert not asyncio.run(channels.public_channel_allowed("comments.post_1"))


def test_registered_check_decides_by_key(registry: None) -> None:
    published = {"7"}
    channels.register_public_check("comments.post_", lambda key: key in published)
    assert channels.is_public_channel("comments.post_7")
    assert not channels.is_public_channel("comments.post_8")
    assert asyncio.run(channels.public_channel_allowed("comments.post_7"))
    assert not asyncio.run(channels.public_channel_allowed("comments.post_8"))


def test_a_failing_check_refuses(registry: None) -> None:
    def boom(key: str) -> bool:
        raise RuntimeError("database is gone")

    channels.register_public_check("metrics.views.", boom)
    assert not channels.is_public_channel("metrics.views.1")


def test_alerts_can_never_be_public(registry: None) -> None:
    with pytest.raises(ValueError):
        channels.register_public_check("alerts.", lambda key: True)
    channels.register_public_check("comments.post_", lambda key: True)
    assert not asyncio.run(channels.public_channel_allowed("alerts.errors"))


def test_answers_are_cached_briefly(registry: None) -> None:
    calls: list[str] = []

    def check(key: str) -> bool:
        calls.append(key)
        return True

    channels.register_public_check("comments.post_", check)

    async def twice() -> None:
        await channels.public_channel_allowed("comments.post_3")
        await channels.public_channel_allowed("comments.post_3")

    asyncio.run(twice())
    assert calls == ["3"]


@pytest.mark.parametrize(
    "name", ["alerts", "events.>", "comments.*", "Alerts.errors", "a..b", "a.b c", "a." + "b" * 65]
)
def test_invalid_channel_names(name: str) -> None:
    assert not channels.is_valid_channel(name)


def test_subject_channel_round_trip() -> None:
    assert channels.channel_for_subject("events.comments.post_12") == "comments.post_12"
    assert channels.subject_for_channel("alerts.errors") == "events.alerts.errors"
    assert channels.channel_for_subject("jobs.images.process") is None


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (None, False),
        (SimpleNamespace(is_authenticated=False, is_active=True, is_staff=True), False),
        (SimpleNamespace(is_authenticated=True, is_active=True, is_staff=False), False),
        (SimpleNamespace(is_authenticated=True, is_active=False, is_staff=True), False),
        (SimpleNamespace(is_authenticated=True, is_active=True, is_staff=True), True),
    ],
)
def test_staff_only_for_admin_channels(user: object, allowed: bool) -> None:
    assert channels.staff_can_read(user, "alerts.errors") is allowed
