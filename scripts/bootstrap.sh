#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install Hearth (pinned) into it.
# Idempotent: re-installs only when pyproject.toml is newer than the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.installed"

find_python() {
  local candidates=()
  [ -n "${HEARTH_PYTHON:-}" ] && candidates+=("$HEARTH_PYTHON")
  candidates+=(python3.13 python3.12 python3)
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  for v in "$root"/versions/3.13* "$root"/versions/3.12* "$root"/versions/3.1[4-9]*; do
    [ -x "$v/bin/python" ] && candidates+=("$v/bin/python")
  done
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python); then
    echo "error: Hearth needs Python >= 3.12 and none was found." >&2
    echo "       Looked at \$HEARTH_PYTHON, python3.13, python3.12, python3 and ~/.pyenv/versions/3.1[2-9]*." >&2
    echo "       Install one (for example: pyenv install 3.12) or set HEARTH_PYTHON=/path/to/python3.12." >&2
    exit 1
  fi
  echo "bootstrap: creating $VENV with $PY ($("$PY" --version))"
  "$PY" -m venv "$VENV"
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "bootstrap: installing Hearth and its pinned dependencies into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]" 2> >(grep -v "is ignored: it is neither" >&2)
  touch "$STAMP"
fi
