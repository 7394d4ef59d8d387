"""Delivery: the code email goes through the work queue (real JetStream), and the worker's
handlers send through Django's email backend and the SMS sender interface."""

from __future__ import annotations

import asyncio
import io
import json

import nats
import pytest
from django.core import mail

from web.accounts import jobs, services, sms
from web.messaging.config import STREAM
from web.messaging.handlers import Job, JobContext, Permanent
from web.messaging.streams import ensure_jobs_stream

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


def _ctx(job_type: str) -> JobContext:
    return JobContext(Job("j", job_type, {}, {}, 1, 1, ""))


async def _last_job(url: str, subject: str, *, create: bool = False) -> dict | None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        if create:
            await ensure_jobs_stream(js)
            return None
        msg = await js.get_last_msg(STREAM, subject)
        return json.loads(msg.data)
    finally:
        await nc.close()


def test_code_email_is_enqueued_on_the_jobs_stream(  # type: ignore[no-untyped-def]
    live_env, django_capture_on_commit_callbacks
) -> None:
    asyncio.run(_last_job(live_env.nats_url, "", create=True))
    with django_capture_on_commit_callbacks(using="ttl", execute=True):
        code = services.code_request(email="queue@example.com", ip="192.0.2.1")
    from web.messaging.models import OutboxJob

    assert not OutboxJob.objects.exists(), list(OutboxJob.objects.values())
    payload = asyncio.run(_last_job(live_env.nats_url, "jobs.notify.email"))
    assert payload is not None and payload["to"] == "queue@example.com"
    assert code not in payload["subject"] and code in payload["body"]
    assert mail.outbox == []  # nothing is sent in the request; the worker sends it


def test_email_handler_sends_through_django_mail() -> None:
    jobs.notify_email(
        {"to": "a@example.com", "subject": "Your sign-in code", "body": "Code 123456"},
        _ctx("notify.email"),
    )
    [msg] = mail.outbox
    assert msg.to == ["a@example.com"] and "123456" in msg.body


def test_email_handler_refuses_header_injection() -> None:
    with pytest.raises(Permanent):
        jobs.notify_email({"to": "a@example.com\nBcc: x@y", "subject": "s", "body": "b"}, _ctx("x"))
    with pytest.raises(Permanent):
        jobs.notify_email({"subject": "s"}, _ctx("notify.email"))
    assert mail.outbox == []


def test_sms_goes_through_the_configured_sender(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    sender = sms.ConsoleSmsSender(stream=out)
    monkeypatch.setattr(sms, "get_sender", lambda: sender)
    monkeypatch.setattr("web.accounts.notify.get_sender", lambda: sender)
    jobs.notify_sms({"to": "+15551234567", "body": "Code 654321"}, _ctx("notify.sms"))
    assert "SMS to +15551234567" in out.getvalue() and "Code 654321" in out.getvalue()
    with pytest.raises(Permanent):
        jobs.notify_sms({"to": "not-a-number", "body": "x"}, _ctx("notify.sms"))


def test_default_sms_sender_is_the_console_one() -> None:
    sms.get_sender.cache_clear()
    assert isinstance(sms.get_sender(), sms.ConsoleSmsSender)
