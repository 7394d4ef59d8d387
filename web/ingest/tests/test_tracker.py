"""The tracker script: size budget, versioned and cacheable URL, served by the lean route."""

from __future__ import annotations

import gzip

from web.ingest import tracker
from web.ingest.tests.helpers import call, lean_router


def test_tracker_is_at_most_1_5_kb_gzipped() -> None:
    size = len(gzip.compress(tracker.SOURCE.read_bytes(), compresslevel=9))
    assert size <= 1536, f"t.js is {size} bytes gzipped; the budget is 1,536"
    assert len(tracker.SCRIPT.gz) == size


def test_tracker_has_no_cookies_or_storage_identifiers() -> None:
    src = tracker.SOURCE.read_text()
    assert "document.cookie" not in src
    assert "setItem" not in src and "sessionStorage" not in src and "indexedDB" not in src
    assert "localStorage.hearth_ignore" in src  # read only: the opt-out flag


def test_versioned_url_is_immutable_and_gzipped() -> None:
    router = lean_router()
    r = call(router, "GET", tracker.SCRIPT.path, headers={"accept-encoding": "gzip, br"})
    assert r.status == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("text/javascript")
    assert gzip.decompress(r.body) == tracker.SOURCE.read_bytes()
    etag = r.headers["etag"]
    again = call(router, "GET", tracker.SCRIPT.path, headers={"if-none-match": etag})
    assert again.status == 304 and again.body == b""
    plain = call(router, "GET", "/ingest/t.js")
    assert plain.body == tracker.SOURCE.read_bytes()
    assert plain.headers["cache-control"] == "public, max-age=300"


def test_snippet_points_at_the_versioned_script() -> None:
    tag = tracker.snippet("abc", base_url="https://stats.example")
    assert f'src="https://stats.example/ingest/t.{tracker.SCRIPT.version}.js"' in tag
    assert 'data-site="abc"' in tag
