"""The third-party clients, installed from npm by the tests themselves (issue 16).

``package.json`` + ``package-lock.json`` here pin every client; ``npm ci`` installs them
into ``var/npm/<hash>/`` where the hash covers those files and the build inputs, so the
second run finds everything in place and needs no network. The installed files are not
modified:

- ``@plausible-analytics/tracker`` is an ES module: esbuild bundles it unchanged into an
  IIFE that exposes its exports as ``window.plausibleTracker`` (what an owner's bundler does);
  ``plausible-tracker`` 0.3.9 likewise, as ``window.Plausible039``;
- ``umami``'s browser tracker is its published ``src/tracker/index.js`` (Umami 2.x; a plain
  IIFE, served as is). The ``umami`` package depends on a whole Next.js app, so only its
  tarball is fetched (``npm pack``) and checked against a pinned integrity;
- Umami 3.x is not on npm: ``vendor/umami-tracker-3.1.0.js`` (its ``src/tracker/index.js``),
  built as Umami builds ``public/script.js`` (two placeholder replacements, no minifying);
- GoatCounter's ``count.js`` has no npm package: ``vendor/goatcounter-count.js`` (see its
  README), checked against its sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from web.env import REPO_ROOT

HERE = Path(__file__).resolve().parent
NPM_ROOT = REPO_ROOT / "var" / "npm"
UMAMI_INTEGRITY = (  # npm view umami@2.10.0 dist.integrity
    "sha512-+lmrnV0751R6U2rkIgVAlE1nWI7yZawlMlJDguW9tlFacCKhnGeCyc7tCMIhNNYIiGIQy4DEX5IzJhm4b3+dPA=="
)
GOATCOUNTER_SHA256 = "792b7abd26c1fb6ae62906833e09a301251e2641816e69e4f95aba518f3fe3f0"
UMAMI3_SHA256 = "5f040d525ec5f96d03315e0f0f20a020166f66114a7bf0811916f48d8483a92d"
# Umami's rollup.tracker.config.js replace plugin (defaults), applied to the 3.x source.
UMAMI3_BUILD = {"__COLLECT_API_HOST__": "", "__COLLECT_API_ENDPOINT__": "/api/send"}
PLAUSIBLE_ENTRY = (
    "import * as tracker from '@plausible-analytics/tracker';\nwindow.plausibleTracker = tracker;\n"
)
# plausible-tracker 0.3.9, the older npm package (its props go out as a JSON string).
PLAUSIBLE_039_ENTRY = (
    "import Plausible from 'plausible-tracker';\nwindow.Plausible039 = Plausible;\n"
)
_INPUTS = ("package.json", "package-lock.json")
BUILD = 1  # bump when _build() changes what it produces


@dataclass(frozen=True)
class Clients:
    """Where each client's files are once installed."""

    root: Path  # var/npm/<hash>: node_modules/ and dist/

    @property
    def node_modules(self) -> Path:
        return self.root / "node_modules"

    @property
    def plausible_js(self) -> Path:
        return self.root / "dist" / "plausible.iife.js"

    @property
    def plausible039_js(self) -> Path:
        return self.root / "dist" / "plausible039.iife.js"

    @property
    def ga4_js(self) -> Path:
        """@minimal-analytics/ga4: an open-source client of GA4's /g/collect protocol
        (gtag.js itself is Google's, not on npm); its published UMD file, as is."""
        return self.node_modules / "@minimal-analytics" / "ga4" / "dist" / "index.js"

    @property
    def umami_js(self) -> Path:
        return self.root / "dist" / "umami-script.js"

    @property
    def umami3_js(self) -> Path:
        return self.root / "dist" / "umami3-script.js"

    @property
    def goatcounter_js(self) -> Path:
        return HERE / "vendor" / "goatcounter-count.js"

    def version(self, package: str) -> str:
        if package == "umami":
            return json.loads((self.root / "umami" / "package.json").read_text())["version"]
        meta = self.node_modules / package / "package.json"
        return json.loads(meta.read_text())["version"]


def cache_key() -> str:
    h = hashlib.sha256()
    for name in _INPUTS:
        h.update((HERE / name).read_bytes())
    h.update(PLAUSIBLE_ENTRY.encode() + PLAUSIBLE_039_ENTRY.encode())
    h.update(f"{BUILD}:{UMAMI_INTEGRITY}:{UMAMI3_SHA256}:{UMAMI3_BUILD}".encode())
    return h.hexdigest()[:16]


def _run(argv: list[str], cwd: Path) -> None:
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr[-3000:]}")


def _build(dest: Path) -> None:
    for name in _INPUTS:
        shutil.copy(HERE / name, dest / name)
    # --ignore-scripts: no package's install script runs (esbuild works without its
    # postinstall: the platform binary comes as an optional dependency).
    _run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], dest)
    dist = dest / "dist"
    dist.mkdir()
    for name, entry in (("plausible", PLAUSIBLE_ENTRY), ("plausible039", PLAUSIBLE_039_ENTRY)):
        (dest / f"{name}-entry.js").write_text(entry)
        _run(["node_modules/.bin/esbuild", f"{name}-entry.js", "--bundle", "--format=iife",
              f"--outfile={dist / f'{name}.iife.js'}"], dest)  # fmt: skip
    pins = json.loads((HERE / "package.json").read_text())["hearthPacks"]
    spec = f"umami@{pins['umami']}"
    out = subprocess.run(["npm", "pack", spec, "--json"], cwd=dest, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"npm pack {spec} failed:\n{out.stderr[-3000:]}")
    [info] = json.loads(out.stdout)
    if info["integrity"] != UMAMI_INTEGRITY:
        raise RuntimeError(f"{spec}: integrity {info['integrity']} is not the pinned one")
    with tarfile.open(dest / info["filename"]) as tar:
        wanted = {"package/src/tracker/index.js": dist / "umami-script.js",
                  "package/package.json": dest / "umami" / "package.json"}  # fmt: skip
        for member, target in wanted.items():
            target.parent.mkdir(exist_ok=True)
            data = tar.extractfile(member)
            assert data is not None, member
            target.write_bytes(data.read())
    (dest / info["filename"]).unlink()
    source = (HERE / "vendor" / "umami-tracker-3.1.0.js").read_text()
    for token, value in UMAMI3_BUILD.items():
        source = source.replace(token, value)
    (dist / "umami3-script.js").write_text(source)


def install() -> Clients:
    """Install (once per package.json hash) and return the clients. Raises with npm's own
    message when npm fails; callers skip only when npm itself is missing."""
    for name, sha in (("goatcounter-count.js", GOATCOUNTER_SHA256),
                      ("umami-tracker-3.1.0.js", UMAMI3_SHA256)):  # fmt: skip
        if hashlib.sha256((HERE / "vendor" / name).read_bytes()).hexdigest() != sha:
            raise RuntimeError(f"vendor/{name} differs from the upstream file")
    root = NPM_ROOT / cache_key()
    if not (root / "dist" / "umami-script.js").is_file():
        NPM_ROOT.mkdir(parents=True, exist_ok=True)
        tmp = NPM_ROOT / f".tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            _build(tmp)
            shutil.rmtree(root, ignore_errors=True)
            tmp.rename(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return Clients(root)
