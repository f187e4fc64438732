"""Outbound path: an agent's reply is recorded under its idempotency key before it is posted.

States: ``pending`` (nothing posted yet) -> ``sending`` (committed just before the network call)
-> ``sent`` | ``failed`` | ``uncertain``. A row found in ``sending`` after its lease expired belongs to a
process that died mid-call: it may have been posted, so it becomes ``uncertain`` and is never
re-posted automatically. That is how a reply is posted at most once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin import metrics
from plugin.errors import AuthError, FatalError, OutcomeUnknown, RetriableError
from plugin.models import PostResult, Reply, Visibility
from plugin.retry import next_attempt_at
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.store.db import utcnow
from plugin.store.repo import new_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyState:
    id: int
    status: str
    external_id: str | None = None
    url: str | None = None
    error: str | None = None
    retry_after: float | None = None


def _state(row: object) -> ReplyState:
    return ReplyState(
        id=int(row.id),  # type: ignore[attr-defined]
        status=row.status,  # type: ignore[attr-defined]
        external_id=row.external_id,  # type: ignore[attr-defined]
        url=row.url,  # type: ignore[attr-defined]
        error=row.last_error,  # type: ignore[attr-defined]
    )


def enqueue(
    runtime: Runtime, tenant_id: int, account_id: int, reply: Reply, source: str, remote_id: str | None = None
) -> ReplyState:
    """Record the reply once; a second call with the same idempotency key returns the first row."""
    now = utcnow()
    try:
        with runtime.db.begin() as conn:
            result = conn.execute(
                insert(t.replies).values(
                    tenant_id=tenant_id,
                    account_id=account_id,
                    idempotency_key=reply.idempotency_key,
                    source=source,
                    remote_id=remote_id,
                    network=reply.network,
                    payload=reply.model_dump(mode="json"),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            return ReplyState(id=new_id(result), status="pending")
    except IntegrityError:
        with runtime.db.begin() as conn:
            row = conn.execute(select(t.replies).where(t.replies.c.idempotency_key == reply.idempotency_key)).one()
        if row.tenant_id != tenant_id:
            # Keys are namespaced per tenant by callers; a clash across tenants is refused, not shared.
            raise FatalError("idempotency key belongs to another tenant", code="key_conflict") from None
        return _state(row)


def _take(runtime: Runtime, reply_id: int, owner: str) -> bool:
    """Move pending -> sending under a lease, committed before any network call."""
    now = utcnow()
    lease = now + timedelta(seconds=runtime.settings.lease_seconds)
    with runtime.db.begin() as conn:
        taken = conn.execute(
            update(t.replies)
            .where(
                t.replies.c.id == reply_id,
                t.replies.c.status == "pending",
                or_(t.replies.c.lease_until.is_(None), t.replies.c.lease_until < now),
            )
            .values(
                status="sending",
                attempts=t.replies.c.attempts + 1,
                lease_owner=owner,
                lease_until=lease,
                updated_at=now,
            )
        ).rowcount
    return bool(taken)


def _finish(runtime: Runtime, reply_id: int, network: str, status: str, **values: object) -> None:
    metrics.REPLIES.labels(network, status).inc()
    with runtime.db.begin() as conn:
        conn.execute(
            update(t.replies)
            .where(t.replies.c.id == reply_id)
            .values(status=status, lease_owner=None, lease_until=None, updated_at=utcnow(), **values)
        )


def attempt(runtime: Runtime, reply_id: int, owner: str) -> ReplyState:
    """Post one pending reply now. Safe to call concurrently: only one caller gets to send."""
    if not _take(runtime, reply_id, owner):
        with runtime.db.begin() as conn:
            return _state(conn.execute(select(t.replies).where(t.replies.c.id == reply_id)).one())
    with runtime.db.begin() as conn:
        row = conn.execute(select(t.replies).where(t.replies.c.id == reply_id)).one()
    reply = Reply.model_validate(row.payload)
    found = runtime.store.account(row.account_id) if row.account_id is not None else None
    if found is None:
        _finish(runtime, reply_id, reply.network, status="failed", last_error="account no longer connected")
        return ReplyState(id=reply_id, status="failed", error="account no longer connected")
    account, context = found
    settings = runtime.settings
    connector = runtime.registry.connectors.get(reply.network)
    if connector is None:
        error = f"no connector installed for {reply.network!r}"
        _finish(runtime, reply_id, reply.network, status="failed", last_error=error)
        return ReplyState(id=reply_id, status="failed", error=error)
    try:
        if reply.visibility == Visibility.PRIVATE:
            result: PostResult = connector.send_private(context, reply)
        else:
            result = connector.post_reply(context, reply)
    except OutcomeUnknown as exc:
        error = f"outcome unknown, not retried to avoid a double post: {exc}"
        _finish(runtime, reply_id, reply.network, status="uncertain", last_error=error)
        return ReplyState(id=reply_id, status="uncertain", error=error)
    except RetriableError as exc:
        attempts = int(row.attempts)
        if attempts >= settings.max_attempts:
            _finish(
                runtime,
                reply_id,
                reply.network,
                status="failed",
                last_error=f"gave up after {attempts} attempts: {exc}",
            )
            return ReplyState(id=reply_id, status="failed", error=str(exc))
        when = next_attempt_at(
            attempts, base=settings.backoff_base_seconds, cap=settings.backoff_cap_seconds, retry_after=exc.retry_after
        )
        _finish(runtime, reply_id, reply.network, status="pending", next_attempt_at=when, last_error=str(exc))
        return ReplyState(id=reply_id, status="pending", error=str(exc), retry_after=exc.retry_after)
    except (FatalError, AuthError) as exc:
        code = getattr(exc, "code", None)
        error = f"{code}: {exc}" if code else str(exc)
        _finish(runtime, reply_id, reply.network, status="failed", last_error=error)
        return ReplyState(id=reply_id, status="failed", error=error)
    except Exception as exc:
        # A connector bug (e.g. it could not read the network's success answer): it may have posted.
        log.exception("connector %s failed unexpectedly while posting reply %s", reply.network, reply_id)
        error = f"outcome unknown after an unexpected {type(exc).__name__}; not retried to avoid a double post"
        _finish(runtime, reply_id, reply.network, status="uncertain", last_error=error)
        return ReplyState(id=reply_id, status="uncertain", error=error)
    _finish(
        runtime, reply_id, reply.network, status="sent", external_id=result.external_id, url=result.url, last_error=None
    )
    runtime.hooks.reply_sent(
        reply=reply, result=result, tenant=runtime.store.tenant_key(account.tenant_id)
    )
    return ReplyState(id=reply_id, status="sent", external_id=result.external_id, url=result.url)


def expire_stuck(runtime: Runtime) -> int:
    """Rows left in ``sending`` by a dead process become ``uncertain`` (see module docstring)."""
    now = utcnow()
    with runtime.db.begin() as conn:
        return int(
            conn.execute(
                update(t.replies)
                .where(t.replies.c.status == "sending", t.replies.c.lease_until < now)
                .values(
                    status="uncertain",
                    last_error="process stopped while posting; may have been posted, not retried",
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            ).rowcount
        )


def drain(runtime: Runtime, owner: str, limit: int = 100) -> int:
    """Send due asynchronous replies (sources other than the synchronous Zendesk channelback)."""
    expire_stuck(runtime)
    now = utcnow()
    with runtime.db.begin() as conn:
        ids = [
            int(r.id)
            for r in conn.execute(
                select(t.replies.c.id)
                .where(
                    and_(
                        t.replies.c.status == "pending",
                        t.replies.c.next_attempt_at <= now,
                        t.replies.c.source != "zendesk_channelback",
                    )
                )
                .order_by(t.replies.c.id)
                .limit(limit)
            )
        ]
    for reply_id in ids:
        attempt(runtime, reply_id, owner)
    return len(ids)
