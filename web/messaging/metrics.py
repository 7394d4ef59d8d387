"""Prometheus exposition of the queue summary (prometheus-client, text format)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from web.messaging.breaker import breakers
from web.messaging.selectors import queue_summary

_COUNTERS = {
    "processed": "Jobs handled and acked",
    "failed": "Handler failures (any error, including Retry and Permanent)",
    "redelivered": "Deliveries that were not the first",
    "dead_lettered": "Jobs moved to the dead-letter store",
}


class QueueCollector:
    """Reads queue_summary() on every scrape; the worker's counters come from its file."""

    def __init__(self, summary: dict[str, Any] | None = None) -> None:
        self._summary = summary

    def collect(self) -> Iterator[Metric]:
        s = self._summary if self._summary is not None else queue_summary()
        fams = s["families"]
        for key, doc in _COUNTERS.items():
            m = CounterMetricFamily(f"hearth_jobs_{key}", doc, labels=["family"])
            for name, v in fams.items():
                m.add_metric([name], v[key])
            yield m
        for key, doc in (
            ("lag", "Jobs stored and not yet delivered (consumer num_pending)"),
            ("ack_pending", "Jobs delivered and not yet acked"),
        ):
            g = GaugeMetricFamily(f"hearth_jobs_{key}", doc, labels=["family"])
            for name, v in fams.items():
                if v[key] is not None:
                    g.add_metric([name], v[key])
            yield g
        for key, doc in (
            ("outbox", "Jobs waiting in the outbox for NATS"),
            ("dead_letters", "Dead letters not yet replayed"),
        ):
            if s.get(key) is not None:
                yield GaugeMetricFamily(f"hearth_jobs_{key}", doc, value=s[key])
        if s.get("stream") is not None:
            yield GaugeMetricFamily(
                "hearth_jobs_stream_messages",
                "Messages in the JOBS stream",
                value=s["stream"]["messages"],
            )
        nats_up = 0 if any(e.startswith("nats") for e in s["errors"]) else 1
        yield GaugeMetricFamily("hearth_jobs_nats_up", "1 if the NATS monitor answered", nats_up)
        # This process's producer connections (per process, like the ingest counters).
        mine = breakers()
        yield GaugeMetricFamily(
            "hearth_nats_breaker_open",
            "1 while a circuit breaker of this process is open (publishing straight to the outbox)",
            value=int(any(b.is_open for b in mine)),
        )
        yield CounterMetricFamily(
            "hearth_nats_breaker_opens",
            "Times a circuit breaker of this process opened",
            value=sum(b.opens for b in mine),
        )


def render(summary: dict[str, Any] | None = None) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(summary))  # type: ignore[arg-type]
    return generate_latest(registry)
