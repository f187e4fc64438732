"""What each delivery of an inbound batch is told (issue 12: written for surviving mutants of
``salesforce.inbound``): a record Salesforce refuses fails only its own deliveries, with what could
not be written; a lease lost mid-batch leaves the work to the worker that took it over; the same post
twice in a batch is one record and two outcomes; a reply whose parent is on its way waits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from plugin.pipeline.notices import deletion_notice
from plugin.salesforce.sink import SalesforceSink
from plugin.sink import DeliveryOutcome, SinkConnection
from sandbox.salesforce import DuplicateRule
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item


def _by_author(sink: SalesforceSink, conn: SinkConnection, *authors_posts: tuple[str, str]) -> dict[str, Any]:
    items = [item(make_mention(post, author=author)) for author, post in authors_posts]
    outcomes = {o.delivery_id: o for o in sink.deliver(conn, items)}
    return {i.mention.external_id: outcomes[i.delivery_id] for i in items}


def test_a_refused_contact_fails_only_its_authors_posts(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sfenv.admin().Contact.create({"FirstName": "Someone", "LastName": "u1"})
    sfenv.state.add_duplicate_rule(
        DuplicateRule("Contact", ["LastName"], "Same last name", action="block"), org_id=sfenv.org.id
    )
    out = _by_author(sink, connection(sfenv), ("u1", "m1"), ("u2", "m2"), ("u1", "m3"))
    for post in ("m1", "m3"):
        assert out[post].status == "failed"
        assert "could not create the author's Contact" in out[post].error
        assert "DUPLICATES_DETECTED" in out[post].error
    assert out["m2"].status == "delivered", out["m2"].error
    assert [p["ExternalPostId"] for p in sfenv.records("SocialPost")] == ["m2"]


def test_a_refused_persona_fails_its_posts_with_the_reason(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # An org whose Provider picklist lacks "Other": the persona of a testnet author is refused.
    sfenv.state.set_picklist("SocialPersona", "Provider", ["Twitter"], restricted=True, org_id=sfenv.org.id)
    out = _by_author(sink, connection(sfenv), ("u1", "m1"), ("u1", "m2"))
    for outcome in out.values():
        assert outcome.status == "failed"
        assert "could not create the SocialPersona" in outcome.error
        assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in outcome.error
    assert sfenv.records("SocialPost") == [] and sfenv.records("Case") == []


def test_a_case_that_cannot_be_reopened_fails_its_post(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1"))])
    case_id = next(p for p in sfenv.records("SocialPost") if p["Id"] == first.remote_id)["ParentId"]
    sfenv.close_case(case_id, days_ago=1)
    sfenv.state.set_picklist("Case", "Status", ["New", "Closed"], restricted=True, org_id=sfenv.org.id)
    [out] = sink.deliver(connection(sfenv, reopen_status="Working"), [item(make_mention("m2", author="u1"))])
    assert out.status == "failed" and f"could not reopen Case {case_id}" in (out.error or "")
    assert len(sfenv.records("SocialPost")) == 1


def test_a_refused_post_and_a_refused_update_say_which_write_failed(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1", text="v1"))])
    assert first.status == "delivered", first.error
    # The org restricts MessageType to values our posts do not use: creating and updating fail.
    sfenv.state.set_picklist("SocialPost", "MessageType", ["Tweet"], restricted=True, org_id=sfenv.org.id)
    out = _by_author(sink, connection(sfenv), ("u1", "m1"), ("u1", "m2"))
    assert out["m1"].status == "failed" and "could not update the SocialPost" in out["m1"].error
    assert out["m2"].status == "failed" and "could not create the SocialPost" in out["m2"].error
    [post] = sfenv.records("SocialPost")
    assert post["Content"] == "v1"


def test_a_post_delivered_again_is_delivered_to_the_same_record(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1"))])
    [again] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1", text="edited"))])
    assert again.status == "delivered" and again.remote_id == first.remote_id


def test_a_post_delivered_again_after_its_case_closed_long_ago_opens_no_case(
    sink: SalesforceSink, sfenv: SfEnv
) -> None:
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1"))])
    case_id = next(p for p in sfenv.records("SocialPost") if p["Id"] == first.remote_id)["ParentId"]
    sfenv.close_case(case_id, days_ago=30)
    [again] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1", text="edited"))])
    assert again.status == "delivered"
    [case] = sfenv.records("Case")
    [post] = sfenv.records("SocialPost")
    assert case["IsClosed"] is True and post["ParentId"] == case_id and post["Content"] == "edited"


def test_the_same_new_post_twice_in_a_batch_is_one_record_and_two_outcomes(sink: SalesforceSink, sfenv: SfEnv) -> None:
    items = [item(make_mention("m1", author="u1")), item(make_mention("m1", author="u1"))]
    outcomes = sink.deliver(connection(sfenv), items)
    assert sorted(o.delivery_id for o in outcomes) == sorted(i.delivery_id for i in items)
    [post] = sfenv.records("SocialPost")
    assert [(o.status, o.remote_id) for o in outcomes] == [("delivered", post["Id"])] * 2


def test_a_reply_waits_for_its_pending_parent_a_few_seconds(sink: SalesforceSink, sfenv: SfEnv) -> None:
    reply = make_mention("m2", parent="m1", kind="reply")
    [out] = sink.deliver(connection(sfenv), [item(reply, parent_state="pending")])
    assert out.status == "wait_parent" and out.error == "parent not in Salesforce yet"
    assert out.retry_after == 5.0  # the parent's own delivery is usually a batch away


class _Fence:
    """A worker's fence: holds its deliveries for the first ``held_calls`` calls, then has lost them."""

    def __init__(self, held_calls: int) -> None:
        self.held_calls = held_calls
        self.calls = 0

    def __call__(self, ids: Collection[int]) -> set[int]:
        self.calls += 1
        return set(ids) if self.calls <= self.held_calls else set()


def _lost(outcomes: list[DeliveryOutcome]) -> None:
    assert outcomes and all(o.status == "retry" for o in outcomes), outcomes
    assert all(o.error == "lease lost: another worker delivers it" for o in outcomes)


def test_a_lease_lost_before_the_first_write_creates_nothing(sink: SalesforceSink, sfenv: SfEnv) -> None:
    conn = SinkConnection(1, "acme", "salesforce", sfenv.config(), fence=_Fence(held_calls=0))
    _lost(sink.deliver(conn, [item(make_mention("m1", author="u1")), item(make_mention("m2", author="u2"))]))
    for sobject in ("SocialPost", "SocialPersona", "Contact", "Case"):
        assert sfenv.records(sobject) == [], sobject


def test_a_lease_lost_before_an_update_leaves_the_post_alone(sink: SalesforceSink, sfenv: SfEnv) -> None:
    sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1", text="v1"))])
    conn = SinkConnection(1, "acme", "salesforce", sfenv.config(), fence=_Fence(held_calls=0))
    _lost(sink.deliver(conn, [item(make_mention("m1", author="u1", text="v2"))]))
    [post] = sfenv.records("SocialPost")
    assert post["Content"] == "v1"


def test_a_lease_lost_while_the_case_was_looked_up_creates_no_post(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # A returning author: the batch queries the persona's earlier posts for their Case between the
    # first fence and the writes, so the lease is asked again before anything is written.
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1"))])
    fence = _Fence(held_calls=1)
    conn = SinkConnection(1, "acme", "salesforce", sfenv.config(), fence=fence)
    _lost(sink.deliver(conn, [item(make_mention("m2", author="u1"))]))
    assert fence.calls == 2
    assert [p["Id"] for p in sfenv.records("SocialPost")] == [first.remote_id]


def test_a_batch_that_sent_nothing_since_its_fence_is_not_fenced_again(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # New authors: nothing goes out between the fence after the look-ups and the writes call, so a
    # second fence would only repeat the first (one writer transaction per batch saved).
    fence = _Fence(held_calls=1)
    conn = SinkConnection(1, "acme", "salesforce", sfenv.config(), fence=fence)
    out = sink.deliver(conn, [item(make_mention("m1", author="u1")), item(make_mention("m2", author="u2"))])
    assert [o.status for o in out] == ["delivered"] * 2 and fence.calls == 1
    assert len(sfenv.records("SocialPost")) == 2 and len(sfenv.records("SocialPersona")) == 2


def test_a_case_locked_elsewhere_retries_only_the_posts_joining_it(sink: SalesforceSink, sfenv: SfEnv) -> None:
    [first] = sink.deliver(connection(sfenv), [item(make_mention("m1", author="u1"))])
    case_id = next(p for p in sfenv.records("SocialPost") if p["Id"] == first.remote_id)["ParentId"]
    sfenv.state.lock_rows([case_id], org_id=sfenv.org.id)  # e.g. an agent's bulk update still running
    out = _by_author(sink, connection(sfenv), ("u1", "m2"), ("u2", "m3"))
    assert out["m2"].status == "retry" and "UNABLE_TO_LOCK_ROW" in out["m2"].error
    assert out["m3"].status == "delivered", out["m3"].error


def test_a_note_whose_lease_was_lost_writes_no_comment(sink: SalesforceSink, sfenv: SfEnv) -> None:
    # The host asks no fence before a Salesforce call (``fences_writes``): the note asks its own.
    original = make_mention("m1", author="u1")
    sink.deliver(connection(sfenv), [item(original)])
    note = deletion_notice(original, datetime.now(UTC))
    fence = _Fence(held_calls=0)
    conn = SinkConnection(1, "acme", "salesforce", sfenv.config(), fence=fence)
    _lost(sink.deliver(conn, [item(note)]))
    assert fence.calls == 1 and sfenv.records("CaseComment") == []
    [out] = sink.deliver(connection(sfenv), [item(note)])
    assert out.status == "delivered" and len(sfenv.records("CaseComment")) == 1
