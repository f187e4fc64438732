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
QUARANTINED_ITEMS = Counter(
    "horseshoe_quarantined_items_total", "Items a connector could not parse, stored raw (network, poll|webhook)",
    ["network", "source"], registry=REGISTRY,
)  # fmt: skip


class BacklogCollector(Collector):
    """Queue depths straight from the store, so an idle or dead worker cannot hide a growing backlog."""

    def __init__(self, store: Store, stuck_after: int = 3):
        self.store = store
        self.stuck_after = stuck_after

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
        quarantined = GaugeMetricFamily(
            "horseshoe_quarantined", "Items no connector could parse, kept for a retry, by network", labels=["network"]
        )
        for network, count in sorted(self.store.quarantine.counts_by_network().items()):
            quarantined.add_metric([network], count)
        yield quarantined
        yield from self._accounts()
        yield from self._sinks()

    def _sinks(self) -> Iterator[GaugeMetricFamily]:
        """Per CRM connection, labelled by CRM and tenant id (no tenant name, as for accounts)."""
        labels = ["sink", "tenant_id"]
        families = {
            "last_success": GaugeMetricFamily(
                "horseshoe_crm_last_success_timestamp_seconds",
                "Last batch the CRM accepted from this connection (Unix time; absent = never)", labels=labels,
            ),
            "attention": GaugeMetricFamily(
                "horseshoe_crm_needs_attention", "1 when the CRM refused the connection's credentials (deliveries "
                "paused until an admin updates them)", labels=labels,
            ),
            "expiry": GaugeMetricFamily(
                "horseshoe_crm_token_expiry_timestamp_seconds",
                "When the connection's current session expires, where the CRM says (renewed automatically)",
                labels=labels,
            ),
        }  # fmt: skip
        for health in self.store.health.sinks():
            key = [health.sink, str(health.tenant_id)]
            if health.last_ok_at is not None:
                families["last_success"].add_metric(key, health.last_ok_at.timestamp())
            if health.token_expires_at is not None:
                families["expiry"].add_metric(key, health.token_expires_at.timestamp())
            families["attention"].add_metric(key, int(health.needs_attention is not None))
        yield from families.values()

    def _accounts(self) -> Iterator[GaugeMetricFamily]:
        """Per account: what ``doctor`` says, as numbers to alert on. Labelled by network and account id
        only: ``/metrics`` may be open (no ``metrics_token``), and it names no tenant and no handle
        (``doctor`` and ``horseshoe quarantine list`` say which account an id is)."""
        labels = ["network", "account_id"]
        families = {
            "last_success": GaugeMetricFamily(
                "horseshoe_account_last_success_timestamp_seconds",
                "Last successful poll or webhook of the account (Unix time; absent = never)", labels=labels,
            ),
            "oldest": GaugeMetricFamily(
                "horseshoe_account_oldest_undelivered_timestamp_seconds",
                "When the oldest mention not yet in every CRM was received (absent = none waiting)", labels=labels,
            ),
            "quarantined": GaugeMetricFamily(
                "horseshoe_account_quarantined", "Items of the account waiting in quarantine", labels=labels
            ),
            "failures": GaugeMetricFamily(
                "horseshoe_account_poll_failures", "Consecutive failed polls (the cursor has not moved)", labels=labels
            ),
            "stuck": GaugeMetricFamily(
                "horseshoe_account_stuck", "1 when the cursor is stuck (failed polls reached the threshold)",
                labels=labels,
            ),
            "attention": GaugeMetricFamily(
                "horseshoe_account_needs_attention",
                "1 when the account needs an admin: credentials refused (work paused) or a token expiring soon "
                "that horseshoe cannot renew (work goes on)", labels=labels,
            ),
            "expiry": GaugeMetricFamily(
                "horseshoe_account_token_expiry_timestamp_seconds", "When the account's token expires, where known",
                labels=labels,
            ),
        }  # fmt: skip
        for health in self.store.health.accounts(stuck_after=self.stuck_after):
            key = [health.network, str(health.account_id)]
            seen = [when for when in (health.last_poll_ok_at, health.last_webhook_ok_at) if when is not None]
            if seen:
                families["last_success"].add_metric(key, max(seen).timestamp())
            if health.oldest_undelivered_at is not None:
                families["oldest"].add_metric(key, health.oldest_undelivered_at.timestamp())
            if health.token_expires_at is not None:
                families["expiry"].add_metric(key, health.token_expires_at.timestamp())
            families["quarantined"].add_metric(key, health.quarantined)
            families["failures"].add_metric(key, health.poll_failures)
            families["stuck"].add_metric(key, int(health.stuck))
            families["attention"].add_metric(key, int(health.needs_attention is not None))
        yield from families.values()


def registry_with_backlog(store: Store, stuck_after: int = 3) -> CollectorRegistry:
    """A registry for one app: the process-wide counters plus this store's backlog and health."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (MENTIONS, DELIVERIES, REPLIES, TIME_TO_CRM, QUARANTINED_ITEMS):
        registry.register(collector)
    registry.register(BacklogCollector(store, stuck_after))
    return registry
