"""Hardening (issue 15, security items 1, 5 and 11): download filenames, strict parameter
parsing (400, never 500) and the stats API's answers to other methods."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from web.dashboard.services import public_link_create
from web.dashboard.tests.conftest import RANGE

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])

SAFE_ATTACHMENT = re.compile(r'attachment; filename="[A-Za-z0-9._-]{1,80}\.(csv|zip)"')


@pytest.fixture
def anon() -> Client:
    """An anonymous client that answers a server error as a 500 instead of raising."""
    return Client(raise_request_exception=False)


@pytest.fixture
def share(seeded: dict[str, int]) -> str:
    return f"/share/{public_link_create(site_id=1).key}"


# --- item 1: download filenames -------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        "x\"; filename*=UTF-8''report.html; x=\"",  # a second filename the browser prefers
        "signup\r\nSet-Cookie: a=b",  # a header break: was a 500
        "../../etc/passwd",
        "é" * 300,
        "",
    ],
)
def test_csv_filename_from_the_share_link_is_built_from_safe_parts(
    anon: Client, share: str, event: str
) -> None:
    resp = anon.get(f"{share}/panel/props/", {**RANGE, "name": event, "format": "csv"})
    assert resp.status_code == 200
    assert SAFE_ATTACHMENT.fullmatch(resp["Content-Disposition"]), resp["Content-Disposition"]
    assert "filename*" not in resp["Content-Disposition"]
    assert "Set-Cookie" not in resp.headers


def test_every_download_filename_is_safe(anon: Client, share: str) -> None:
    resp = anon.get(f"{share}/panel/sources/", {**RANGE, "format": "csv"})
    assert resp["Content-Disposition"] == 'attachment; filename="1-sources-custom.csv"'


@pytest.mark.parametrize(
    ("parts", "name"),
    [
        ((1, "props", "signup"), "1-props-signup.csv"),
        ((1, "props", "x\"; filename*=UTF-8''a.html"), "1-props-x_filename_UTF-8_a.html.csv"),
        ((1, "props", "..", "."), "1-props.csv"),
        (("", "\r\n"), "export.csv"),
        ((1, "a" * 200), "1-" + "a" * 78 + ".csv"),
    ],
)
def test_download_name(parts: tuple[Any, ...], name: str) -> None:
    from web.dashboard.views import download_name

    assert download_name(*parts, ext="csv") == name
