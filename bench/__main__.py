"""`python -m bench [name ...]`: run every benchmark module (or only the named ones).

A benchmark is a module bench/<name>.py (not starting with "_") defining
`run() -> dict[str, float]`. Each result is printed as a table and written to
<HEARTH_DATA_DIR or ./var>/bench/<name>.json. Exit status 1 if any benchmark failed,
2 for an unknown name.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

from bench import format_table, write_result

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(
        p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and p.stem != "__main__"
    )


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    failed = []
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        run = getattr(module, "run", None)
        if not callable(run):
            if argv:  # asked for by name: say why nothing ran
                print(f"bench.{name} has no run() function")
                failed.append(name)
            continue
        print(f"== {name} ==", flush=True)
        started = time.monotonic()
        try:
            metrics = run()
            path = write_result(name, metrics)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        print(format_table(name, metrics))
        print(f"  ({time.monotonic() - started:.0f} s, written to {path})", flush=True)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
