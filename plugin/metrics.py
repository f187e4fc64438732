"""Prometheus metrics: what operators alert on (backlog, failures, latency), per process.

Counters are incremented where the work happens; the backlog gauges are read from the database at
scrape time (the database is the source of truth, so every process reports the same backlog).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from plugin.store.repo import Store

REGISTRY = CollectorRegistry(auto_describe=True)

MENTIONS = Counter(
    "horseshoe_mentions_total", "Mentions received, by network and outcome (new, duplicate, event)",
    ["network", "outcome"], registry=REGISTRY,
)  # fmt: skip
DELIVERIES = Counter(
    "horseshoe_deliveries_total", "Delivery attempts by sink and result (delivered, retry, wait_parent, failed)",
    ["sink", "status"], registry=REGISTRY,
)  # fmt: skip
REPLIES = Counter(
    "horseshoe_replies_total", "Agent replies by network and final state (sent, pending, failed, uncertain)",
    ["network", "status"], registry=REGISTRY,
)  # fmt: skip
TRIAGED = Counter(
    "horseshoe_mentions_triaged_total", "Mentions routed, by intent and why not ticketed (skip reason or none)",
    ["intent", "skipped"], registry=REGISTRY,
)  # fmt: skip
TIME_TO_CRM = Histogram(
    "horseshoe_seconds_to_crm", "From receiving a mention to its delivery in a CRM", ["sink"], registry=REGISTRY,
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)  # fmt: skip


class BacklogCollector(Collector):
    """Queue depths straight from the store, so an idle or dead worker cannot hide a growing backlog."""

    def __init__(self, store: Store):
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.store.counts()
        gauge = GaugeMetricFamily("horseshoe_backlog", "Items waiting, by kind", labels=["kind"])
        for kind in (
            "mentions_pending",
            "deliveries_pending",
            "deliveries_failed",
            "replies_pending",
            "replies_failed",
        ):
            gauge.add_metric([kind], counts[kind])
        yield gauge


def registry_with_backlog(store: Store) -> CollectorRegistry:
    """A registry for one app: the process-wide counters plus this store's backlog."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (MENTIONS, DELIVERIES, REPLIES, TIME_TO_CRM):
        registry.register(collector)
    registry.register(BacklogCollector(store))
    return registry
