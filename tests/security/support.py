"""Helpers for the attacks: a stored mention with a chosen URL."""

from __future__ import annotations

from datetime import UTC, datetime

from plugin.models import Author, Mention
from tests.security.conftest import Stack, Tenant


def store_mention(stack: Stack, tenant: Tenant, external_id: str, url: str) -> None:
    found = stack.rt.store.account(tenant.account_id)
    assert found is not None
    mention = Mention(
        network="x",
        external_id=external_id,
        author=Author(external_id="42", handle="customer"),
        text="hello",
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
        url=url,
        account=found[0].external_id,
    )
    stack.rt.store.inbox.insert(tenant.id, tenant.account_id, mention)
