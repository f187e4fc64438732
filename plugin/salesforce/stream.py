"""Agents' outbound SocialPosts found by Change Data Capture instead of a 10-second poll.

The org publishes ``SocialPostChangeEvent`` on ``/data/SocialPostChangeEvent`` once an admin selects
Social Post on Setup > Change Data Capture (and the integration user has "API Enabled" and may read
SocialPost). Each event is only a wake-up: the host then runs the normal outbound query
(``publisher.fetch``), which stays the source of truth. Only outbound changes wake it (an inbound
SocialPost written by horseshoe itself is a change too, and would wake it for nothing).

Config keys: ``reply_stream`` (default true; false: poll only), ``stream_channel`` (default
``/data/SocialPostChangeEvent``, e.g. a PushTopic ``/topic/OutboundSocialPosts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.salesforce import records as rec
from plugin.salesforce.api import SalesforceApi
from plugin.salesforce.bayeux import BayeuxClient
from plugin.sink import ReplyStream, StreamBatch

CHANNEL = "/data/SocialPostChangeEvent"


def _replay(position: str | None) -> int | None:
    try:
        return int(position) if position else None
    except ValueError:
        return None  # not ours (another stream kind): start with new events, the poll covers the rest


def wakes(event: Mapping[str, Any], pending: str) -> bool:
    """Whether a change can make an agent's reply due: an outbound post created, or one whose Status
    became the pending value (an approval) or that became outbound. horseshoe's own writes (inbound
    posts, Sent/Failed reports) wake nothing. An event of unknown shape (a PushTopic's ``sobject``,
    a gap or overflow notice) wakes the poll: the query decides."""
    data = event.get("payload")
    header = data.get("ChangeEventHeader") if isinstance(data, Mapping) else None
    if not isinstance(data, Mapping) or not isinstance(header, Mapping):
        return True
    change = str(header.get("changeType") or "")
    if change == "CREATE":
        return bool(data.get("IsOutbound"))
    if change == "UPDATE":
        changed = set(header.get("changedFields") or [])
        return ("Status" in changed and data.get("Status") == pending) or bool(data.get("IsOutbound"))
    return change not in ("DELETE", "GAP_DELETE")


class SalesforceReplyStream(ReplyStream):
    def __init__(self, api: SalesforceApi, config: Mapping[str, Any], position: str | None):
        self.api = api
        self.channel = str(config.get("stream_channel") or CHANNEL)
        self.pending = rec.status_value("pending", config)
        self.client = BayeuxClient(
            api.client.session, self._endpoint, self._token, self.channel, _replay(position),
            connect_timeout=api.cfg.timeout,
        )  # fmt: skip

    def _endpoint(self) -> str:
        sf = self.api.client
        return f"https://{sf.sf_instance}/cometd/{self.api.cfg.api_version}"

    def _token(self, renew: bool) -> str:
        if renew:
            self.api.relogin()
        return str(self.api.client.session_id)

    def start(self) -> str:
        self.client.handshake()
        return self.channel

    def next_batch(self) -> StreamBatch:
        delivery = self.client.poll()
        relevant = sum(1 for e in delivery.events if wakes(e, self.pending))
        # A gap (position lost, or none yet) counts as one event: the caller polls once to cover it.
        events = relevant + (1 if delivery.gap else 0)
        position = str(self.client.replay_id) if self.client.replay_id is not None else None
        return StreamBatch(events=events, position=position, detail=self.channel)

    def close(self) -> None:
        self.client.disconnect()
