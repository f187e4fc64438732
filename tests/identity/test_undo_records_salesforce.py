"""What a Salesforce identity undo records (mutation testing, issue 12): the undo audit names the
persona and the Contact it went back to, and an action Salesforce links never produce is refused."""

from __future__ import annotations

import pytest

from plugin.runtime import Runtime
from tests.salesforce.conftest import SfEnv

from .sfsupport import plugin_of, post, run


def test_the_undo_audit_names_the_persona_and_its_previous_parent(
    rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]
) -> None:
    admin = sfenv.admin()
    first = admin.Contact.create({"LastName": "Haddad", "Phone": "+34600111222"})["id"]
    admin.Contact.create({"LastName": "Other", "Phone": "+34600111222"})
    run(rt, tenant[1], post("u3", "hello @brand"))
    run(rt, tenant[1], post("u3", "call me on +34600111222", private=True))
    [persona] = [p for p in sfenv.records("SocialPersona") if p["ExternalId"] == "u3"]
    own = persona["ParentId"]
    [suggestion] = plugin_of(rt).suggestions(tenant[0])
    plugin_of(rt).decide_suggestion(int(suggestion.id), True, "agent:lee", record_id=first)
    link = next(a for a in rt.store.identity.audit_log(tenant[0]) if a.action == "link")

    result = plugin_of(rt).undo(int(link.id), "admin:kim", tenant_id=tenant[0])

    expected = [{"kind": "reparent", "persona_id": persona["Id"], "parent": own}]
    assert result["undone"] == expected
    undo = next(a for a in rt.store.identity.audit_log(tenant[0]) if a.action == "undo")
    assert undo.id == result["audit_id"] and undo.details == {"undone": expected}
    [after] = [p for p in sfenv.records("SocialPersona") if p["ExternalId"] == "u3"]
    assert after["ParentId"] == own


def test_the_salesforce_adapter_refuses_an_unknown_action(rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]) -> None:
    adapter = plugin_of(rt).adapter_for(tenant[0], "salesforce")
    with pytest.raises(ValueError, match="unknown action 'identity_added'"):
        adapter.undo({"kind": "identity_added", "user_id": "1", "identity_id": "2"})
    assert not sfenv.records("SocialPersona")
