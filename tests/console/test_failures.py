"""Failures you can act on: the page lists failed deliveries and uncertain replies with reasons, and
retry / mark-sent / discard change them once, audited with who (the logged-in admin) and why."""

from __future__ import annotations

from plugin.store.statuses import DeliveryStatus, ReplyStatus
from tests.console.support import failed_delivery, login, make_admin, uncertain_reply
from tests.security.conftest import Stack


def _delivery_status(stack: Stack, tenant_id: int, delivery_id: int) -> str | None:
    found = [d for d in stack.rt.store.failures.failed_deliveries([tenant_id]) if d.id == delivery_id]
    return "failed" if found else None


def test_page_lists_failures_with_reasons(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    delivery = failed_delivery(stack.rt, stack.acme.id, stack.acme.account_id, "7001")
    reply = uncertain_reply(stack.rt, stack.acme.id, stack.acme.account_id, "k-7001")
    login(stack.client, "ada")
    page = stack.client.get("/console/failures").get_data(as_text=True)
    assert f'data-id="{delivery}"' in page and "422 external_id has 300 characters" in page
    assert f'data-id="{reply}"' in page and "connection dropped after sending" in page
    assert "We are on it (k-7001)" in page


def test_retry_a_failed_delivery_makes_it_due_and_records_who_and_why(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    delivery = failed_delivery(stack.rt, stack.acme.id, stack.acme.account_id, "7002")
    token = login(stack.client, "ada")
    answer = stack.client.post(f"/console/deliveries/{delivery}/retry", data={"csrf_token": token, "why": "fixed"})
    assert answer.status_code == 303 and "done=" in answer.headers["Location"]
    claimed = stack.rt.store.deliveries.claim_due("check", 100, 60)
    assert delivery in claimed  # pending and due now: the worker takes it on its next pass
    [action] = stack.rt.store.failures.recent_actions([stack.acme.id])
    assert (action.actor, action.why, action.kind) == ("admin:ada", "fixed", "delivery_retried")
    # Acting again on what is no longer failed is a conflict, not a second action.
    again = stack.client.post(f"/console/deliveries/{delivery}/discard", data={"csrf_token": token, "why": "x"})
    assert again.status_code == 409


def test_discard_needs_a_reason_shown_next_to_the_row(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    delivery = failed_delivery(stack.rt, stack.acme.id, stack.acme.account_id, "7003")
    token = login(stack.client, "ada")
    blank = stack.client.post(f"/console/deliveries/{delivery}/discard", data={"csrf_token": token, "why": "  "})
    assert blank.status_code == 400 and "Why? Say why" in blank.get_data(as_text=True)
    assert _delivery_status(stack, stack.acme.id, delivery) == "failed"
    done = stack.client.post(f"/console/deliveries/{delivery}/discard",
                             data={"csrf_token": token, "why": "spam, not worth a ticket"})  # fmt: skip
    assert done.status_code == 303 and _delivery_status(stack, stack.acme.id, delivery) is None
    assert stack.rt.store.counts()["deliveries_failed"] == 0
    assert stack.client.post(f"/console/deliveries/{delivery}/explode", data={"csrf_token": token}).status_code == 404


def test_resolving_uncertain_replies(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    rt = stack.rt
    sent = uncertain_reply(rt, stack.acme.id, stack.acme.account_id, "k-sent")
    again = uncertain_reply(rt, stack.acme.id, stack.acme.account_id, "k-again")
    dropped = uncertain_reply(rt, stack.acme.id, stack.acme.account_id, "k-dropped")
    token = login(stack.client, "ada")
    for reply_id, action in ((sent, "mark-sent"), (again, "retry"), (dropped, "discard")):
        form = {"csrf_token": token, "why": "checked"}
        answer = stack.client.post(f"/console/replies/{reply_id}/{action}", data=form)
        assert answer.status_code == 303, action
    assert rt.store.outbox.get(sent).status == ReplyStatus.SENT
    assert rt.store.outbox.get(again).status == ReplyStatus.PENDING
    discarded = rt.store.outbox.get(dropped)
    assert discarded.status == ReplyStatus.FAILED and discarded.last_error == "discarded by admin:ada: checked"
    # The CRM hears about each new final state (it is reported again).
    assert {r.id for r in rt.store.outbox.unreported(stack.acme.id, "zendesk_channelback", 10)} == {sent, dropped}
    assert {a.kind for a in rt.store.failures.recent_actions(None)} == {
        "reply_marked_sent", "reply_retried", "reply_discarded"
    }  # fmt: skip


def test_tenant_admin_sees_and_acts_only_on_their_tenant(stack: Stack) -> None:
    make_admin(stack.rt, "kim", tenant="acme")
    ours = failed_delivery(stack.rt, stack.acme.id, stack.acme.account_id, "7101")
    theirs = failed_delivery(stack.rt, stack.globex.id, stack.globex.account_id, "7102")
    their_reply = uncertain_reply(stack.rt, stack.globex.id, stack.globex.account_id, "k-globex")
    token = login(stack.client, "kim")
    page = stack.client.get("/console/failures").get_data(as_text=True)
    assert f'data-id="{ours}"' in page and f'data-id="{theirs}"' not in page and "k-globex" not in page
    for path in (f"/console/deliveries/{theirs}/retry", f"/console/replies/{their_reply}/mark-sent"):
        assert stack.client.post(path, data={"csrf_token": token, "why": "x"}).status_code == 404
    assert stack.rt.store.outbox.get(their_reply).status == ReplyStatus.UNCERTAIN
    assert _delivery_status(stack, stack.globex.id, theirs) == "failed"
    home = stack.client.get("/console/").get_data(as_text=True)
    assert "globex" not in home and "2002" not in home


def test_discarded_is_a_delivery_state_of_its_own() -> None:
    assert DeliveryStatus("discarded") is DeliveryStatus.DISCARDED
