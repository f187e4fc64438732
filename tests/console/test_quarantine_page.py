"""Quarantine in the console: the page lists the admin's quarantined items with the error and the raw
item; retry re-parses with the installed connector (what parses now is ingested, the item released),
discard needs a reason; both are recorded with who (the logged-in admin)."""

from __future__ import annotations

from typing import Any

from plugin.connector import Quarantined
from plugin.store.statuses import QuarantineStatus
from tests.console.support import login, make_admin
from tests.security.conftest import Stack

# An X mentions page whose one post the connector of the day could not read, and reads now (a fix).
READABLE = {
    "data": [{"id": "1861000000000000001", "text": "@acme my parcel is lost", "author_id": "555",
              "created_at": "2026-11-30T10:00:00.000Z", "conversation_id": "1861000000000000001"}],
    "includes": {"users": [{"id": "555", "username": "carol", "name": "Carol"}]},
}  # fmt: skip
UNREADABLE: dict[str, Any] = {"data": [{"text": "no id, no author"}]}


def _quarantine(stack: Stack, payload: dict[str, Any], where: str) -> int:
    [item] = stack.rt.store.quarantine.add(
        stack.acme.id, stack.acme.account_id, "x", "poll", [Quarantined(where, "KeyError: 'author_id'", payload)]
    )
    return item


def test_the_page_shows_each_item_with_its_error_and_payload(stack: Stack) -> None:
    make_admin(stack.rt, "ada", tenant="acme")
    item = _quarantine(stack, UNREADABLE, "data[0]")
    login(stack.client, "ada")
    page = stack.client.get("/console/quarantine").get_data(as_text=True)
    assert f'data-id="{item}"' in page and "KeyError: &#39;author_id&#39;" in page
    assert "no id, no author" in page  # the item as received, under "Show"


def test_retry_releases_what_parses_now_and_ingests_it(stack: Stack) -> None:
    make_admin(stack.rt, "ada", tenant="acme")
    good, bad = _quarantine(stack, READABLE, "data[0]"), _quarantine(stack, UNREADABLE, "data[1]")
    token = login(stack.client, "ada")
    answer = stack.client.post(f"/console/quarantine/{good}/retry", data={"csrf_token": token})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-500:]
    row = stack.rt.store.quarantine.get(good)
    assert row is not None and row.status == QuarantineStatus.RELEASED
    assert stack.rt.store.counts()["mentions"] == 1
    still = stack.client.post(f"/console/quarantine/{bad}/retry", data={"csrf_token": token})
    assert still.status_code == 409 and "Still fails" in still.get_data(as_text=True)
    retried = [e for e in _events(stack, "quarantine:retried")]
    assert {(e["item_id"], e["actor"], e["released"]) for e in retried} == {(good, "admin:ada", True),
                                                                            (bad, "admin:ada", False)}  # fmt: skip


def test_discard_needs_a_reason_and_records_who(stack: Stack) -> None:
    make_admin(stack.rt, "ada", tenant="acme")
    item = _quarantine(stack, UNREADABLE, "data[0]")
    token = login(stack.client, "ada")
    refused = stack.client.post(f"/console/quarantine/{item}/discard", data={"csrf_token": token, "why": " "})
    assert refused.status_code == 400 and "Say why" in refused.get_data(as_text=True)
    done = stack.client.post(f"/console/quarantine/{item}/discard", data={"csrf_token": token, "why": "spam bot"})
    assert done.status_code == 303
    row = stack.rt.store.quarantine.get(item)
    assert row is not None and row.status == QuarantineStatus.DISCARDED and "admin:ada" in (row.outcome or "")
    [event] = _events(stack, "quarantine:discarded")
    assert (event["actor"], event["why"]) == ("admin:ada", "spam bot")
    assert f'data-id="{item}"' not in stack.client.get("/console/quarantine").get_data(as_text=True)
    again = stack.client.post(f"/console/quarantine/{item}/discard", data={"csrf_token": token, "why": "again"})
    assert again.status_code == 409


def _events(stack: Stack, kind: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from plugin.store import tables as t

    with stack.rt.db.read() as conn:
        rows = conn.execute(select(t.events.c.data).where(t.events.c.kind == kind).order_by(t.events.c.id))
        return [dict(r.data) for r in rows]
