"""django-eventstream plumbing for admin channels (ADR-4).

Storage is the process's hub (the replay rings), not the database: events arrive from the NATS
subscription with their stream sequence as id, and a resume within the window replays from
the ring; an older id raises EventDoesNotExist, which django-eventstream turns into its
``stream-reset`` event. Nothing is written by ``append_event``: events are published on NATS
(web.live.publish), never through send_event.
"""

from __future__ import annotations

from typing import Any

from django_eventstream.channelmanager import ChannelManagerBase
from django_eventstream.event import Event as EsEvent
from django_eventstream.storage import EventDoesNotExist, StorageBase

from web.live.channels import staff_can_read
from web.live.runtime import get_runtime


class HubStorage(StorageBase):
    def append_event(self, channel: str, event_type: str, data: str) -> EsEvent:
        raise NotImplementedError("publish live events with web.live.publish.publish_event")

    def get_events(self, channel: str, last_id: int, limit: int = 100) -> list[EsEvent]:
        hub = get_runtime().hub
        events = hub.since(channel, int(last_id))
        if events is None:
            raise EventDoesNotExist(f"event {last_id} of {channel} is gone", hub.head)
        return [EsEvent(channel, "message", e.data, e.seq) for e in events[:limit]]

    def get_current_id(self, channel: str) -> int:
        return get_runtime().hub.head


class StaffChannelManager(ChannelManagerBase):
    """Channels come from ``?channel=``; only active staff may read them."""

    def get_channels_for_request(self, request: Any, view_kwargs: dict[str, Any]) -> set[str]:
        return set(request.GET.getlist("channel"))

    def can_read_channel(self, user: Any, channel: str) -> bool:
        return staff_can_read(user, channel)

    def is_channel_reliable(self, channel: str) -> bool:
        return True
