"""Every path of another product's protocol (issue 16): oversized bodies, wrong methods and
bad input get a JSON 4xx a person can act on, and nothing is published."""

from __future__ import annotations

import json

import pytest

from web.ingest.tests.helpers import call, make_app

PATHS = ["/api/event", "/api/send", "/api/batch", "/count", "/matomo.php", "/piwik.php",
         "/g/collect", "/mp/collect"]  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
def test_oversized_body_is_413(path: str) -> None:
    app, rec = make_app()
    r = call(app, "POST", path, query="idsite=7&rec=1&tid=7", body=b"x" * 9000)
    assert r.status == 413 and "8 KiB" in r.json()["error"]
    assert rec.jobs == []


@pytest.mark.parametrize("path", PATHS)
def test_wrong_method_is_405(path: str) -> None:
    app, rec = make_app()
    r = call(app, "PUT", path, body=b"{}")
    assert r.status == 405 and "use " in r.json()["error"]
    assert rec.jobs == []


@pytest.mark.parametrize(
    ("path", "query", "body", "message"),
    [
        (
            "/matomo.php",
            "idsite=nosuchsite&rec=1&url=https%3A%2F%2Fshop.example%2F",
            b"",
            "nosuchsite",
        ),
        ("/g/collect", "tid=G-NOPE&en=page_view&dl=https%3A%2F%2Fshop.example%2F", b"", "G-NOPE"),
        ("/mp/collect", "measurement_id=G-NOPE", b'{"events":[{"name":"a"}]}', "G-NOPE"),
        ("/api/send", "", b'{"type":"event","payload":{"website":"nope-uuid"}}', "nope-uuid"),
        ("/matomo.php", "idsite=7&rec=1", b"", "'url' is required"),
        ("/mp/collect", "measurement_id=7", b"not json", "malformed JSON"),
    ],
)
def test_bad_input_is_400_with_a_message(path: str, query: str, body: bytes, message: str) -> None:
    app, rec = make_app()
    r = call(app, "POST", path, query=query, body=body)
    assert r.status == 400 and r.headers["content-type"] == "application/json"
    assert message in json.loads(r.body)["error"]
    assert rec.jobs == []
