"""Change Data Capture in the fake: the event bus behind the Streaming API (``cometd.py`` serves it).

As documented (Change Data Capture Developer Guide, "Change Event Message Structure" and "Subscription
Channels"): a change event is published only for an entity the org selected for Change Data Capture
(Setup > Change Data Capture; here ``select_entities``), on ``/data/<Entity>ChangeEvent``; each event
has a ``replayId`` that grows per org, and is retained 72 hours. Its payload is the
``ChangeEventHeader`` (entityName, recordIds, changeType CREATE/UPDATE/DELETE, changedFields,
commitTimestamp in epoch milliseconds, commitUser, ...) plus the record's changed fields.

Bayeux clients (``/meta/handshake``) are bound to the org of the session that made them: a client only
ever sees its own org's events. ``connect`` long-polls: it answers at once with events newer than each
subscription's position, else waits up to ``connect_timeout`` seconds for one.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

RETENTION = timedelta(hours=72)
CONNECT_TIMEOUT_SECONDS = 110.0  # the documented socket timeout a /meta/connect is held for
MAX_BATCH = 100
# The fake keeps at most this many events per org (a benchmark writes 100,000s of records); an older
# one counts as past retention, exactly as an event older than 72 hours does.
MAX_RETAINED = 10_000
NEW_ONLY, ALL_RETAINED = -1, -2


def channel_of(entity: str) -> str:
    suffix = "__ChangeEvent" if entity.endswith("__c") else "ChangeEvent"
    return f"/data/{entity.removesuffix('__c')}{suffix}"


@dataclass
class ChangeEvent:
    replay_id: int
    channel: str
    payload: dict[str, Any]
    at: datetime

    def message(self) -> dict[str, Any]:
        schema = f"sandbox-{self.channel.rsplit('/', 1)[-1]}"
        return {"channel": self.channel, "data": {"schema": schema, "payload": self.payload,
                                                  "event": {"replayId": self.replay_id}}}  # fmt: skip


@dataclass
class StreamClient:
    id: str
    org_id: str
    token: str = field(repr=False)
    positions: dict[str, int] = field(default_factory=dict)  # channel -> last replayId delivered
    connects: int = 0


class ChangeFeed:
    """Every org's change events and Bayeux clients. Thread-safe; ``connect`` waits without the state lock."""

    def __init__(self, clock: Callable[[], datetime]):
        self.clock = clock
        self.cond = threading.Condition()
        self.events: dict[str, list[ChangeEvent]] = {}
        self.last_replay: dict[str, int] = {}
        self.selected: dict[str, set[str]] = {}  # org id -> entities selected for CDC
        self.streaming_off: set[str] = set()  # orgs whose users lack Streaming API access
        self.clients: dict[str, StreamClient] = {}
        self.connect_timeout = CONNECT_TIMEOUT_SECONDS
        self.published = 0
        self.handshakes = 0
        # Events of the transaction under way (allOrNone collections, composite), published at its
        # commit and dropped at its rollback; writes happen under the org state's lock, one at a time.
        self._held: list[tuple[Any, ...]] | None = None
        self._depth = 0

    # -- Setup -----------------------------------------------------------------------------------
    def select_entities(self, org_id: str, entities: list[str]) -> None:
        with self.cond:
            self.selected[org_id] = set(entities)

    def set_streaming(self, org_id: str, enabled: bool) -> None:
        with self.cond:
            (self.streaming_off.discard if enabled else self.streaming_off.add)(org_id)

    def channel_exists(self, org_id: str, channel: str) -> bool:
        return any(channel_of(e) == channel for e in self.selected.get(org_id, ()))

    # -- publishing --------------------------------------------------------------------------------
    def begin(self) -> int:
        """A transaction starts (it may nest in one under way); ``end`` it with the mark returned."""
        if self._depth == 0:
            self._held = []
        self._depth += 1
        return len(self._held or [])

    def end(self, mark: int, *, commit: bool) -> None:
        held = self._held if self._held is not None else []
        if not commit:
            del held[mark:]
        self._depth = max(0, self._depth - 1)
        if self._depth == 0:
            self._held = None
            for args in held:
                self._publish(*args)

    def record(self, org_id: str, entity: str, change_type: str, record_id: str, values: dict[str, Any],
               user_id: str, changed: list[str] | None = None) -> None:  # fmt: skip
        """A change: one event when ``entity`` is selected for CDC in the org, once its transaction commits."""
        if entity not in self.selected.get(org_id, ()):
            return
        args = (org_id, entity, change_type, record_id, dict(values), user_id, changed)
        if self._held is not None:
            self._held.append(args)
            return
        self._publish(*args)

    def _publish(self, org_id: str, entity: str, change_type: str, record_id: str, values: dict[str, Any],
                 user_id: str, changed: list[str] | None) -> None:  # fmt: skip
        now = self.clock()
        changed_fields = list(changed or [])
        header: dict[str, Any] = {
            "entityName": entity, "recordIds": [record_id], "changeType": change_type,
            "changeOrigin": "com/salesforce/api/rest/62.0", "transactionKey": secrets.token_hex(8),
            "sequenceNumber": 1, "commitTimestamp": int(now.timestamp() * 1000), "commitUser": user_id,
            "commitNumber": self.published + 1, "changedFields": changed_fields,
        }  # fmt: skip
        skip = {"Id", "IsDeleted", "SystemModstamp"}  # not in change events (the guide's list)
        fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items() if k not in skip}
        if change_type == "UPDATE":
            fields = {k: v for k, v in fields.items() if k in changed_fields}
        elif change_type == "DELETE":
            fields = {}
        with self.cond:
            replay = self.last_replay.get(org_id, 0) + 1
            self.last_replay[org_id] = replay
            self.published += 1
            event = ChangeEvent(replay, channel_of(entity), {"ChangeEventHeader": header, **fields}, now)
            kept = self.events.setdefault(org_id, [])
            kept.append(event)
            if len(kept) > MAX_RETAINED + 1000:  # trimmed in steps, not on every write
                del kept[: len(kept) - MAX_RETAINED]
            self.cond.notify_all()

    def _retained(self, org_id: str) -> list[ChangeEvent]:
        cutoff = self.clock() - RETENTION
        kept = [e for e in self.events.get(org_id, [])[-MAX_RETAINED:] if e.at >= cutoff]
        self.events[org_id] = kept
        return kept

    # -- Bayeux ----------------------------------------------------------------------------------
    def handshake(self, org_id: str, token: str) -> StreamClient:
        with self.cond:
            self.handshakes += 1
            client = StreamClient(secrets.token_hex(14), org_id, token)
            self.clients[client.id] = client
            return client

    def client(self, client_id: str) -> StreamClient | None:
        with self.cond:
            return self.clients.get(client_id)

    def subscribe(self, client: StreamClient, channel: str, replay: int) -> str | None:
        """None when subscribed; else the documented reason (a bad replayId)."""
        with self.cond:
            retained = self._retained(client.org_id)
            last = self.last_replay.get(client.org_id, 0)
            oldest = retained[0].replay_id if retained else last + 1
            if replay == NEW_ONLY:
                position = last
            elif replay == ALL_RETAINED:
                position = oldest - 1
            elif oldest - 1 <= replay <= last:
                position = replay
            else:
                return (f"400::The replayId {{{replay}}} you provided was invalid.  Please provide a valid ID, "
                        "-2 to replay all events, or -1 to replay only new events.")  # fmt: skip
            client.positions[channel] = position
            return None

    def unsubscribe(self, client: StreamClient, channel: str) -> None:
        with self.cond:
            client.positions.pop(channel, None)

    def _pending(self, client: StreamClient) -> list[ChangeEvent]:
        found = [
            e for e in self._retained(client.org_id)
            if e.channel in client.positions and e.replay_id > client.positions[e.channel]
        ]  # fmt: skip
        return found[:MAX_BATCH]

    def connect(self, client: StreamClient, timeout: float | None = None) -> list[ChangeEvent] | None:
        """Events for ``client`` (waiting up to the timeout for some); None when the client was dropped."""
        deadline = self.connect_timeout if timeout is None else timeout
        with self.cond:
            client.connects += 1
            found = self._pending(client)
            if not found:
                self.cond.wait_for(
                    lambda: client.id not in self.clients or bool(self._pending(client)), timeout=deadline
                )
                if client.id not in self.clients:
                    return None
                found = self._pending(client)
            for event in found:
                client.positions[event.channel] = max(client.positions[event.channel], event.replay_id)
            return found

    def disconnect(self, client_id: str) -> None:
        with self.cond:
            self.clients.pop(client_id, None)
            self.cond.notify_all()

    def drop_clients(self, org_id: str | None = None) -> int:
        """Forget the org's clients, as a server restart or an expired client does: their next
        ``/meta/connect`` is answered ``403::Unknown client``."""
        with self.cond:
            gone = [c for c in self.clients.values() if org_id is None or c.org_id == org_id]
            for c in gone:
                del self.clients[c.id]
            self.cond.notify_all()
            return len(gone)
