"""Identity resolution against the Salesforce fake (HTTPS, simple-salesforce): testnet -> horseshoe -> org."""

from __future__ import annotations

import pytest

from plugin.runtime import Runtime
from sandbox.salesforce import DuplicateRule
from tests.salesforce.conftest import SfEnv

from .sfsupport import plugin_of, post, run


def persona_of(env: SfEnv, author: str) -> dict[str, object]:
    [persona] = [p for p in env.records("SocialPersona") if p["ExternalId"] == author]
    return persona


def test_handle_already_on_a_persona_lands_on_its_contact(rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]) -> None:
    admin = sfenv.admin()
    contact = admin.Contact.create({"FirstName": "Known", "LastName": "Customer"})["id"]
    admin.SocialPersona.create({"Name": "hu1", "ParentId": contact, "Provider": "Other", "ExternalId": "u1"})
    run(rt, tenant[1], post("u1", "hello @brand"))
    [social_post] = sfenv.records("SocialPost")
    assert social_post["WhoId"] == contact
    assert len(sfenv.records("Contact")) == 1 and len(sfenv.records("SocialPersona")) == 1


def test_email_in_a_private_message_lands_on_existing_contact(
    rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]
) -> None:
    contact = sfenv.admin().Contact.create({"LastName": "Novak", "Email": "ana@example.org"})["id"]
    run(rt, tenant[1], post("u2", "hi, my email is Ana@Example.org", private=True))
    assert persona_of(sfenv, "u2")["ParentId"] == contact
    assert len(sfenv.records("Contact")) == 1
    [entry] = [a for a in rt.store.identity.audit_log(tenant[0]) if a.action == "link"]
    assert entry.record_id == contact and entry.actor == "horseshoe"
    assert any("email_private" in e for e in entry.evidence)


def test_ambiguous_match_suggests_accept_reparents_and_undo_restores(
    rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]
) -> None:
    admin = sfenv.admin()
    first = admin.Contact.create({"LastName": "Haddad", "Phone": "+34600111222"})["id"]
    admin.Contact.create({"LastName": "Other", "Phone": "+34600111222"})
    run(rt, tenant[1], post("u3", "hello @brand"))
    own = persona_of(sfenv, "u3")["ParentId"]  # a new Contact the sink created
    assert own != first
    run(rt, tenant[1], post("u3", "call me on +34600111222", private=True))
    assert persona_of(sfenv, "u3")["ParentId"] == own  # ambiguous: nothing re-parented
    [suggestion] = plugin_of(rt).suggestions(tenant[0])
    plugin_of(rt).decide_suggestion(int(suggestion.id), True, "agent:lee", record_id=first)
    assert persona_of(sfenv, "u3")["ParentId"] == first
    link = next(a for a in rt.store.identity.audit_log(tenant[0]) if a.action == "link")
    assert link.actor == "agent:lee" and link.reversible
    plugin_of(rt).undo(int(link.id), "admin:kim")
    assert persona_of(sfenv, "u3")["ParentId"] == own
    actions = [(a.action, a.actor) for a in rt.store.identity.audit_log(tenant[0])]
    assert ("undo", "admin:kim") in actions and ("accept", "agent:lee") in actions
    assert ("suggest", "horseshoe") in actions
    with pytest.raises(ValueError, match="already undone"):
        plugin_of(rt).undo(int(link.id), "admin:kim")


def test_internal_user_email_is_never_a_target(rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]) -> None:
    sfenv.admin().Contact.create({"LastName": "Integration", "Email": "integration@brand.example"})
    run(rt, tenant[1], post("u4", "it's me integration@brand.example", private=True))
    assert not rt.store.identity.links(tenant[0], "linked")
    assert len(sfenv.records("Contact")) == 2  # the author got a Contact of their own


def _duplicate_setup(rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]) -> str:
    admin = sfenv.admin()
    known = admin.Contact.create({"LastName": "Novak", "Email": "ana@example.org"})["id"]
    admin.SocialPersona.create({"Name": "ana_x", "ParentId": known, "Provider": "Twitter", "ExternalId": "99"})
    sfenv.state.add_duplicate_rule(
        DuplicateRule("SocialPersona", ["ParentId"], "One_Persona_Per_Parent"), org_id=sfenv.org.id
    )
    run(rt, tenant[1], post("u5", "hello @brand"))
    run(rt, tenant[1], post("u5", "I am ana@example.org", private=True))
    return str(known)


def test_duplicate_rule_turns_a_link_into_a_suggestion(rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]) -> None:
    known = _duplicate_setup(rt, sfenv, tenant)
    assert persona_of(sfenv, "u5")["ParentId"] != known  # never bypassed silently
    [suggestion] = plugin_of(rt).suggestions(tenant[0])
    assert any("DUPLICATES_DETECTED" in e for e in suggestion.evidence)
    with pytest.raises(ValueError, match="DUPLICATES_DETECTED"):
        plugin_of(rt).decide_suggestion(int(suggestion.id), True, "agent:lee")


def test_duplicate_rule_header_only_when_configured(rt: Runtime, sfenv: SfEnv, tenant: tuple[int, int]) -> None:
    rt.store.set_sink_connection(
        tenant[0], "salesforce", sfenv.config(reply_poll_seconds=0, identity_duplicates_allow_save=True)
    )
    known = _duplicate_setup(rt, sfenv, tenant)
    assert persona_of(sfenv, "u5")["ParentId"] == known
