"""How Zendesk's requests resolve to a Trust (plugin/zendesk/trust.py): signed metadata, the admin UI
(metadata, a push token Zendesk confirms, an install code) and the admin session of the dashboard."""

from __future__ import annotations

import time
from typing import Any

import pytest

from plugin.errors import BadInput, Unauthorized
from plugin.trust import Level, Trust, Via
from plugin.zendesk import trust
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from tests.security.conftest import Stack


def test_signed_metadata_reaches_its_tenant_at_the_admin_level_the_identity_page_needs(stack: Stack) -> None:
    acme = stack.acme
    expected = Trust("acme", acme.id, "push-acme", Level.TENANT, Via.METADATA, (acme.account_id,))
    assert trust.from_metadata(stack.rt, acme.metadata) == expected
    assert trust.from_metadata(stack.rt, acme.metadata, level=Level.TENANT) == expected


def test_metadata_for_a_tenant_that_does_not_exist_here_is_refused(stack: Stack) -> None:
    # Signed by us, trusted, generation 0, no instance: only the missing tenant row tells it apart.
    ghost = issue_metadata(stack.rt.box, InstanceMetadata(tenant="ghost", account_ids=(), name="ghost"))
    with pytest.raises(Unauthorized) as refused:
        trust.from_metadata(stack.rt, ghost)
    assert refused.value.status == 403


def _admin(stack: Stack, subdomain: str, **how: Any) -> Trust | None:
    return trust.for_admin(
        stack.rt,
        subdomain,
        metadata=how.get("metadata"),
        zendesk_confirms=how.get("zendesk_confirms", False),
        install_code=how.get("install_code"),
    )


def test_the_admin_ui_with_metadata_trusts_its_own_tenant_only(stack: Stack) -> None:
    acme = stack.acme
    own = _admin(stack, "acme", metadata=acme.metadata)
    assert own == Trust("acme", acme.id, "push-acme", Level.TENANT, Via.METADATA, (acme.account_id,))
    with pytest.raises(BadInput) as foreign:
        _admin(stack, "globex", metadata=acme.metadata)
    assert foreign.value.status == 403


def test_a_push_token_zendesk_confirms_vouches_only_for_an_installed_tenant(stack: Stack) -> None:
    confirmed = _admin(stack, "acme", zendesk_confirms=True)
    assert confirmed == Trust("acme", stack.acme.id, None, Level.TENANT, Via.ZENDESK_TOKEN)
    assert _admin(stack, "acme") is None  # nothing vouched: the page asks for an install code
    # A first install: Zendesk honours a new instance's token only later, so it cannot vouch.
    assert _admin(stack, "newco", zendesk_confirms=True) is None
    assert stack.rt.store.tenant_id("newco") is None
    # A tenant that exists (say, Salesforce only) but has no Zendesk installed: the same.
    stack.rt.store.ensure_tenant("sfonly")
    assert _admin(stack, "sfonly", zendesk_confirms=True) is None
    code = stack.rt.store.trust.invite("sfonly")
    by_code = _admin(stack, "sfonly", zendesk_confirms=True, install_code=code)
    assert by_code is not None and by_code.via is Via.INSTALL_CODE and by_code.tenant == "sfonly"


def _session(stack: Stack, **claims: Any) -> str:
    """An admin session as plugin/zendesk/admin.py signs it, with ``claims`` changed."""
    base = {"kind": "zd-admin", "t": "acme", "tr": True, "g": 0, "exp": int(time.time()) + 600}
    return stack.rt.box.sign(base | claims)


def test_a_trusted_current_admin_session_opens_its_tenant(stack: Stack) -> None:
    granted = trust.from_admin_session(stack.rt, _session(stack))
    assert granted == Trust("acme", stack.acme.id, None, Level.TENANT, Via.METADATA)


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"kind": "zd-meta"}, 403),  # another kind of signed token
        ({"exp": int(time.time()) - 1}, 403),  # expired
        ({"tr": False}, 403),  # the admin UI was opened without anyone vouching
        ({"g": 1}, 403),  # issued for a generation that is not the tenant's current one
        ({"t": "ghost"}, 403),  # a subdomain never installed here
        ({"t": "Evil.example"}, 400),  # not a subdomain at all
    ],
)
def test_an_admin_session_is_refused_when(stack: Stack, claims: dict[str, Any], status: int) -> None:
    with pytest.raises(BadInput) as refused:
        trust.from_admin_session(stack.rt, _session(stack, **claims))
    assert refused.value.status == status


def test_an_admin_session_from_before_a_revocation_is_refused(stack: Stack) -> None:
    session = _session(stack)
    trust.revoke(stack.rt, "acme", "test")
    with pytest.raises(Unauthorized) as refused:
        trust.from_admin_session(stack.rt, session)
    assert refused.value.status == 403


@pytest.mark.parametrize("token", [None, ""])
def test_no_admin_session_is_a_401(stack: Stack, token: str | None) -> None:
    with pytest.raises(Unauthorized) as refused:
        trust.from_admin_session(stack.rt, token)
    # The reason names both ways in: the dashboard is opened from the admin UI or with the metadata.
    assert refused.value.status == 401 and "signed metadata" in str(refused.value)


def test_a_forged_admin_session_says_which_token_failed(stack: Stack) -> None:
    body, _, _ = _session(stack).partition(".")
    with pytest.raises(Unauthorized) as refused:
        trust.from_admin_session(stack.rt, body + ".AAAA")
    assert refused.value.status == 403 and "admin session" in str(refused.value)
