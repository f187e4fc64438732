"""What each way of being trusted grants (plugin/trust.py): an install code the tenant's admin, an
attachment link one account of one tenant, and how the grants and their revocation are audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from plugin import trust
from plugin.errors import BadInput, Unauthorized
from plugin.store import tables as t
from plugin.trust import Level, Trust, Via
from tests.security.conftest import ZENDESK, Stack, Tenant
from tests.security.support import store_mention


def _events(stack: Stack, kind: str) -> list[tuple[int | None, dict[str, Any]]]:
    with stack.rt.db.read() as conn:
        rows = conn.execute(
            select(t.events.c.tenant_id, t.events.c.data).where(t.events.c.kind == kind).order_by(t.events.c.id)
        )
        return [(r.tenant_id, dict(r.data)) for r in rows]


def test_an_install_code_makes_the_tenants_admin_and_is_audited(stack: Stack) -> None:
    code = stack.rt.store.trust.invite("newco")
    granted = trust.redeem(stack.rt, "newco", code)
    tenant_id = stack.rt.store.tenant_id("newco")
    assert tenant_id is not None
    assert granted == Trust("newco", tenant_id, None, Level.TENANT, Via.INSTALL_CODE)
    assert _events(stack, "trust:install_code_redeemed") == [(tenant_id, {"tenant": "newco"})]


def test_a_revocation_is_audited_with_its_reason(stack: Stack) -> None:
    trust.revoke(stack.rt, "acme", "uninstall confirmed")
    assert _events(stack, "trust:revoked") == [(stack.acme.id, {"tenant": "acme", "reason": "uninstall confirmed"})]


def test_an_attachment_link_reaches_one_account_of_its_tenant_only(stack: Stack) -> None:
    rt, acme = stack.rt, stack.acme
    granted = trust.for_file_link(rt, acme.id, acme.account_id, 0)
    assert granted == Trust("acme", acme.id, None, Level.INSTANCE, Via.FILE_LINK, (acme.account_id,))
    granted.require_account(acme.account_id)
    with pytest.raises(BadInput) as other:
        granted.require_account(stack.globex.account_id)
    assert other.value.status == 403


@pytest.mark.parametrize("case", ["unknown tenant", "no account"])
def test_an_attachment_link_naming_no_tenant_or_account_is_not_found(stack: Stack, case: str) -> None:
    tenant_id, account_id = (10_000, stack.acme.account_id) if case == "unknown tenant" else (stack.acme.id, None)
    with pytest.raises(Unauthorized) as refused:
        trust.for_file_link(stack.rt, tenant_id, account_id, 0)
    assert refused.value.status == 404


def test_a_channelback_for_an_account_outside_the_instance_is_refused(stack: Stack) -> None:
    """acme's second X account is not among the accounts acme's instance metadata names: that
    instance may not reply from it, though both are acme's."""
    second = stack.rt.store.upsert_account(stack.acme.id, "x", "1002", {"user_access_token": "s2"}, api_base=ZENDESK)
    store_mention(stack, Tenant("acme", stack.acme.id, second, metadata=""), "950", "https://x.com/c/950")
    form = {"message": "thanks", "parent_id": "x:950", "request_unique_identifier": "u-950"}
    refused = stack.client.post("/zendesk/channelback", data={**form, "metadata": stack.acme.metadata})
    assert refused.status_code == 403 and "does not manage that account" in refused.get_data(as_text=True)
