"""``ensure_admin``: Hearth creates and sets the password of its own admin only; a restored
or hand-made account keeps its password (issue 15, reliability 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model

from web.stack.launch import KEPT_PASSWORD, StackPaths, ensure_admin

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


def test_a_fresh_data_dir_gets_an_admin_whose_password_is_kept(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    user, password = ensure_admin(paths)
    assert user == "admin" and len(password) >= 16
    assert paths.admin_password.read_text().strip() == password
    assert paths.admin_password.stat().st_mode & 0o777 == 0o600
    assert authenticate(username="admin", password=password) is not None
    assert ensure_admin(paths) == ("admin", password)  # the next start: the same one
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_a_restored_admin_keeps_its_password(tmp_path: Path) -> None:
    """A restore onto a new box: data.db has the admin, the data dir has no
    admin-password.txt. Before, ``make up`` reset the admin's password to a new one."""
    get_user_model().objects.create_superuser("admin", "me@example.com", "the owner's own")
    paths = StackPaths(tmp_path)
    assert ensure_admin(paths) == ("admin", KEPT_PASSWORD)
    assert authenticate(username="admin", password="the owner's own") is not None
    assert not paths.admin_password.exists()
    assert ensure_admin(paths) == ("admin", KEPT_PASSWORD)  # and on every later start


def test_a_hand_made_superuser_is_left_alone_and_no_admin_is_added(tmp_path: Path) -> None:
    get_user_model().objects.create_superuser("owner", "me@example.com", "mine")
    assert ensure_admin(StackPaths(tmp_path)) == ("owner", KEPT_PASSWORD)
    assert not get_user_model().objects.filter(username="admin").exists()
    assert authenticate(username="owner", password="mine") is not None
