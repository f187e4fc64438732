"""The reply guard applies the tenant's own triage rules (``pii.patterns`` in ``mappings/triage.yaml``),
not only the built-in detector: an admin who declares order numbers personal data gets public replies
carrying them refused, and no other tenant is affected. (A mutant that dropped the rules path survived
the suite: issue 12.)"""

from __future__ import annotations

from pathlib import Path

from plugin.models import Reply, Visibility
from plugin.outbox import guard
from plugin.outbox import replies as outbox
from tests.triage.support import World, make_world

ACME_RULES = {"pii": {"patterns": {"order_number": r"ORD-\d{6}"}, "phone_regions": ["FR"]}}


def _post(world: World, tenant_id: int, account_id: int, account: str, text: str) -> outbox.ReplyState:
    reply = Reply(
        network="testnet", account=account, text=text, in_reply_to="m1", visibility=Visibility.PUBLIC,
        idempotency_key=f"salesforce:{tenant_id}:{abs(hash(text))}",
    )  # fmt: skip
    state = outbox.enqueue(world.runtime, tenant_id, account_id, reply, source="salesforce")
    return outbox.attempt(world.runtime, state.id, owner="guard-test")


def test_a_tenants_own_pii_pattern_stops_a_public_reply(tmp_path: Path) -> None:
    world = make_world(tmp_path, ACME_RULES)
    globex = world.runtime.store.ensure_tenant("globex")
    globex_account = world.runtime.store.upsert_account(globex, "testnet", "globex-brand", {})
    network = world.runtime.registry.connector("testnet")

    order = _post(world, world.tenant_id, world.account_id, "brand", "Your order ORD-123456 ships today")
    assert order.status == "failed"
    assert order.error and "order_number" in order.error and "private message" in order.error
    assert network.posted == []  # type: ignore[attr-defined]

    # The same text from a tenant with the default rules: not personal data there.
    assert _post(world, globex, globex_account, "globex-brand", "Your order ORD-123456 ships today").status == "sent"
    assert [r.text for r in network.posted] == ["Your order ORD-123456 ships today"]  # type: ignore[attr-defined]


def test_refusal_reads_the_rules_file_it_is_given(tmp_path: Path) -> None:
    world = make_world(tmp_path, ACME_RULES)
    rules = str(world.rules_path)
    assert guard.refusal("ORD-123456", "acme", rules) is not None
    assert guard.refusal("ORD-123456", "globex", rules) is None
    assert guard.refusal("ORD-123456", "acme", "") is None  # no rules file: the built-in detector only
    assert guard.refusal("write to jane@example.com", "acme", "") is not None
    # The tenant's phone regions decide which national formats count: a French-only tenant's guard
    # knows 06 12 34 56 78 but not a US number written without +1; the default regions know both.
    assert guard.refusal("call 06 12 34 56 78", "acme", rules) is not None
    assert guard.refusal("call 555.123.4567", "acme", rules) is None
    assert guard.refusal("call 555.123.4567", "globex", rules) is not None
