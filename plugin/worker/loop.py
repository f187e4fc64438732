"""The in-process worker: polls networks, routes mentions, delivers to sinks, drains the outbox.

All state lives in the database, claimed under leases, so any number of workers (threads, processes
or Celery tasks) can run ``run_once`` side by side and a killed one is simply replaced.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from plugin import metrics
from plugin.errors import AuthError, FatalError, RetriableError
from plugin.models import Labels, Match, Mention
from plugin.outbox import crm as crm_replies
from plugin.outbox import replies as outbox
from plugin.pipeline import inbound as pipeline
from plugin.retry import next_attempt_at
from plugin.runtime import Runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, SinkConnection
from plugin.store import tables as t
from plugin.store.db import as_utc, utcnow

log = logging.getLogger(__name__)


@dataclass
class Tick:
    polled: int = 0
    ingested: int = 0
    duplicates: int = 0
    routed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    replies: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.ingested or self.routed or self.delivered or self.replies or self.retried)


class Worker:
    def __init__(self, runtime: Runtime, owner: str | None = None):
        self.runtime = runtime
        self.owner = owner or f"worker-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()

    # -- polling -------------------------------------------------------------------------------
    def poll_due(self, limit: int = 20) -> Tick:
        tick = Tick()
        store, settings = self.runtime.store, self.runtime.settings
        now = utcnow()
        ids = store.claim(
            t.poll_cursors,
            t.poll_cursors.c.next_poll_at <= now,
            self.owner,
            limit,
            settings.lease_seconds,
            order_by=[t.poll_cursors.c.next_poll_at],
        )
        for account_id in ids:
            self._poll_account(account_id, tick)
        return tick

    def wake_polls(self) -> None:
        """Make every account due for polling now (after an outage, or when a caller knows there is news)."""
        with self.runtime.db.begin() as conn:
            conn.execute(update(t.poll_cursors).values(next_poll_at=utcnow()))

    def _poll_account(self, account_id: int, tick: Tick) -> None:
        runtime, settings = self.runtime, self.runtime.settings
        found = runtime.store.account(account_id)
        with runtime.db.begin() as conn:
            cursor_row = conn.execute(select(t.poll_cursors).where(t.poll_cursors.c.account_id == account_id)).one()
        if found is None or not found[0].enabled or found[0].network not in runtime.registry.connectors:
            self._release_cursor(account_id, next_poll=utcnow() + timedelta(hours=1))
            return
        account, context = found
        connector = runtime.registry.connector(account.network)
        interval = float(account.settings.get("poll_interval_seconds", connector.limits().poll_interval_seconds))
        cursor = cursor_row.cursor
        tick.polled += 1
        try:
            page = connector.poll(context, cursor)
        except (RetriableError, FatalError, Exception) as exc:  # a connector bug must not stop the others
            failures = int(cursor_row.failures) + 1
            retry_after = getattr(exc, "retry_after", None)
            if not isinstance(exc, RetriableError | FatalError):
                log.exception("poll of %s account %s failed unexpectedly", account.network, account.id)
            if not isinstance(exc, RetriableError):
                retry_after = max(retry_after or 0.0, 900.0)  # needs an admin; look again later
            when = next_attempt_at(
                failures, base=settings.backoff_base_seconds, cap=settings.backoff_cap_seconds, retry_after=retry_after
            )
            tick.errors.append(f"poll {account.network}/{account.external_id}: {exc}")
            self._release_cursor(account_id, next_poll=when, failures=failures, last_error=str(exc))
            return
        # Store mentions first, cursor second: a crash in between re-reads a page (deduplicated),
        # never skips one.
        result = pipeline.ingest(runtime, account, page.mentions)
        tick.ingested += len(result.new)
        tick.duplicates += result.duplicates
        next_poll = utcnow() if page.more else utcnow() + timedelta(seconds=interval)
        self._release_cursor(account_id, next_poll=next_poll, cursor=page.cursor, failures=0, last_error=None)

    def _release_cursor(self, account_id: int, *, next_poll: object, **values: object) -> None:
        with self.runtime.db.begin() as conn:
            conn.execute(
                update(t.poll_cursors)
                .where(t.poll_cursors.c.account_id == account_id)
                .values(next_poll_at=next_poll, lease_owner=None, lease_until=None, updated_at=utcnow(), **values)
            )

    # -- delivery ------------------------------------------------------------------------------
    def deliver_due(self, limit: int | None = None) -> Tick:
        tick = Tick()
        runtime, settings = self.runtime, self.runtime.settings
        limit = limit or settings.delivery_batch_size * 4
        ids = runtime.store.claim(
            t.deliveries,
            (t.deliveries.c.status == "pending") & (t.deliveries.c.next_attempt_at <= utcnow()),
            self.owner,
            limit,
            settings.lease_seconds,
            order_by=[t.deliveries.c.mention_id],
        )
        if not ids:
            return tick
        with runtime.db.begin() as conn:
            rows = conn.execute(
                select(t.deliveries, t.mentions.c.payload, t.mentions.c.labels, t.mentions.c.received_at)
                .join(t.mentions, t.mentions.c.id == t.deliveries.c.mention_id)
                .where(t.deliveries.c.id.in_(ids))
                .order_by(t.deliveries.c.mention_id)
            ).all()
        groups: dict[tuple[int, str], list[object]] = defaultdict(list)
        for row in rows:
            groups[(int(row.tenant_id), row.sink)].append(row)
        for (tenant_id, sink_name), group in groups.items():
            self._deliver_group(tenant_id, sink_name, group, tick)
        return tick

    def _deliver_group(self, tenant_id: int, sink_name: str, rows: list[object], tick: Tick) -> None:
        runtime = self.runtime
        config = runtime.store.sink_connection(tenant_id, sink_name)
        mentions = [Mention.model_validate(r.payload) for r in rows]  # type: ignore[attr-defined]
        parents = runtime.store.parent_states(
            tenant_id, sink_name, {(m.network, m.parent_id) for m in mentions if m.parent_id}
        )
        items = [
            DeliveryItem(
                delivery_id=int(r.id),  # type: ignore[attr-defined]
                mention=mention,
                labels=Labels(**(r.labels or {})),  # type: ignore[attr-defined]
                attempts=int(r.attempts),  # type: ignore[attr-defined]
                parent_state=parents.get((mention.network, mention.parent_id)) if mention.parent_id else None,
                match=Match.model_validate(r.match) if r.match else None,  # type: ignore[attr-defined]
            )
            for r, mention in zip(rows, mentions, strict=True)
        ]
        received = {int(r.id): r.received_at for r in rows}  # type: ignore[attr-defined]
        if config is None or sink_name not in runtime.registry.sinks:
            reason = f"sink {sink_name!r} is not connected for this tenant"
            outcomes = [DeliveryOutcome(i.delivery_id, "retry", error=reason, retry_after=3600) for i in items]
            self._apply(outcomes, tick, received=received)
            return
        sink = runtime.registry.sink(sink_name)
        connection = SinkConnection(
            tenant_id=tenant_id, tenant_key=runtime.store.tenant_key(tenant_id), sink=sink_name, config=config
        )
        for start in range(0, len(items), sink.max_batch):
            batch = items[start : start + sink.max_batch]
            try:
                outcomes = sink.deliver(connection, batch)
            except RetriableError as exc:
                outcomes = [
                    DeliveryOutcome(i.delivery_id, "retry", error=str(exc), retry_after=exc.retry_after) for i in batch
                ]
            except AuthError as exc:
                # Credentials need an admin: keep every item, look again in a while.
                outcomes = [
                    DeliveryOutcome(i.delivery_id, "retry", error=f"auth: {exc}", retry_after=900) for i in batch
                ]
            except FatalError as exc:
                outcomes = [DeliveryOutcome(i.delivery_id, "failed", error=str(exc)) for i in batch]
            except Exception as exc:  # a sink bug: keep every item and look again later
                log.exception("sink %s failed unexpectedly", sink_name)
                error = f"unexpected {type(exc).__name__} in sink {sink_name}"
                outcomes = [DeliveryOutcome(i.delivery_id, "retry", error=error, retry_after=300) for i in batch]
            returned = {o.delivery_id for o in outcomes}
            missing = [i for i in batch if i.delivery_id not in returned]
            outcomes = list(outcomes) + [
                DeliveryOutcome(i.delivery_id, "retry", error="sink returned no outcome") for i in missing
            ]
            self._apply(
                outcomes,
                tick,
                mentions={i.delivery_id: i.mention for i in batch},
                connection=connection,
                received=received,
            )
            for outcome in outcomes:
                metrics.DELIVERIES.labels(sink_name, outcome.status).inc()
                when = as_utc(received.get(outcome.delivery_id))
                if outcome.status == "delivered" and when is not None:
                    metrics.TIME_TO_CRM.labels(sink_name).observe((utcnow() - when).total_seconds())

    def _apply(
        self,
        outcomes: list[DeliveryOutcome],
        tick: Tick,
        mentions: dict[int, Mention] | None = None,
        connection: SinkConnection | None = None,
        received: dict[int, Any] | None = None,
    ) -> None:
        settings = self.runtime.settings
        now = utcnow()
        give_up_before = now - timedelta(hours=settings.give_up_after_hours)
        with self.runtime.db.begin() as conn:
            attempts_by_id = {
                int(r.id): int(r.attempts)
                for r in conn.execute(
                    select(t.deliveries.c.id, t.deliveries.c.attempts).where(
                        t.deliveries.c.id.in_([o.delivery_id for o in outcomes])
                    )
                )
            }
            for outcome in outcomes:
                attempts = attempts_by_id.get(outcome.delivery_id, 0) + 1
                values: dict[str, object] = {
                    "attempts": attempts,
                    "lease_owner": None,
                    "lease_until": None,
                    "updated_at": now,
                }
                status = outcome.status
                # Retries go on for days (a CRM outage must lose nothing), then a human is told.
                arrived = as_utc((received or {}).get(outcome.delivery_id))
                if status in ("retry", "wait_parent") and arrived is not None and arrived < give_up_before:
                    status = "failed"
                if status == "delivered":
                    values.update(status="delivered", remote_id=outcome.remote_id, last_error=None)
                    tick.delivered += 1
                elif status == "failed":
                    values.update(status="failed", last_error=outcome.error or "failed")
                    if outcome.status != "failed":
                        values["last_error"] = f"gave up after {settings.give_up_after_hours:g} h: {outcome.error}"
                    tick.failed += 1
                else:
                    values.update(
                        status="pending",
                        last_error=outcome.error,
                        next_attempt_at=next_attempt_at(
                            attempts,
                            base=settings.backoff_base_seconds,
                            cap=settings.backoff_cap_seconds,
                            retry_after=outcome.retry_after,
                        ),
                    )
                    tick.retried += 1
                # Only while we still hold the lease: a slower worker never overwrites a newer result.
                conn.execute(
                    update(t.deliveries)
                    .where(t.deliveries.c.id == outcome.delivery_id, t.deliveries.c.lease_owner == self.owner)
                    .values(**values)
                )
        if mentions and connection:
            for outcome in outcomes:
                if outcome.status in ("delivered", "failed") and outcome.delivery_id in mentions:
                    self.runtime.hooks.delivered(
                        mention=mentions[outcome.delivery_id],
                        outcome=outcome,
                        sink=connection.sink,
                        tenant=connection.tenant_key,
                    )

    # -- the loop ------------------------------------------------------------------------------
    def run_once(self) -> Tick:
        tick = self.poll_due()
        tick.routed = pipeline.route(self.runtime, self.owner)
        delivered = self.deliver_due()
        tick.delivered, tick.retried, tick.failed = delivered.delivered, delivered.retried, delivered.failed
        crm_replies.collect(self.runtime)
        tick.replies = outbox.drain(self.runtime, self.owner)
        crm_replies.report(self.runtime)
        return tick

    def run_forever(self) -> None:
        idle = self.runtime.settings.worker_idle_seconds
        while not self._stop.is_set():
            try:
                tick = self.run_once()
            except Exception:
                log.exception("worker tick failed; retrying after a pause")
                self._stop.wait(idle * 5)
                continue
            if not tick.busy:
                self._stop.wait(idle)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name=self.owner, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
