"""The one-time code is in the email body only (issue 15, security 8): a subject shows in
notification previews and lock screens."""

from __future__ import annotations

from typing import Any

import pytest

from web.accounts import services
from web.messaging import jobs as messaging_jobs

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


def test_code_is_in_the_body_and_not_in_the_subject(  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    queued: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(messaging_jobs, "enqueue", lambda t, p, **kw: queued.append((t, p)))
    with django_capture_on_commit_callbacks(using="ttl", execute=True):
        code = services.code_request(email="ann@example.com", ip="198.51.100.8")
    assert code is not None
    [(job_type, payload)] = queued
    assert job_type == "notify.email" and payload["to"] == "ann@example.com"
    assert payload["subject"] == "Your sign-in code"
    assert code not in payload["subject"]
    assert code in payload["body"]
