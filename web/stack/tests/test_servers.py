"""The real servers as the stack runs them: S3 permissions, JetStream durability, health."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from django.test import Client


def test_public_bucket_is_readable_by_key_but_not_listable(s3_server) -> None:  # type: ignore[no-untyped-def]
    client = s3_server.client()
    client.put_object(Bucket="public", Key="t/hello.txt", Body=b"hello")
    client.put_object(Bucket="private", Key="t/secret.txt", Body=b"secret")
    base = s3_server.endpoint
    assert httpx.get(f"{base}/public/t/hello.txt").content == b"hello"
    assert httpx.get(f"{base}/public/").status_code == 403
    assert httpx.get(f"{base}/public?list-type=2").status_code == 403
    assert httpx.get(f"{base}/private/t/secret.txt").status_code == 403
    assert httpx.get(f"{base}/backup/").status_code == 403
    assert httpx.put(f"{base}/public/t/evil.txt", content=b"x").status_code == 403


def test_jetstream_is_configured_to_fsync_every_write(nats_server) -> None:  # type: ignore[no-untyped-def]
    varz = httpx.get(f"{nats_server.server.monitor_url}/varz").json()
    assert varz["jetstream"]["config"]["sync_always"] is True


@pytest.mark.django_db(databases=["default", "ttl"])
def test_healthz_answers_503_and_names_the_component_that_is_down(settings, live_env) -> None:  # type: ignore[no-untyped-def]
    settings.ENV = dataclasses.replace(live_env, nats_monitor_url="http://127.0.0.1:9")
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["nats"]["ok"] is False
    assert body["components"]["s3"]["ok"] is True


def test_free_ports_are_below_the_ephemeral_range_and_never_repeat() -> None:
    """Outgoing connections take their local ports from the ephemeral range: a server port
    picked there can be taken before the server binds it (weed's filer, in CI)."""
    from web.stack.servers import _ephemeral_low, free_port

    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert all(1024 < p < _ephemeral_low() for p in ports)
