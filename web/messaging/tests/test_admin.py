"""Dead letters in the admin: the queue summary above the list, replay and purge actions."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.contrib.auth import get_user_model

from web.messaging.envelope import JOB_ID, MSG_ID
from web.messaging.models import DeadLetter
from web.messaging.tests.test_jobs import _stream_messages


def _dead(job_id: str) -> DeadLetter:
    return DeadLetter.objects.create(
        job_id=job_id,
        type="notify.email",
        subject="jobs.notify.email",
        data=b'{"user_id":5}',
        headers={MSG_ID: job_id, "Hearth-Created-At": "2026-11-22T10:00:00.000Z"},
        error="Traceback ...\nRuntimeError: smtp down",
        reason=DeadLetter.Reason.MAX_DELIVERIES,
        deliveries=6,
    )


@pytest.mark.django_db(databases=["default", "ttl"])
def test_admin_lists_replays_and_purges_dead_letters(client, nats_env) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_stream_messages(nats_env.nats_url, setup=True))
    dl, other = _dead("mail-5"), _dead("mail-6")
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "x" * 12)
    client.force_login(admin)
    url = "/admin/messaging/deadletter/"

    page = client.get(url)
    assert page.status_code == 200
    assert b"Job queue" in page.content and b"mail-5" in page.content
    detail = client.get(f"{url}{dl.pk}/change/")
    assert b"RuntimeError: smtp down" in detail.content and b"user_id" in detail.content

    r = client.post(url, {"action": "replay", "_selected_action": [dl.pk]}, follow=True)
    assert b"Replayed 1 job" in r.content
    msgs = asyncio.run(_stream_messages(nats_env.nats_url))
    assert len(msgs) == 1
    assert msgs[0].headers[JOB_ID] == "mail-5"
    assert msgs[0].headers[MSG_ID] != "mail-5"  # fresh, so the dedupe window lets it in
    assert json.loads(msgs[0].data) == {"user_id": 5}
    dl.refresh_from_db()
    assert (dl.status, dl.replays) == (DeadLetter.Status.REPLAYED, 1)

    client.post(url, {"action": "purge", "_selected_action": [other.pk]}, follow=True)
    assert list(DeadLetter.objects.values_list("job_id", flat=True)) == ["mail-5"]
