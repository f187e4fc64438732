"""Agent replies that live in a CRM record (Salesforce outbound SocialPosts and the like).

``collect`` asks every connected sink for new agent replies and puts them in the outbox under the
record's id (so a record found twice is posted once); ``report`` writes each reply's final state back
to its record, so nothing stays "pending" in the CRM. An ``uncertain`` reply is reported as failed
with the reason: an agent decides, horseshoe never posts it twice.
"""

from __future__ import annotations

import logging

from plugin import egress
from plugin.errors import AuthError, BadInput, FatalError, RetriableError
from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime
from plugin.sink import AgentReply, ReplyReport, Sink, SinkConnection
from plugin.store.db import utcnow
from plugin.store.statuses import ReplyStatus

log = logging.getLogger(__name__)
REPLY_POLL_SECONDS = 10.0
# While the connection's change stream is live (plugin/worker/streams.py) the poll is only a safety net.
SAFETY_NET_POLL_SECONDS = 300.0


def _polls_replies(sink: Sink) -> bool:
    return type(sink).fetch_agent_replies is not Sink.fetch_agent_replies


def _connections(runtime: Runtime, *, due_only: bool) -> list[tuple[SinkConnection, Sink, str | None]]:
    now = utcnow()
    tenants = runtime.store.tenants
    found = []
    for row in tenants.connections(enabled_only=True):
        sink = runtime.registry.sinks.get(row.sink)
        if sink is None or not _polls_replies(sink):
            continue
        if due_only and row.next_reply_poll_at is not None and row.next_reply_poll_at > now:
            continue
        connection = SinkConnection(row.tenant_id, row.tenant_key, row.sink, tenants.config_of(row))
        found.append((connection, sink, row.reply_watermark))
    return found


def collect(runtime: Runtime) -> int:
    """Enqueue new agent replies from every CRM that must be polled for them."""
    queued = 0
    for connection, sink, watermark in _connections(runtime, due_only=True):
        interval = reply_poll_interval(runtime, connection)
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
                runtime.store.outbox.record_unpostable(
                    connection.tenant_id,
                    connection.sink,
                    agent_reply.remote_id,
                    key,
                    agent_reply.network,
                    f"no connected {agent_reply.network} account can post this reply",
                )
                continue
            refused = _refused_attachment(runtime, agent_reply)
            if refused is not None:
                runtime.store.outbox.record_unpostable(
                    connection.tenant_id, connection.sink, agent_reply.remote_id, key, agent_reply.network, refused
                )
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
                attachments=list(agent_reply.attachments),
            )
            state = outbox.enqueue(
                runtime, connection.tenant_id, found[0].id, reply, connection.sink, agent_reply.remote_id
            )
            if state.status.final:
                # Shown as pending again in the CRM: report it again (and post it again if it failed).
                runtime.store.outbox.reopen(state.id)
            queued += 1
        # The watermark moves only after every reply of the batch is safely in the outbox.
        _schedule(runtime, connection, batch.watermark, interval)
    return queued


def reply_poll_interval(runtime: Runtime, connection: SinkConnection) -> float:
    """``reply_poll_seconds``, stretched to ``reply_poll_seconds_streaming`` while a listener streams."""
    normal = float(connection.config.get("reply_poll_seconds", REPLY_POLL_SECONDS))
    stream = runtime.store.reply_streams.of(connection.tenant_id, connection.sink)
    if stream is None or not stream.live:
        return normal
    return max(normal, float(connection.config.get("reply_poll_seconds_streaming", SAFETY_NET_POLL_SECONDS)))


def _refused_attachment(runtime: Runtime, agent_reply: AgentReply) -> str | None:
    """Why an attachment URL may not be fetched (the egress rule: no private addresses), or None."""
    allowed = egress.allowed_hosts(runtime.settings.allowed_private_hosts)
    for attachment in agent_reply.attachments:
        try:
            egress.check_url(attachment.url, allowed, what="the attachment URL")
        except BadInput as exc:
            return f"not posted: {exc}"
    return None


def _schedule(
    runtime: Runtime, connection: SinkConnection, watermark: str | None, seconds: float, error: str | None = None
) -> None:
    runtime.store.tenants.schedule_reply_poll(connection.tenant_id, connection.sink, watermark, seconds, error)


def report(runtime: Runtime, limit: int = 200) -> int:
    """Write final states back to the CRM records the replies came from."""
    reported = 0
    for connection, sink, _watermark in _connections(runtime, due_only=False):
        rows = runtime.store.outbox.unreported(connection.tenant_id, connection.sink, limit)
        if not rows:
            continue
        reports = [
            ReplyReport(
                remote_id=str(row.remote_id),
                status="sent" if row.status == ReplyStatus.SENT else "failed",
                external_id=row.external_id,
                url=row.url,
                error=None if row.status == ReplyStatus.SENT else (row.last_error or row.status.value),
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
            runtime.store.outbox.mark_reported(ids)
            reported += len(ids)
    return reported
