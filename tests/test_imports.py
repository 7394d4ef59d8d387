"""The import-rule check of scripts/imports.py: today's tree passes, a new violation fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "imports.py"


def _load() -> types.ModuleType:
    """The script as a module (it is not in a package)."""
    spec = importlib.util.spec_from_file_location("imports_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["imports_script"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_check_passes_on_the_tree() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 violations" in out.stdout


def test_a_new_app_importing_cron_is_a_violation() -> None:
    mod = _load()
    graph = mod.build()
    graph.imports.append(
        mod.Import("web.blog.views", "cron.jobs", "JOBS", "module", "web/blog/views.py:1", False)
    )
    graph.imports.append(
        mod.Import("worker.main", "web.blog.services", "", "function", "worker/main.py:1", False)
    )
    bad, stale = mod.violations(graph)
    assert any("apps-do-not-import-cron" in line and "web.blog.views" in line for line in bad)
    assert any("worker-uses-job-contract-only" in line for line in bad)
    assert stale == []


def test_an_allowed_entry_that_matches_nothing_is_reported() -> None:
    mod = _load()
    graph = mod.build()
    mod.ALLOWED.append(("web.blog.views", "cron.*", "test"))
    try:
        _, stale = mod.violations(graph)
    finally:
        mod.ALLOWED.pop()
    assert any("web.blog.views -> cron.*" in line for line in stale)


def test_function_level_and_typing_imports_are_told_apart() -> None:
    mod = _load()
    graph = mod.build()
    kinds = {(i.src, i.dst): i.kind for i in graph.imports}
    assert kinds[("cron.main", "web.jobs.runner")] == "function"
    assert kinds[("web.jobs.runner", "web.jobs.table")] == "typing"
    assert kinds[("web.jobs.runner", "web.jobs.models")] == "module"


def test_a_module_level_cycle_is_found() -> None:
    mod = _load()
    graph = mod.build()
    assert mod.module_cycles(graph) == []
    back = mod.Import("web.jobs.models", "web.jobs.runner", "", "module", "x:1", False)
    graph.imports.append(back)
    assert any({"web.jobs.models", "web.jobs.runner"} <= set(c) for c in mod.module_cycles(graph))
