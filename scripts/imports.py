#!/usr/bin/env python3
"""The shape of the code: the import graph, the import rules, the largest files, repeats.

``python scripts/imports.py`` prints the import graph between the deployed packages (web,
worker, cron, bench) and between the web apps, read statically with ``ast`` (module-level,
function-level and TYPE_CHECKING-only imports counted apart), then the largest files and the
number of repeated six-line blocks outside migrations (when the ``duplicates`` tool is on
PATH). ``--check`` prints only the rule check and exits 1 on a violation; ``make lint`` and
``make test`` run it, so CI fails when a new import breaks a rule.

Why: the layout is the architecture (docs/architecture/overview.md). A process (worker,
cron) may use the web apps' public services, but no web app may depend on a process, and the
worker talks to the apps only through the job contract. Each rule is a line in ``RULES``;
imports that break a rule today and are scheduled to go are listed in ``ALLOWED`` with the
issue item that removes them. An ``ALLOWED`` line that no longer matches anything is itself
an error, so the list can only shrink.

Needs nothing but the standard library (no Django), and reads test code too but applies the
rules to production code only (tests may reach across for fixtures: issue 18, item 4).
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("web", "worker", "cron", "bench")
KINDS = ("module", "function", "typing")  # where the import statement stands


@dataclass(frozen=True)
class Rule:
    """Production modules matching ``src`` may not import modules matching ``dst`` (globs
    on dotted names), except those matching ``unless``."""

    name: str
    src: str
    dst: str
    unless: tuple[str, ...] = ()
    why: str = ""


# The job contract the worker may use: the messaging app (streams, envelopes, counters,
# dead letters) plus the project's shared kernel (settings, env, core health/S3 helpers).
JOB_CONTRACT = ("web.messaging", "web.messaging.*", "web.core", "web.core.*", "web.env")

RULES: list[Rule] = [
    Rule(
        "worker-uses-job-contract-only",
        src="worker*",
        dst="web*",
        unless=JOB_CONTRACT,
        why="the worker runs handlers that apps register; it imports no app internals",
    ),
    Rule(
        "worker-no-private-names",
        src="worker*",
        dst="web*:_*",
        why="a leading underscore is a module's own business",
    ),
    Rule(
        "apps-do-not-import-cron",
        src="web*",
        dst="cron*",
        why="cron is a process that calls the apps, never the other way round",
    ),
    Rule(
        "apps-do-not-import-worker",
        src="web*",
        dst="worker*",
        why="the worker is a process that calls the apps, never the other way round",
    ),
    Rule("cron-does-not-import-worker", src="cron*", dst="worker*", why="separate processes"),
    Rule("worker-does-not-import-cron", src="worker*", dst="cron*", why="separate processes"),
    Rule(
        "nothing-imports-bench",
        src="[wc]*",
        dst="bench*",
        why="benchmarks measure the product; the product does not depend on them",
    ),
]

# Violations that exist today, each with the issue item that removes it. (source module,
# imported name as "module" or "module:name", reason.) Keep this list shrinking.
ALLOWED: list[tuple[str, str, str]] = []


@dataclass
class Import:
    src: str  # importing module
    dst: str  # imported module (resolved, absolute)
    name: str  # imported name ("" for `import x`)
    kind: str  # module | function | typing
    where: str  # path:line
    test: bool


@dataclass
class Graph:
    imports: list[Import] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_test(path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    if rel.startswith("web/core/testing/"):  # the shared test kit: test code, not product
        return True
    return "/tests/" in rel or path.name == "conftest.py" or path.name.startswith("test_")


def source_files() -> list[Path]:
    files: list[Path] = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            files.append(path)
    return files


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str, is_pkg: bool) -> None:
        self.module = module
        self.is_pkg = is_pkg
        self.found: list[tuple[str, str, str, int]] = []  # dst, name, kind, line
        self._depth = 0
        self._typing = 0

    def _kind(self) -> str:
        if self._typing:
            return "typing"
        return "function" if self._depth else "module"

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            self._typing += 1
            for child in node.body:
                self.visit(child)
            self._typing -= 1
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, "", self._kind(), node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.module.split(".")
            keep = len(parts) - node.level + (1 if self.is_pkg else 0)
            base = ".".join(parts[:keep] + ([base] if base else []))
        for alias in node.names:
            self.found.append((base, alias.name, self._kind(), node.lineno))


def build() -> Graph:
    graph = Graph()
    known: set[str] = set()
    files = source_files()
    for path in files:
        known.add(module_name(path))
    for path in files:
        mod = module_name(path)
        graph.files[mod] = path
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        visitor = _Visitor(mod, path.name == "__init__.py")
        visitor.visit(tree)
        for dst, name, kind, line in visitor.found:
            if dst.split(".")[0] not in PACKAGES:
                continue
            # `from web.backups import services` imports the module web.backups.services.
            if name and f"{dst}.{name}" in known:
                dst, name = f"{dst}.{name}", ""
            where = f"{path.relative_to(ROOT).as_posix()}:{line}"
            graph.imports.append(Import(mod, dst, name, kind, where, is_test(path)))
    return graph


def node_of(module: str) -> str:
    """The graph node of a module: a web app (``web.<app>``), ``web`` for the project's own
    modules (settings, env, urls...), or the top-level package."""
    parts = module.split(".")
    if parts[0] == "web" and len(parts) > 1 and (ROOT / "web" / parts[1]).is_dir():
        return f"web.{parts[1]}"
    return "web/*.py" if parts[0] == "web" else parts[0]


def edges(graph: Graph, *, level: str, tests: bool) -> dict[tuple[str, str], dict[str, int]]:
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for imp in graph.imports:
        if imp.test != tests:
            continue
        if level == "top":
            a, b = imp.src.split(".")[0], imp.dst.split(".")[0]
        else:
            if not (imp.src.startswith("web.") and imp.dst.startswith("web")):
                continue
            a, b = node_of(imp.src), node_of(imp.dst)
            if a == "web/*.py":
                continue
        if a != b:
            out[(a, b)][imp.kind] += 1
    return out


def module_cycles(graph: Graph) -> list[list[str]]:
    """Import cycles between production modules through module-level imports (those run at
    import time; a function-level import is how a cycle is deliberately deferred)."""
    deps: dict[str, set[str]] = defaultdict(set)
    for imp in graph.imports:
        if not imp.test and imp.kind == "module" and imp.dst in graph.files:
            deps[imp.src].add(imp.dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in deps.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for module in sorted(graph.files):
        if module not in index:
            visit(module)
    return found


def _cell(counts: dict[str, int]) -> str:
    return " / ".join(str(counts[k]) for k in KINDS)


def print_edges(title: str, table: dict[tuple[str, str], dict[str, int]]) -> None:
    print(f"\n{title}  (imports: module-level / in a function / TYPE_CHECKING only)")
    print(f"  {'from':<16} {'to':<16} {'count':>14}")
    for (a, b), counts in sorted(table.items()):
        back = "  <-> cycle" if (b, a) in table else ""
        print(f"  {a:<16} {b:<16} {_cell(counts):>14}{back}")
    if not table:
        print("  (none)")


def _matches(text: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(text, pattern)


def violations(graph: Graph) -> tuple[list[str], list[str]]:
    """(violations not allowed, ALLOWED lines that matched nothing)."""
    bad: list[str] = []
    used: set[int] = set()
    for imp in graph.imports:
        if imp.test:
            continue
        target = f"{imp.dst}:{imp.name}" if imp.name else imp.dst
        for rule in RULES:
            dst_pat, _, name_pat = rule.dst.partition(":")
            if not _matches(imp.src, rule.src) or not _matches(imp.dst, dst_pat):
                continue
            if name_pat and not (imp.name and _matches(imp.name, name_pat)):
                continue
            if any(_matches(imp.dst, u) for u in rule.unless):
                continue
            allowed = [
                i
                for i, (src, what, _) in enumerate(ALLOWED)
                if src == imp.src and (_matches(target, what) or _matches(imp.dst, what))
            ]
            if allowed:
                used.update(allowed)
                continue
            bad.append(f"{imp.where}: {rule.name}: {imp.src} imports {target} ({rule.why})")
    stale = [
        f"ALLOWED entry matches nothing any more, remove it: {src} -> {what} ({why})"
        for i, (src, what, why) in enumerate(ALLOWED)
        if i not in used
    ]
    return bad, stale


def check(graph: Graph) -> int:
    bad, stale = violations(graph)
    for line in bad + stale:
        print(line)
    allowed = len(ALLOWED) - len(stale)
    print(
        f"import rules: {len(RULES)} rules, {len(bad)} violations, "
        f"{allowed} allowed for now (scripts/imports.py ALLOWED), {len(stale)} stale"
    )
    return 1 if bad or stale else 0


def largest_files(n: int = 15) -> list[tuple[int, str]]:
    sizes = []
    for path in source_files() + sorted((ROOT / "tests").rglob("*.py")):
        if "migrations" in path.parts or "__pycache__" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        sizes.append((lines, path.relative_to(ROOT).as_posix()))
    return sorted(sizes, reverse=True)[:n]


def duplicate_counts() -> str:
    """Pairs of repeated six-line blocks outside migrations, from the `duplicates` tool."""
    tool = shutil.which("duplicates")
    if not tool:
        return "duplicates: tool not on PATH, not counted"
    out = subprocess.run(
        [tool, "--most", "200", "--seconds", "120", "--repo", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    rows = [line for line in out.splitlines() if re.match(r"^D\d+ ", line)]
    outside = [r for r in rows if "/migrations/" not in r and not r.split()[1].startswith("var/")]
    exact = [r for r in outside if " shape" not in r]
    head = out.splitlines()[0] if out else "no output"
    return (
        f"duplicates (6+ lines, whole tree): {head}\n"
        f"  pairs outside migrations: {len(outside)} ({len(exact)} identical, "
        f"{len(outside) - len(exact)} alike by shape)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only the rule check")
    parser.add_argument("--no-duplicates", action="store_true", help="skip the duplicates run")
    args = parser.parse_args(argv)
    graph = build()
    if args.check:
        return check(graph)
    print_edges("Packages (production code)", edges(graph, level="top", tests=False))
    print_edges("Web apps (production code)", edges(graph, level="apps", tests=False))
    print_edges("Packages (test code)", edges(graph, level="top", tests=True))
    print_edges("Web apps (test code)", edges(graph, level="apps", tests=True))
    cycles = module_cycles(graph)
    print(f"\nModule-level import cycles (production code): {len(cycles)}")
    for cycle in cycles:
        print("  " + " <-> ".join(cycle))
    print("\nLargest files (lines, migrations left out)")
    for lines, path in largest_files():
        print(f"  {lines:>5}  {path}")
    if not args.no_duplicates:
        print()
        print(duplicate_counts())
    print()
    return check(graph)


if __name__ == "__main__":
    sys.exit(main())
