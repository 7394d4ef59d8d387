"""Pure logic of the fan-out hub: replay window, resets, id parsing and frame encoding."""

from __future__ import annotations

import pytest

from web.live.hub import Hub, encode_frame, parse_last_event_id


class Sink:
    """A stream end in memory: the frames a Hub pushed, and whether it closed it."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed = False

    def push(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        self.closed = True


def fed(start: int = 1000, **kwargs: int) -> Hub:
    hub = Hub(**kwargs)
    hub.start(start)
    return hub


def test_replays_events_after_last_id_of_that_channel_only() -> None:
    hub = fed()
    hub.publish("comments.post_1", 1001, '{"n":1}')
    hub.publish("alerts.errors", 1002, '{"n":2}')
    hub.publish("comments.post_1", 1003, '{"n":3}')
    assert [e.seq for e in hub.since("comments.post_1", 1001)] == [1003]
    assert [e.seq for e in hub.since("comments.post_1", 1000)] == [1001, 1003]
    assert hub.since("comments.post_1", 1003) == []
    # A channel that had no event since the process started: nothing missed.
    assert hub.since("comments.post_9", 1002) == []


def test_id_older_than_process_start_resets() -> None:
    hub = fed()
    hub.publish("a.b", 1001, "{}")
    assert hub.since("a.b", 999) is None
    assert hub.since("x.y", 999) is None


def test_id_newer_than_anything_seen_resets() -> None:
    hub = fed()
    hub.publish("a.b", 1001, "{}")
    assert hub.since("a.b", 5000) is None


def test_ring_eviction_raises_that_channels_floor() -> None:
    hub = fed(ring_size=3)
    for seq in range(1001, 1006):
        hub.publish("a.b", seq, f'{{"s":{seq}}}')
    hub.publish("c.d", 1006, "{}")
    assert [e.seq for e in hub.since("a.b", 1002)] == [1003, 1004, 1005]
    assert hub.since("a.b", 1001) is None  # 1002 was dropped: the client may have missed it
    assert [e.seq for e in hub.since("c.d", 1001)] == [1006]  # other channels unaffected


def test_gap_in_stream_sequence_resets_resumes_across_it() -> None:
    hub = fed()
    hub.publish("a.b", 1001, "{}")
    hub.publish("a.b", 1010, "{}")  # 1002..1009 never reached this process
    assert hub.gaps == 1
    assert hub.since("a.b", 1001) is None
    assert [e.seq for e in hub.since("a.b", 1009)] == [1010]


def test_duplicates_are_ignored_and_not_fanned_out() -> None:
    hub = fed()
    sink = Sink()
    hub.subscribe("a.b", sink)
    assert hub.publish("a.b", 1001, "{}") is not None
    assert hub.publish("a.b", 1001, "{}") is None
    assert len(sink.frames) == 1


def test_evicted_channel_keeps_clients_from_resuming() -> None:
    hub = fed(max_channels=2)
    hub.publish("a.a", 1001, "{}")
    hub.publish("b.b", 1002, "{}")
    hub.publish("c.c", 1003, "{}")  # drops the ring of a.a
    assert "a.a" not in hub.rings
    assert hub.since("a.a", 1000) is None  # 1001 is gone from this process
    assert hub.since("a.a", 1001) == []


def test_fan_out_shares_one_frame_and_stops_after_unsubscribe() -> None:
    hub = fed()
    one, two = Sink(), Sink()
    hub.subscribe("a.b", one)
    hub.subscribe("a.b", two)
    hub.publish("a.b", 1001, '{"v":1}')
    assert one.frames == two.frames == [b'event: message\nid: a.b:1001\ndata: {"v":1}\n\n']
    assert one.frames[0] is two.frames[0]
    hub.unsubscribe("a.b", one)
    hub.publish("a.b", 1002, "{}")
    assert len(one.frames) == 1 and len(two.frames) == 2
    hub.close_all()
    assert two.closed and not one.closed


@pytest.mark.parametrize(
    ("raw", "channel", "expected"),
    [
        ("", "a.b", None),
        ("a.b:42", "a.b", 42),
        ("x.y:7,a.b:42", "a.b", 42),
        ("x.y:7", "a.b", None),
    ],
)
def test_parse_last_event_id(raw: str, channel: str, expected: int | None) -> None:
    assert parse_last_event_id(raw, channel) == expected


@pytest.mark.parametrize("raw", ["garbage", "a.b:x", "a.b:-1"])
def test_parse_last_event_id_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_last_event_id(raw, "a.b")


def test_multiline_data_becomes_several_data_lines() -> None:
    frame = encode_frame("message", "a\nb", "c:1")
    assert frame == b"event: message\nid: c:1\ndata: a\ndata: b\n\n"
