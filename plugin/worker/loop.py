"""The in-process worker: polls networks, routes mentions, delivers to sinks, drains the outbox.

All state lives in the database, claimed under leases, so any number of workers (threads, processes
or Celery tasks) can run ``run_once`` side by side and a killed one is simply replaced.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta

from plugin import attention, expiry, metrics, ratebudget, renewal
from plugin.connector import AccountContext, PollPage, quarantine_scope
from plugin.errors import AuthError, FatalError, RateLimited, RetriableError
from plugin.heartbeat import Heartbeat
from plugin.models import Labels, Match, Mention
from plugin.pipeline import doorbell, quarantine
from plugin.pipeline import inbound as pipeline
from plugin.retry import RetryPolicy
from plugin.runtime import Runtime
from plugin.sink import DeliveryItem, DeliveryOutcome, SinkConnection
from plugin.store.budgets import RatePause
from plugin.store.db import utcnow
from plugin.store.deliveries import DeliveryUpdate, DueDelivery
from plugin.store.health import account_target, sink_target
from plugin.store.statuses import DeliveryStatus, Outcome
from plugin.traffic import GIVE_WAY_SECONDS, TRAFFIC
from plugin.worker import crmhealth, delivery, listening, upkeep
from plugin.worker.lanes import Lane, Lanes
from plugin.worker.streams import ReplyStreams
from plugin.worker.tick import Tick, idle_seconds

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, runtime: Runtime, owner: str | None = None):
        self.runtime = runtime
        self.owner = owner or f"worker-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        # Rung when mentions are stored, by stop(), and (without lanes) by a change stream's event.
        self._bell = doorbell.BELL.listener()
        # (tenant, sink) -> when its CRM's rate budget can pay again: not claimed before (plugin.ratebudget)
        self._budget_waits: dict[tuple[int, str], datetime] = {}
        self._budget_targets: dict[tuple[int, str], tuple[ratebudget.Target, int]] = {}  # last target, cost
        self._expiry = expiry.Schedule()
        self._lanes: Lanes | None = None  # the CRMs' delivery threads while run_forever runs

    @property
    def policy(self) -> RetryPolicy:
        # Read from the settings each time: they are the one source, and cheap to read.
        return RetryPolicy.from_settings(self.runtime.settings)

    # -- polling -------------------------------------------------------------------------------
    def poll_due(self, limit: int = 20) -> Tick:
        tick = Tick()
        accounts, lease = self.runtime.store.brand_accounts, self.runtime.settings.lease_seconds
        ids = accounts.claim_due_polls(self.owner, limit, lease)
        # A slow network must not let another worker poll the same account meanwhile.
        renew = lambda held: accounts.renew_polls(self.owner, held, lease)  # noqa: E731
        with Heartbeat(renew, ids, lease, f"{self.owner}:polls") as beat:
            for account_id in ids:
                self._poll_account(account_id, tick)
                beat.release([account_id])
        return tick

    def wake_polls(self) -> None:
        """Make every account, and every CRM's agent replies, due for polling now (after an outage, or
        when a caller knows there is news)."""
        self.runtime.store.brand_accounts.wake_polls()
        self.runtime.store.tenants.wake_reply_polls()

    def _poll_account(self, account_id: int, tick: Tick) -> None:
        runtime = self.runtime
        accounts = runtime.store.brand_accounts
        found = accounts.get(account_id)
        cursor_row = accounts.cursor(account_id)
        if found is None or not found[0].enabled or found[0].network not in runtime.registry.connectors:
            accounts.release_cursor(account_id, next_poll=utcnow() + timedelta(hours=1), owner=self.owner)
            return
        if runtime.store.health.paused(account_target(account_id)) is not None:
            # Its credentials were refused: polling waits for an admin (reconnecting wakes it).
            accounts.release_cursor(account_id, next_poll=utcnow() + timedelta(hours=1))
            return
        account, context = found
        connector = runtime.registry.connector(account.network)
        interval = float(account.settings.get("poll_interval_seconds", connector.limits().poll_interval_seconds))
        # The account's rate budget is shared with its replies and with every other worker.
        budgets = ratebudget.Budgets(runtime.settings, runtime.store)
        budget = ratebudget.account_target(runtime.settings, account.id, connector, account.settings)
        wait = budgets.acquire(budget)
        if wait:
            when = utcnow() + timedelta(seconds=wait)
            accounts.release_cursor(account_id, next_poll=when, owner=self.owner)  # not a failure
            tick.waits_until(when)
            return
        tick.polled += 1
        try:
            # Items the connector cannot read are collected, not raised: the rest of the page flows.
            # A token about to expire (or refused) is renewed first, without an admin (renewal.py).
            used = [context]

            def poll(current: AccountContext) -> PollPage:
                used.append(current)
                return connector.poll(current, cursor_row.cursor)

            with quarantine_scope() as quarantined, budgets.metered(budget):
                page = renewal.call(runtime, account.id, context, connector, poll)
            context = used[-1]
        except (RetriableError, FatalError, Exception) as exc:  # a connector bug must not stop the others
            failures = cursor_row.failures + 1
            retry_after = getattr(exc, "retry_after", None)
            if isinstance(exc, RateLimited) and exc.code != "client_pacing":
                budgets.hold(budget, retry_after or 0.0)  # the network said so: its bucket waits too
            if not isinstance(exc, RetriableError | FatalError):
                log.exception("poll of %s account %s failed unexpectedly", account.network, account.id)
            if isinstance(exc, AuthError):
                attention.account_refused(runtime, account.id, exc, "poll")
            if not isinstance(exc, RetriableError):
                retry_after = max(retry_after or 0.0, 900.0)  # needs an admin; look again later
            # Polling never gives up: the account stays connected and its last_error tells the admin.
            when = self.policy.next_attempt(failures, retry_after)
            tick.errors.append(f"poll {account.network}/{account.external_id}: {exc}")
            runtime.store.health.failed(account.id, attention.plain_error(exc, account.network))
            accounts.release_cursor(
                account_id, next_poll=when, owner=self.owner, failures=failures, last_error=str(exc)
            )
            return
        # Store mentions and quarantined items first, cursor second: a crash in between re-reads a
        # page (deduplicated), never skips one.
        result = pipeline.ingest(runtime, account, page.mentions)
        quarantine.store(runtime, account, "poll", quarantined)
        tick.ingested += len(result.new)
        tick.duplicates += result.duplicates
        # Listening rides on the poll turn (same lease); its own budget decides whether it searches now.
        tick.ingested += listening.listen_if_due(runtime, account, context, connector, cursor_row)
        next_poll = utcnow() if page.more else utcnow() + timedelta(seconds=interval)
        # Only while this poll still holds the account: a poll that outlived its lease never moves
        # back the cursor of the one that took over (what it read is stored, deduplicated, anyway).
        accounts.release_cursor(
            account_id, next_poll=next_poll, owner=self.owner, cursor=page.cursor, failures=0, last_error=None
        )
        runtime.store.health.poll_succeeded(account.id, connector.token_expires_at(context))

    # -- delivery ------------------------------------------------------------------------------
    def deliver_due(
        self, limit: int | None = None, *, sinks: Collection[str] | None = None, others: bool = True
    ) -> Tick:
        """Deliver what is due. ``sinks``: only these installed CRMs (default: every one; the others
        have delivery lanes, plugin/worker/lanes.py); ``others``: also the deliveries to sinks that are
        not installed (answered "not connected")."""
        tick = Tick()
        runtime, settings = self.runtime, self.runtime.settings
        deliveries, lease = runtime.store.deliveries, settings.lease_seconds
        # One claim per CRM: the oldest work of a CRM that keeps failing (or is paused) would
        # otherwise fill every claim and starve the other CRM's deliveries behind it. How much is
        # claimed adapts to the load (plugin/worker/delivery.py); ``limit`` overrides it.
        every = sorted(runtime.registry.sinks)
        installed = every if sinks is None else [name for name in every if name in sinks]
        now = utcnow()
        self._budget_waits = {key: until for key, until in self._budget_waits.items() if until > now}
        self._peek_budgets(now)
        for until in self._budget_waits.values():
            tick.waits_until(until)
        waiting = {name: {tenant for tenant, sink in self._budget_waits if sink == name} for name in installed}
        ids: list[int] = []
        for name in installed:
            if limit:
                ids += deliveries.claim_due(self.owner, limit, lease, sink=name, exclude_tenants=waiting[name])
                continue
            claimed, held = delivery.claim(deliveries, self.owner, name, self._max_batch(name), lease, waiting[name])
            ids += claimed
            tick.held += held
        if others:
            other = limit or delivery.CALLS_PER_TICK * 100
            ids += deliveries.claim_due(self.owner, other, lease, other_than=every)  # not installed: told below
        if not ids:
            return tick
        groups: dict[tuple[int, str], list[DueDelivery]] = defaultdict(list)
        for row in deliveries.due_rows(ids):
            groups[(row.tenant_id, row.sink)].append(row)
        # The leases are renewed while the batches run (a slow CRM, a loaded machine), and re-checked
        # right before each call to the CRM: work another worker took over is never done twice.
        renew = lambda held: deliveries.renew(self.owner, held, lease)  # noqa: E731
        with Heartbeat(renew, ids, lease, f"{self.owner}:deliveries") as beat:
            for (tenant_id, sink_name), group in groups.items():
                self._deliver_group(tenant_id, sink_name, group, tick, beat)
        return tick

    def _max_batch(self, sink_name: str) -> int:
        return delivery.max_batch(self.runtime.registry.sink(sink_name).max_batch, self.runtime.settings)

    def _deliver_group(
        self, tenant_id: int, sink_name: str, rows: list[DueDelivery], tick: Tick, beat: Heartbeat
    ) -> None:
        runtime = self.runtime
        config = runtime.store.sink_connection(tenant_id, sink_name)
        mentions = [Mention.model_validate(r.payload) for r in rows]
        parents = runtime.store.deliveries.parent_states(
            tenant_id, sink_name, {(m.network, m.parent_id) for m in mentions if m.parent_id}
        )
        items = [
            DeliveryItem(
                delivery_id=r.id,
                mention=mention,
                labels=Labels(**(r.labels or {})),
                attempts=r.attempts,
                parent_state=parents.get((mention.network, mention.parent_id)) if mention.parent_id else None,
                match=Match.model_validate(r.match) if r.match else None,
            )
            for r, mention in zip(rows, mentions, strict=True)
        ]
        claimed = {r.id: r for r in rows}
        if config is None or sink_name not in runtime.registry.sinks:
            reason = f"sink {sink_name!r} is not connected for this tenant"
            outcomes = [DeliveryOutcome(i.delivery_id, "retry", error=reason, retry_after=3600) for i in items]
            self._apply(outcomes, tick, claimed)
            return
        sink = runtime.registry.sink(sink_name)
        connection = SinkConnection(
            tenant_id=tenant_id,
            tenant_key=runtime.store.tenant_key(tenant_id),
            sink=sink_name,
            config=config,
            fence=beat.held,
        )
        # One pause per target for every worker: a 429 stops all of this target's batches (here and
        # in other workers) until its Retry-After, rather than each batch earning its own 429.
        target = f"{sink_name}:{connection.tenant_key}"
        pause = runtime.store.rate_pauses.state(target)
        budgets = ratebudget.Budgets(runtime.settings, runtime.store)
        budget = ratebudget.sink_target(runtime.settings, sink_name, config, connection.tenant_key)
        refused = runtime.store.health.paused(sink_target(sink_name, tenant_id))
        if refused is not None:
            # The CRM refused this connection's credentials: nothing is sent until an admin updates
            # them (which makes these deliveries due at once); no attempt is counted for work that
            # never left.
            later = utcnow() + timedelta(hours=1)
            beat.release([i.delivery_id for i in items])
            self._defer(items, claimed, later, f"needs attention: {refused.reason}", tick)
            return
        # Adaptive size (delivery.py), full per request key (a Zendesk channel instance); smaller after
        # each failure of an item when so configured (retrysplit.py, ``delivery_split_on_retry``).
        split = runtime.settings.delivery_split_on_retry
        for batch in delivery.sink_batches(sink, connection, items, self._max_batch(sink_name), split):
            if pause.until is not None:
                # Not attempted: due again when the pause ends, and no attempt is counted (counting
                # would grow the back-off of work that never met the CRM).
                beat.release([i.delivery_id for i in batch])
                self._defer(batch, claimed, pause.until, f"{target} is paused after a 429", tick)
                continue
            if not sink.fences_writes:  # else the sink asks right before its writes (Sink.fences_writes)
                held = beat.held([i.delivery_id for i in batch])
                batch = [i for i in batch if i.delivery_id in held]  # the rest is another worker's now
            if not batch:
                continue
            cost = sink.calls_for(connection, batch)
            refill = self._budget_wait(budgets, budget, cost, tenant_id, sink_name)
            if refill is not None:
                # The shared budget cannot pay yet: nothing is sent, no attempt counted; due at the refill.
                assert budget is not None
                beat.release([i.delivery_id for i in batch])
                self._defer(batch, claimed, refill, f"{budget.key}: waiting for the rate budget", tick, spread=0.1)
                continue
            recorded = crmhealth.recorded(runtime, sink, connection)  # the CRM connection's health
            try:
                with budgets.metered(budget, cost), delivery.IN_FLIGHT.call(sink_name), recorded:
                    outcomes = sink.deliver(connection, batch)
                if pause.strikes:
                    runtime.store.rate_pauses.clear_strikes(target)
                    pause = RatePause(None, 0)
            except RateLimited as exc:
                pause = self._pause(target, exc, pause)
                wait = max(0.0, (pause.until - utcnow()).total_seconds()) if pause.until else exc.retry_after
                if ratebudget.exhausted(budget, exc.code):
                    budgets.hold(budget, wait or 0.0)  # every worker's bucket for this target waits too
                outcomes = [DeliveryOutcome(i.delivery_id, "retry", error=str(exc), retry_after=wait) for i in batch]
            except RetriableError as exc:
                outcomes = [
                    DeliveryOutcome(i.delivery_id, "retry", error=str(exc), retry_after=exc.retry_after) for i in batch
                ]
            except AuthError as exc:
                # Credentials need an admin: keep every item, pause this connection, tell the admin.
                attention.sink_refused(runtime, tenant_id, sink_name, exc)
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
            in_batch = {i.delivery_id: i.mention for i in batch}
            beat.release(in_batch)
            self._apply(outcomes, tick, claimed, mentions=in_batch, connection=connection)
            for outcome in outcomes:
                metrics.DELIVERIES.labels(sink_name, outcome.status).inc()
                row = claimed.get(outcome.delivery_id)
                if outcome.status == Outcome.DELIVERED and row is not None and row.received_at is not None:
                    metrics.TIME_TO_CRM.labels(sink_name).observe((utcnow() - row.received_at).total_seconds())

    def _peek_budgets(self, now: datetime) -> None:
        """Targets this worker delivered to before and whose bucket cannot pay yet are not claimed
        for: one read each, instead of a claim and a deferral (two writes) that would be undone."""
        known = [(key, found) for key, found in self._budget_targets.items() if key not in self._budget_waits]
        if not known:
            return
        budgets = ratebudget.Budgets(self.runtime.settings, self.runtime.store)
        for key, (target, cost) in known:
            seconds = budgets.peek(target, cost)
            if seconds > 0:
                self._budget_waits[key] = now + timedelta(seconds=seconds)

    def _budget_wait(
        self, budgets: ratebudget.Budgets, budget: ratebudget.Target | None, cost: int, tenant_id: int, sink: str
    ) -> datetime | None:
        """None when the rate budget paid for ``cost`` calls; else when it can (remembered, so this
        worker does not claim that tenant's deliveries again before then)."""
        key = (tenant_id, sink)
        if budget is not None:
            self._budget_targets[key] = (budget, cost)
        until = self._budget_waits.get(key)
        if until is None or until <= utcnow():
            seconds = budgets.acquire(budget, cost)
            if not seconds:
                return None
            until = self._budget_waits[key] = utcnow() + timedelta(seconds=seconds)
        return until

    def _pause(self, target: str, exc: RateLimited, pause: RatePause) -> RatePause:
        """Pause ``target`` for every worker: for the server's Retry-After, or, when it named none,
        for a back-off that doubles with each consecutive such 429 (a success resets it)."""
        bare = exc.retry_after is None
        strikes = pause.strikes + 1 if bare else pause.strikes
        seconds = self.policy.delay(strikes) if exc.retry_after is None else exc.retry_after
        until = utcnow() + timedelta(seconds=seconds)
        self.runtime.store.rate_pauses.pause(target, until, str(exc), strike=bare)
        return RatePause(until, strikes)

    def _defer(
        self,
        batch: list[DeliveryItem],
        claimed: dict[int, DueDelivery],
        until: datetime,
        reason: str,
        tick: Tick,
        *,
        spread: float | None = None,
    ) -> None:
        # Spread over a second so that a paused target's backlog does not all come due at once; work
        # waiting for a refill (``spread`` set) is counted as deferred, which is not being busy.
        updates = [
            DeliveryUpdate(
                i.delivery_id,
                DeliveryStatus.PENDING,
                claimed[i.delivery_id].attempts,
                reason,
                next_attempt_at=until + timedelta(seconds=random.uniform(0.0, 1.0 if spread is None else spread)),
            )
            for i in batch
        ]
        self.runtime.store.deliveries.finish(self.owner, updates)
        if spread is None:
            tick.retried += len(updates)
        else:
            tick.deferred += len(updates)
            tick.waits_until(until)

    def _decide(self, outcome: DeliveryOutcome, row: DueDelivery | None, policy: RetryPolicy) -> DeliveryUpdate:
        """The delivery's next state. Retries go on for days (a CRM outage must lose nothing), then a
        human is told."""
        attempts = (row.attempts if row is not None else 0) + 1
        status = delivery.outcome_of(outcome)
        if status == Outcome.DELIVERED:
            return DeliveryUpdate(outcome.delivery_id, DeliveryStatus.DELIVERED, attempts, remote_id=outcome.remote_id)
        if status == Outcome.FAILED:
            return DeliveryUpdate(outcome.delivery_id, DeliveryStatus.FAILED, attempts, outcome.error or "failed")
        if row is not None and policy.gives_up(first_seen=row.received_at):
            reason = f"{policy.give_up_reason()}: {outcome.error}"
            return DeliveryUpdate(outcome.delivery_id, DeliveryStatus.FAILED, attempts, reason)
        when = policy.next_attempt(attempts, outcome.retry_after)
        return DeliveryUpdate(
            outcome.delivery_id, DeliveryStatus.PENDING, attempts, outcome.error, next_attempt_at=when
        )

    def _apply(
        self,
        outcomes: list[DeliveryOutcome],
        tick: Tick,
        claimed: dict[int, DueDelivery],
        mentions: dict[int, Mention] | None = None,
        connection: SinkConnection | None = None,
    ) -> None:
        policy = self.policy
        updates = [self._decide(o, claimed.get(o.delivery_id), policy) for o in outcomes]
        for update in updates:
            if update.status == DeliveryStatus.DELIVERED:
                tick.delivered += 1
            elif update.status == DeliveryStatus.FAILED:
                tick.failed += 1
            else:
                tick.retried += 1
        # Written only while we still hold the lease (see DeliveryRepository.finish).
        self.runtime.store.deliveries.finish(self.owner, updates)
        if mentions and connection:
            delivery.tell_observers(self.runtime.hooks, outcomes, mentions, connection.sink, connection.tenant_key)

    # -- the loop ------------------------------------------------------------------------------
    def run_once(self) -> Tick:
        # Inside run_forever with lanes, this thread only routes (and answers for sinks that are not
        # installed): each installed CRM's deliveries are its lane's, polls, replies and the rest the
        # upkeep lane's (plugin/worker/lanes.py). Called from anywhere else (a test, ``horseshoe worker
        # --once``, a Celery task), it does everything, in this order.
        laned = self._lanes is not None and self._lanes.loop == threading.get_ident()
        tick = Tick() if laned else self.poll_due()
        tick.routed = pipeline.route(self.runtime, self.owner)
        delivered = self.deliver_due(sinks=()) if laned else self.deliver_due()
        tick.delivered, tick.retried, tick.failed = delivered.delivered, delivered.retried, delivered.failed
        tick.deferred += delivered.deferred
        if delivered.next_due is not None:
            tick.waits_until(delivered.next_due)
        tick.held = delivered.held
        if not laned:
            upkeep.tend(self.runtime, self.owner, self._expiry, tick)
        return tick

    def upkeep(self) -> Tick:
        """One pass of the upkeep lane: the networks' polls, then the rest (plugin/worker/upkeep.py)."""
        TRAFFIC.give_way(GIVE_WAY_SECONDS)  # background work: a burst of this process's requests first
        tick = self.poll_due()
        upkeep.tend(self.runtime, self.owner, self._expiry, tick)
        return tick

    def run_forever(self) -> None:
        idle = self.runtime.settings.worker_idle_seconds
        laned = self.runtime.settings.worker_delivery_lanes
        # A change stream that saw an agent reply wakes whoever collects replies: the upkeep lane, or
        # this loop when it does everything itself.
        replies_bell = threading.Event() if laned else self._bell
        # New mentions committed by other processes on this database (serve's web processes) ring here.
        with doorbell.Relay(doorbell.address_for(self.runtime.db.identity), doorbell.BELL):
            self._run_forever(idle, laned, replies_bell)

    def _run_forever(self, idle: float, laned: bool, replies_bell: threading.Event) -> None:
        streams = ReplyStreams(self.runtime, self.owner, nudge=replies_bell.set)
        if laned:
            # Each CRM delivers on its own thread, and the upkeep on another, while this one routes.
            tender = Worker(self.runtime, owner=f"{self.owner}:upkeep")

            def upkeep_pass() -> Tick:
                streams.maybe_start()
                return tender.upkeep()

            upkeep_lane = Lane(tender.owner, upkeep_pass, replies_bell, idle)
            make = lambda owner: Worker(self.runtime, owner=owner)  # noqa: E731
            self._lanes = Lanes(self.owner, sorted(self.runtime.registry.sinks), make, idle, [upkeep_lane])
            self._lanes.start()
        while not self._stop.is_set():
            # A burst of this process's requests (serve) is answered first, this pass comes after.
            TRAFFIC.give_way(GIVE_WAY_SECONDS)
            try:
                if self._lanes is None:
                    streams.maybe_start()
                tick = self.run_once()
            except Exception:
                log.exception("worker tick failed; retrying after a pause")
                self._stop.wait(idle * 5)
                continue
            if not tick.progressed and not self._stop.is_set():
                # Retries alone are not progress: work that waits on a Retry-After or a rate
                # pause must not keep the loop spinning. New mentions ring the bell and end the wait at
                # once; work waiting on a rate budget is taken up at its refill, when that comes before
                # the next idle look.
                doorbell.wait(self._bell, idle_seconds(tick, idle))
        if self._lanes is not None:
            self._lanes.stop()
            self._lanes = None
        streams.stop()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name=self.owner, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        self._bell.set()  # a waiting loop sees the stop now, not after its idle interval
