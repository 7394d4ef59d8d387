#!/usr/bin/env bash
# The compatibility tests (tests/compat) install the real third-party trackers with npm and
# run the Node clients with node: install Debian's nodejs and npm when they are missing.
set -euo pipefail
if command -v node >/dev/null && command -v npm >/dev/null; then exit 0; fi
echo "ensure-node: installing Debian nodejs and npm (needed by the compatibility tests)"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "error: node/npm are missing and this user cannot apt-get install them." >&2
    echo "       Run as root: apt-get update && apt-get install -y nodejs npm" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq nodejs npm >/dev/null
command -v node >/dev/null && command -v npm >/dev/null
