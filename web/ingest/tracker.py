"""The tracker script: read once, fingerprinted, gzipped once, served from memory.

The versioned URL (/ingest/t.<hash>.js) is cacheable forever; /ingest/t.js is for snippets
copied by hand and is cached for five minutes so a new version reaches them soon.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).parent / "static" / "hearth" / "t.js"
MAX_GZIP_BYTES = 1536


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


def load() -> Script:
    body = SOURCE.read_bytes()
    return Script(
        body=body,
        gz=gzip.compress(body, compresslevel=9, mtime=0),
        version=hashlib.sha256(body).hexdigest()[:10],
    )


SCRIPT = load()


def snippet(site_key: str, *, base_url: str = "") -> str:
    """The <script> tag an admin pastes into a site (base_url: Hearth's public origin)."""
    return f'<script defer data-site="{site_key}" src="{base_url}{SCRIPT.path}"></script>'
