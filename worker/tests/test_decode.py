"""The worker decodes a job's body as ``json`` would (web.messaging.jsoncodec): big ints,
NaN, duplicate keys and lone surrogates survive; a body that is not UTF-8 or not an object
gets no payload (so it is dead-lettered). The codec itself is tested against ``json`` in
web/messaging/tests/test_jsoncodec.py."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from worker.runtime import decode


def _msg(data: bytes) -> Msg:
    reply = "$JS.ACK.JOBS.jobs-analytics.1.42.17.1700000000000000000.0"
    return Msg(_client=None, subject="jobs.analytics.events", reply=reply, data=data)  # type: ignore[arg-type]


def test_worker_decode_keeps_json_s_payloads() -> None:
    assert decode(_msg(b'{"n":18446744073709551616,"x":NaN}')).payload == {
        "n": 2**64,
        "x": pytest.approx(float("nan"), nan_ok=True),
    }
    assert decode(_msg(b'{"a":1,"a":2}')).payload == {"a": 2}
    assert decode(_msg(b'{"s":"\\udc00"}')).payload == {"s": "\udc00"}
    assert decode(_msg(b'{"k":"\xff"}')).payload is None  # not UTF-8: dead-lettered
    assert decode(_msg(b"[1]")).payload is None  # not an object
    assert decode(_msg(b"")).payload == {}
