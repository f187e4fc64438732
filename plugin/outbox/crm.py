"""Agent replies that live in a CRM record (Salesforce outbound SocialPosts and the like).

``collect`` asks every connected sink for new agent replies and puts them in the outbox under the
record's id (so a record found twice is posted once); ``report`` writes each reply's final state back
to its record, so nothing stays "pending" in the CRM. An ``uncertain`` reply is reported as failed
with the reason: an agent decides, horseshoe never posts it twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from plugin.errors import AuthError, FatalError, RetriableError
from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime
from plugin.sink import ReplyReport, Sink, SinkConnection
from plugin.store import tables as t
from plugin.store.db import as_utc, utcnow

log = logging.getLogger(__name__)
REPLY_POLL_SECONDS = 10.0


def _polls_replies(sink: Sink) -> bool:
    return type(sink).fetch_agent_replies is not Sink.fetch_agent_replies


def _connections(runtime: Runtime, *, due_only: bool) -> list[tuple[SinkConnection, Sink, str | None]]:
    now = utcnow()
    with runtime.db.begin() as conn:
        rows = conn.execute(
            select(t.sink_connections, t.tenants.c.key)
            .join(t.tenants, t.tenants.c.id == t.sink_connections.c.tenant_id)
            .where(t.sink_connections.c.enabled.is_(True))
        ).all()
    found = []
    for row in rows:
        sink = runtime.registry.sinks.get(row.sink)
        if sink is None or not _polls_replies(sink):
            continue
        if due_only and row.next_reply_poll_at is not None:
            if (as_utc(row.next_reply_poll_at) or now) > now:
                continue
        config = runtime.box.decrypt_json(row.config_enc)
        found.append((SinkConnection(int(row.tenant_id), row.key, row.sink, config), sink, row.reply_watermark))
    return found


def collect(runtime: Runtime) -> int:
    """Enqueue new agent replies from every CRM that must be polled for them."""
    queued = 0
    for connection, sink, watermark in _connections(runtime, due_only=True):
        interval = float(connection.config.get("reply_poll_seconds", REPLY_POLL_SECONDS))
        try:
            batch = sink.fetch_agent_replies(connection, watermark)
        except (RetriableError, AuthError, FatalError) as exc:
            log.warning("fetching agent replies from %s/%s failed: %s", connection.tenant_key, connection.sink, exc)
            _schedule(runtime, connection, watermark, interval * 6, error=str(exc))
            continue
        for agent_reply in batch.replies:
            found = runtime.store.find_account(
                connection.tenant_id, agent_reply.network, agent_reply.account_external_id
            )
            key = f"{connection.sink}:{connection.tenant_key}:{agent_reply.remote_id}"
            if found is None:
                # No connected account can post it: record it failed so the agent is told.
                _record_unpostable(runtime, connection, agent_reply.remote_id, key, agent_reply.network)
                continue
            reply = Reply(
                network=agent_reply.network,
                account=agent_reply.account_external_id,
                text=agent_reply.text,
                in_reply_to=agent_reply.in_reply_to,
                thread_id=agent_reply.thread_id,
                recipient_id=agent_reply.recipient_id,
                visibility=agent_reply.visibility,
                idempotency_key=key,
            )
            state = outbox.enqueue(
                runtime, connection.tenant_id, found[0].id, reply, connection.sink, agent_reply.remote_id
            )
            if state.status in ("sent", "failed", "uncertain"):
                _pending_again(runtime, state.id)
            queued += 1
        # The watermark moves only after every reply of the batch is safely in the outbox.
        _schedule(runtime, connection, batch.watermark, interval)
    return queued


def _pending_again(runtime: Runtime, reply_id: int) -> None:
    """The CRM shows as pending a reply whose final state we already wrote back: an agent asked to
    try again (or our write-back was lost). A failed reply (never posted) is posted again; a sent or
    uncertain one is only reported again, never re-posted."""
    now = utcnow()
    with runtime.db.begin() as conn:
        row = conn.execute(select(t.replies.c.status, t.replies.c.reported_at).where(t.replies.c.id == reply_id)).one()
        if row.reported_at is None:
            return  # not reported yet: the report step will do it
        values: dict[str, object] = {"reported_at": None, "updated_at": now}
        if row.status == "failed":
            values.update(status="pending", next_attempt_at=now, last_error=None)
        conn.execute(update(t.replies).where(t.replies.c.id == reply_id).values(**values))


def _schedule(
    runtime: Runtime, connection: SinkConnection, watermark: str | None, seconds: float, error: str | None = None
) -> None:
    with runtime.db.begin() as conn:
        conn.execute(
            update(t.sink_connections)
            .where(t.sink_connections.c.tenant_id == connection.tenant_id, t.sink_connections.c.sink == connection.sink)
            .values(
                reply_watermark=watermark, next_reply_poll_at=utcnow() + timedelta(seconds=seconds), last_error=error
            )
        )


def _record_unpostable(runtime: Runtime, connection: SinkConnection, remote_id: str, key: str, network: str) -> None:
    now = utcnow()
    try:
        with runtime.db.begin() as conn:
            conn.execute(
                insert(t.replies).values(
                    tenant_id=connection.tenant_id,
                    account_id=None,
                    idempotency_key=key,
                    source=connection.sink,
                    remote_id=remote_id,
                    network=network,
                    payload={},
                    status="failed",
                    attempts=0,
                    next_attempt_at=now,
                    last_error=f"no connected {network} account can post this reply",
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        return


def report(runtime: Runtime, limit: int = 200) -> int:
    """Write final states back to the CRM records the replies came from."""
    reported = 0
    for connection, sink, _watermark in _connections(runtime, due_only=False):
        with runtime.db.begin() as conn:
            rows = conn.execute(
                select(t.replies)
                .where(
                    t.replies.c.tenant_id == connection.tenant_id,
                    t.replies.c.source == connection.sink,
                    t.replies.c.reported_at.is_(None),
                    t.replies.c.status.in_(["sent", "failed", "uncertain"]),
                    t.replies.c.remote_id.is_not(None),
                )
                .order_by(t.replies.c.id)
                .limit(limit)
            ).all()
        if not rows:
            continue
        reports = [
            ReplyReport(
                remote_id=row.remote_id,
                status="sent" if row.status == "sent" else "failed",
                external_id=row.external_id,
                url=row.url,
                error=None if row.status == "sent" else (row.last_error or row.status),
            )
            for row in rows
        ]
        try:
            done = set(sink.report_replies(connection, reports))
        except (RetriableError, AuthError, FatalError) as exc:
            log.warning("reporting replies to %s/%s failed: %s", connection.tenant_key, connection.sink, exc)
            continue
        ids = [row.id for row in rows if row.remote_id in done]
        if ids:
            with runtime.db.begin() as conn:
                conn.execute(update(t.replies).where(t.replies.c.id.in_(ids)).values(reported_at=utcnow()))
            reported += len(ids)
    return reported
