"""Engage or not, influence-blind priority, praise routing and the Social Promoter Score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from plugin.models import Author, Mention, Reply
from plugin.outbox import replies as outbox
from plugin.store.triage import TriageRepository
from plugin.triage.praise import social_promoter_score
from plugin.triage.priority import PriorityInputs, priority
from plugin.triage.rules import RulesFile
from tests.support.netplugin import make_mention
from tests.triage.support import make_world


def test_what_does_not_become_a_ticket_is_stored_counted_and_visible(tmp_path: Path) -> None:
    world = make_world(tmp_path, {"ignore": {"authors": ["@noisy_bot"]}, "brand_handles": ["acme_careers"]})
    ours = make_mention("own", author="brand", text="New store opening on Friday!")
    careers = Mention(
        **make_mention("careers", text="we're hiring!").model_dump()
        | {"author": Author(external_id="777", handle="acme_careers")}
    )
    repost = make_mention("rp", kind="repost", text="RT new store opening")
    spam = make_mention("sp", author="u9", text="🔥 FREE followers!!! 10k in 24h 👉 bit.ly/fr33f0ll0w")
    ignored = Mention(
        **make_mention("ig", text="ping").model_dump() | {"author": Author(external_id="55", handle="noisy_bot")}
    )
    real = make_mention("real", author="u3", text="my order never arrived, where is it?")
    ids = world.ingest(ours, careers, repost, spam, ignored, real)
    # We answer a customer whose auto-responder answers every answer of ours, identically.
    reply = Reply(
        network="testnet", account="brand", text="Hi! Could you DM us?", in_reply_to="x", idempotency_key="k1"
    )
    outbox.enqueue(world.runtime, world.tenant_id, world.account_id, reply, "salesforce")
    world.run(rounds=3)
    (posted,) = TriageRepository(world.runtime.db).sent_reply_ids(world.tenant_id)
    loop = [
        make_mention(f"loop{n}", author="bot7", parent=posted, thread="t1", text="Thanks for your message!")
        for n in range(6)
    ]
    ids += world.ingest(*loop)
    world.run(rounds=8)
    reasons = {world.labels(i).get("skip_reason") for i in ids}
    assert {"own_post", "repost", "spam", "ignored_author", "bot_loop"} <= reasons
    delivered = sorted(i.mention.external_id for i in world.sink.items)
    # Identical answers to our reply within minutes: the first four may be a person insisting, from
    # the fifth on it is a loop (triage runs as each one is stored).
    assert delivered == ["loop0", "loop1", "loop2", "loop3", "real"]
    statuses = [world.labels(i)["_status"] for i in ids]
    assert statuses.count("skipped") == len(ids) - 5


def test_priority_from_words_wait_and_open_case_never_above_high_unless_security() -> None:
    policy = RulesFile().for_tenant(None).priority
    calm = PriorityInputs("question", 0.0, waited_hours=0.1, has_open_case=False)
    assert priority(policy, calm) == "normal"
    assert priority(policy, PriorityInputs("question", 0.0, 2.0, False)) == "high"
    assert priority(policy, PriorityInputs("complaint", -0.9, 30.0, True)) == "high"  # capped
    assert priority(policy, PriorityInputs("security", 0.5, 0.0, False)) == "urgent"
    assert priority(policy, PriorityInputs("chatter", 0.0, 48.0, True)) == "low"


def test_a_customer_writing_again_while_their_case_is_open_is_one_level_higher(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    first, second = world.ingest(
        make_mention("q1", author="u5", text="how do I change my delivery address?"),
        make_mention("q2", author="u5", thread="other", text="how do I change the delivery address??"),
    )
    world.run()
    assert world.labels(first)["priority"] == "high"  # waited: the test mention is from Nov 1st
    assert world.labels(second)["priority"] == "high"


def test_praise_naming_an_employee_is_tagged_routed_and_counted_in_the_sps(tmp_path: Path) -> None:
    employee = {
        "id": "sarah",
        "names": ["Sarah Lee", "Sarah"],
        "handles": ["sarah_acme"],
        "email": "sarah@acme.example",
        "manager": {"name": "Dana", "email": "dana@acme.example"},
    }
    world = make_world(tmp_path, {"employees": [employee]})
    now = datetime.now(UTC)
    mentions = [
        make_mention("p1", author="u1", text="Sarah from acme support was so patient with me, thank you Sarah!!"),
        make_mention("c1", author="u2", text="third time my order shows delivered but nothing at my door. ridiculous"),
        make_mention("p2", author="u3", text="love the new app, great job @sarah_acme"),
    ]
    mentions = [Mention(**m.model_dump() | {"created_at": now - timedelta(minutes=1)}) for m in mentions]
    ids = world.ingest(*mentions)
    world.run()
    assert "praise_sarah" in world.labels(ids[0])["tags"] and "praise_sarah" in world.labels(ids[2])["tags"]
    assert world.runtime.pm.get_plugin("triage_praise").notifier.drain(timeout=10)
    repo = TriageRepository(world.runtime.db)
    routed = repo.events("praise_routed")
    assert len(routed) == 2 and all(r["employees"] == ["sarah"] for r in routed)
    (today,) = social_promoter_score(repo, world.tenant_id, now - timedelta(days=1))
    assert today["mentions"] == 3 and today["promoters"] == 2 and today["detractors"] == 1
    assert today["sps"] == round(100 * (2 - 1) / 3, 1)
