"""Console helpers for tests: admins, logging in through the real form, rows to act on."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask.testing import FlaskClient

from plugin.console import passwords
from plugin.models import Author, Mention, Reply
from plugin.runtime import Runtime
from plugin.store.deliveries import DeliveryUpdate
from plugin.store.statuses import DeliveryStatus, ReplyStatus

PASSWORD = "correct horse battery staple"


def make_admin(rt: Runtime, name: str, tenant: str | None = None, *, password: str = PASSWORD) -> None:
    role = "operator" if tenant is None else "tenant"
    rt.store.admins.create(name, passwords.hash_password(rt.settings, password), role, tenant, must_change=False)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:800]
    return match.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the login form; returns the session's CSRF token (from the home page)."""
    form = client.get("/console/login")
    answer = client.post(
        "/console/login", data={"csrf_token": csrf_of(form.get_data(as_text=True)), "name": name, "password": password}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    home = client.get("/console/")
    assert home.status_code == 200, home.status_code
    return csrf_of(home.get_data(as_text=True))


def failed_delivery(rt: Runtime, tenant_id: int, account_id: int, external_id: str, *, sink: str = "zendesk") -> int:
    """A mention whose delivery to ``sink`` failed for good (as the worker records it)."""
    found = rt.store.account(account_id)
    assert found is not None
    mention = Mention(
        network=found[0].network, external_id=external_id, author=Author(external_id="42", handle="customer"),
        text=f"where is my order {external_id}?", created_at=datetime(2026, 11, 30, tzinfo=UTC),
        url=f"https://x.com/customer/status/{external_id}", account=found[0].external_id,
    )  # fmt: skip
    mention_id = rt.store.inbox.insert(tenant_id, account_id, mention)
    assert mention_id is not None
    row, _ = rt.store.inbox.for_routing(mention_id)
    rt.store.inbox.finish_routing(row, engaged=True, labels={}, matches={sink: None})
    claimed = rt.store.deliveries.claim_due("test", 100, 60)
    mine = [d.id for d in rt.store.deliveries.due_rows(claimed) if d.mention_id == mention_id]
    reason = "zendesk refused the resource: 422 external_id has 300 characters"
    rt.store.deliveries.finish("test", [DeliveryUpdate(i, DeliveryStatus.FAILED, 3, reason) for i in mine])
    others = [DeliveryUpdate(i, DeliveryStatus.PENDING, 0) for i in claimed if i not in mine]
    rt.store.deliveries.finish("test", others)
    return mine[0]


def uncertain_reply(rt: Runtime, tenant_id: int, account_id: int, key: str) -> int:
    """An agent's reply whose POST may have reached the network (connection dropped after sending)."""
    found = rt.store.account(account_id)
    assert found is not None
    reply = Reply(network=found[0].network, account=found[0].external_id, text=f"We are on it ({key})",
                  in_reply_to="5001", idempotency_key=key)  # fmt: skip
    reply_id = rt.store.outbox.enqueue(tenant_id, account_id, reply, "zendesk_channelback", remote_id=f"cb-{key}")
    assert reply_id is not None
    assert rt.store.outbox.take(reply_id, "test", 60)
    rt.store.outbox.finish(reply_id, ReplyStatus.UNCERTAIN, last_error="connection dropped after sending")
    return reply_id
