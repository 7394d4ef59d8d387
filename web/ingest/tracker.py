"""The tracker script: read once, fingerprinted, gzipped once, served from memory.

The versioned URL (/ingest/t.<hash>.js) is cacheable forever; /ingest/t.js is for snippets
copied by hand and is cached for five minutes so a new version reaches them soon.

COMPAT is the drop-in build served at the paths other products' snippets load
(COMPAT_PATHS, COMPAT_PREFIXES; issue 16, item 7): the same tracker between a head that
maps Plausible, Umami and GoatCounter attributes onto Hearth's (``compat-head.js``) and a
tail with their JS call shapes and click attributes (``compat-tail.js``).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).parent / "static" / "hearth"
SOURCE = STATIC / "t.js"
MAX_GZIP_BYTES = 1536
COMPAT_MAX_GZIP_BYTES = 2048
# Plausible's script and its named variants (script.hash.outbound-links.js, ...), its older
# plausible.js, its per-site pa-<id>.js, Umami's script.js and GoatCounter's count.js.
COMPAT_PATHS = ("/js/script.js", "/js/plausible.js", "/script.js", "/count.js")
COMPAT_PREFIXES = ("/js/script.", "/js/plausible.", "/js/pa-")
COMPAT_NAME = re.compile(
    r"/js/(?:(?:script|plausible)(?:\.[a-z0-9-]+)*|pa-[A-Za-z0-9_-]{1,64})\.js"
)


@dataclass(frozen=True)
class Script:
    body: bytes
    gz: bytes
    version: str

    @property
    def path(self) -> str:
        return f"/ingest/t.{self.version}.js"

    @property
    def etag(self) -> bytes:
        return f'"{self.version}"'.encode()


def load(compat: bool = False) -> Script:
    body = SOURCE.read_bytes()
    if compat:
        core = body.split(b"\n", 1)[1]  # without the header comment
        body = (STATIC / "compat-head.js").read_bytes() + core
        body += (STATIC / "compat-tail.js").read_bytes()
    return Script(
        body=body,
        gz=gzip.compress(body, compresslevel=9, mtime=0),
        version=hashlib.sha256(body).hexdigest()[:10],
    )


SCRIPT = load()
COMPAT = load(compat=True)


def snippet(site_key: str, *, base_url: str = "") -> str:
    """The <script> tag an admin pastes into a site (base_url: Hearth's public origin)."""
    return f'<script defer data-site="{site_key}" src="{base_url}{SCRIPT.path}"></script>'
