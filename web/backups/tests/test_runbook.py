"""The restore runbook (docs/architecture/restore.md) tells the reader which data dir its
commands work on: each scenario starts by setting ``HEARTH_DATA_DIR``, and the default it
states is the one web/env.py uses (issue 15, reliability 9)."""

from __future__ import annotations

import re

import pytest

from web import env as hearth_env
from web.env import REPO_ROOT

RUNBOOK = REPO_ROOT / "docs" / "architecture" / "restore.md"


def _scenarios() -> dict[str, str]:
    text = RUNBOOK.read_text()
    parts = re.split(r"^## (Scenario \d+: .*)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_runbook_has_its_four_scenarios() -> None:
    assert len(_scenarios()) == 4


@pytest.mark.parametrize("name", sorted(_scenarios()))
def test_each_scenario_starts_by_setting_the_data_dir(name: str) -> None:
    body = _scenarios()[name]
    top = body[: body.index("\n1. ")]  # before the first step
    assert re.search(r"^export HEARTH_DATA_DIR=\S+", top, flags=re.M), name


def test_the_stated_default_is_the_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    text = RUNBOOK.read_text()
    assert "Unset, it is `var/` in this repository" in text
    monkeypatch.delenv("HEARTH_DATA_DIR", raising=False)
    monkeypatch.delenv("HEARTH_MODE", raising=False)
    monkeypatch.setenv("HEARTH_SECRET_KEY", "x" * 50)  # no dev key file is written
    assert hearth_env.load().data_dir == (REPO_ROOT / "var").resolve()
