"""Tests for promises a one-line change could break unnoticed (each found as a surviving mutant).

- a connector bug while posting a reply may have posted it: ``uncertain``, never retried;
- a poll error never moves an account's cursor (a fresh cursor would skip the outage's mentions);
- a worker saves each page's cursor and hands it to the next poll;
- an empty Meta app secret is not a signing key;
- ``horseshoe backfill`` stores pages and saves the cursor as it goes.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from connectors.facebook import FacebookConnector
from plugin.config import Settings
from plugin.connector import InboundRequest, PollPage
from plugin.errors import FatalError, RetriableError
from plugin.models import Reply
from plugin.outbox import replies as outbox
from plugin.runtime import Runtime
from plugin.store import tables as t
from plugin.worker.backfill import run_backfill
from plugin.worker.loop import Worker
from tests.support.netplugin import TestNetPlugin, make_mention


def _cursor(rt: Runtime, account_id: int) -> str | None:
    with rt.db.begin() as conn:
        value = conn.execute(
            select(t.poll_cursors.c.cursor).where(t.poll_cursors.c.account_id == account_id)
        ).scalar_one()
    return None if value is None else str(value)


def test_an_unexpected_connector_error_while_posting_is_uncertain_and_never_retried(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    tenant_id, account_id = tenant
    testnet.connector.fail_next.append(KeyError("the network's success answer had no id"))
    reply = Reply(network="testnet", account="brand", text="on it", in_reply_to="1", idempotency_key="k-bug")
    state = outbox.enqueue(rt, tenant_id, account_id, reply, "salesforce")
    assert outbox.attempt(rt, state.id, "w1").status == "uncertain"
    assert outbox.drain(rt, "w2") == 0
    assert outbox.attempt(rt, state.id, "w3").status == "uncertain"
    assert testnet.connector.posted == []  # the fake raised before recording, but we could not know that


def test_the_worker_saves_each_page_cursor_and_hands_it_to_the_next_poll(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    _tenant_id, account_id = tenant
    testnet.connector.pages = [
        PollPage(mentions=[make_mention("1")], cursor="c1"),
        PollPage(mentions=[make_mention("2")], cursor="c2"),
    ]
    worker = Worker(rt)
    worker.poll_due()
    assert _cursor(rt, account_id) == "c1"
    worker.wake_polls()
    worker.poll_due()
    assert _cursor(rt, account_id) == "c2"
    assert testnet.connector.polled_with[:2] == [None, "c1"]


def test_a_poll_error_keeps_the_cursor_where_it_was(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    _tenant_id, account_id = tenant
    testnet.connector.pages = [PollPage(mentions=[make_mention("1")], cursor="c1")]
    worker = Worker(rt)
    worker.poll_due()
    for error in (RetriableError("network down"), FatalError("token revoked"), ValueError("connector bug")):
        testnet.connector.poll_fail_next.append(error)
        worker.wake_polls()
        worker.poll_due()
        assert _cursor(rt, account_id) == "c1", f"{type(error).__name__} moved the cursor"
    worker.wake_polls()
    worker.poll_due()
    assert testnet.connector.polled_with[-1] == "c1"  # after the outage, polling resumes where it stopped


def _signed(secret: str, body: bytes) -> InboundRequest:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return InboundRequest(
        method="POST", path="/webhooks/facebook/k", headers={"X-Hub-Signature-256": signature}, body=body
    )


def test_an_empty_meta_app_secret_is_not_a_signing_key() -> None:
    connector = FacebookConnector()
    body = b'{"object": "page", "entry": []}'
    assert connector.verify_request(_signed("s3cret", body), {"app_secret": "s3cret"})
    assert not connector.verify_request(_signed("", body), {"app_secret": ""})
    assert not connector.verify_request(_signed("", body), {})


def test_backfill_stores_every_page_and_saves_the_cursor(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    _tenant_id, account_id = tenant
    testnet.connector.pages = [
        PollPage(mentions=[make_mention("1"), make_mention("2")], cursor="c1", more=True),
        PollPage(mentions=[make_mention("2"), make_mention("3")], cursor="c2", more=True),
        PollPage(mentions=[make_mention("4")], cursor="c3", more=False),
        PollPage(mentions=[make_mention("never")], cursor="c4"),
    ]
    settings: Settings = rt.settings
    totals = run_backfill(settings, account_id, max_pages=10, runtime=rt)
    assert totals == {"pages": 3, "new": 4, "duplicates": 1, "quarantined": 0}
    assert _cursor(rt, account_id) == "c3"
    assert testnet.connector.polled_with == [None, "c1", "c2"]
    with rt.db.begin() as conn:
        stored = sorted(r.external_id for r in conn.execute(select(t.mentions.c.external_id)))
    assert stored == ["1", "2", "3", "4"]
