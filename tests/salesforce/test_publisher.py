"""Agent replies (outbound SocialPosts) are published exactly once and always end Sent or Failed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from plugin.errors import RetriableError
from plugin.models import PostResult, Reply
from plugin.outbox import crm as crm_replies
from plugin.outbox import replies as outbox
from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.worker.loop import Worker
from tests.support.netplugin import TestNetPlugin, make_mention

from .conftest import SfEnv


class ProcessKilled(BaseException):
    """Stands in for kill -9: nothing in horseshoe catches it."""


def _inbound(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv, external_id: str = "m1", **kw: Any) -> dict:
    found = rt.store.account(tenant[1])
    assert found is not None
    pipeline.ingest(rt, found[0], [make_mention(external_id, **kw)])
    Worker(rt).run_once()
    return next(p for p in sfenv.records("SocialPost") if p["ExternalPostId"] == external_id)


def _agent_reply(sfenv: SfEnv, inbound: dict, status: str = "Pending", text: str = "Sorry! DM us.") -> str:
    return str(sfenv.admin().SocialPost.create({
        "Name": "Reply", "Content": text, "IsOutbound": True, "Status": status, "Provider": inbound["Provider"],
        "ReplyToId": inbound["Id"], "ParentId": inbound["ParentId"], "MessageType": "Reply",
    })["id"])  # fmt: skip


def _status(sfenv: SfEnv, post_id: str) -> dict:
    return next(p for p in sfenv.records("SocialPost") if p["Id"] == post_id)


def _settle(rt: Runtime, rounds: int = 40) -> None:
    """Run worker ticks until nothing is pending (backoff in tests is a few milliseconds)."""
    worker = Worker(rt)
    for _ in range(rounds):
        worker.run_once()
        if not rt.store.counts().get("replies_pending") and _unreported(rt) == 0:
            return
        time.sleep(0.03)


def _unreported(rt: Runtime) -> int:
    from sqlalchemy import func, select

    from plugin.store import tables as t

    with rt.db.begin() as conn:
        query = select(func.count()).select_from(t.replies).where(t.replies.c.reported_at.is_(None))
        return int(conn.execute(query).scalar_one())


def test_reply_is_published_once_and_marked_sent(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                                 testnet: TestNetPlugin) -> None:  # fmt: skip
    inbound = _inbound(rt, tenant, sfenv, author="u1")
    reply_id = _agent_reply(sfenv, inbound)
    for _ in range(3):
        Worker(rt).run_once()
    [posted] = testnet.connector.posted
    assert (posted.in_reply_to, posted.account, posted.text) == ("m1", "brand", "Sorry! DM us.")
    assert posted.idempotency_key.endswith(reply_id) and posted.thread_id == "m1"
    record = _status(sfenv, reply_id)
    assert (record["Status"], record["ExternalPostId"], record["PostUrl"]) == (
        "Sent",
        "r1",
        "https://testnet.example/r1",
    )


def test_approval_pending_is_left_alone_until_approved(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                                      testnet: TestNetPlugin) -> None:  # fmt: skip
    inbound = _inbound(rt, tenant, sfenv)
    reply_id = _agent_reply(sfenv, inbound, status="ApprovalPending")
    Worker(rt).run_once()
    assert testnet.connector.posted == [] and _status(sfenv, reply_id)["Status"] == "ApprovalPending"
    sfenv.admin().SocialPost.update(reply_id, {"Status": "Pending"})  # the approver approves
    Worker(rt).run_once()
    assert len(testnet.connector.posted) == 1 and _status(sfenv, reply_id)["Status"] == "Sent"


def test_private_reply_goes_to_the_persona(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                           testnet: TestNetPlugin) -> None:  # fmt: skip
    inbound = _inbound(rt, tenant, sfenv, author="u7", kind="direct", visibility="private")
    assert inbound["MessageType"] == "Direct"
    _agent_reply(sfenv, inbound)
    Worker(rt).run_once()
    [posted] = testnet.connector.posted
    assert posted.visibility == "private" and posted.recipient_id == "u7"


def test_network_5xx_is_retried_then_sent(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                          testnet: TestNetPlugin) -> None:  # fmt: skip
    reply_id = _agent_reply(sfenv, _inbound(rt, tenant, sfenv))
    testnet.connector.fail_next = [RetriableError("testnet 503"), RetriableError("testnet 502")]
    _settle(rt)
    assert len(testnet.connector.posted) == 1 and _status(sfenv, reply_id)["Status"] == "Sent"


def test_salesforce_5xx_while_fetching_and_reporting(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                                     testnet: TestNetPlugin) -> None:  # fmt: skip
    reply_id = _agent_reply(sfenv, _inbound(rt, tenant, sfenv))
    sfenv.plan.configure(scripted=[503], paths=("/services/data",))
    Worker(rt).run_once()  # the poll query fails: nothing posted, looked at again later
    assert testnet.connector.posted == []
    rt.store.set_sink_connection(tenant[0], "salesforce", sfenv.config(reply_poll_seconds=0))  # poll now
    crm_replies.collect(rt)
    outbox.drain(rt, "w1")
    sfenv.plan.configure(scripted=[500, 503], paths=("/services/data/v59.0/composite",))
    crm_replies.report(rt)  # the status PATCH fails: reported again next tick
    assert _status(sfenv, reply_id)["Status"] == "Pending"
    _settle(rt)
    assert len(testnet.connector.posted) == 1 and _status(sfenv, reply_id)["Status"] == "Sent"


def test_restart_after_posting_before_outbox_update_ends_failed_with_reason(
    rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply_id = _agent_reply(sfenv, _inbound(rt, tenant, sfenv))
    connector = testnet.connector
    real_post = type(connector).post_reply

    def post_then_die(account: Any, reply: Reply) -> PostResult:
        real_post(connector, account, reply)
        raise ProcessKilled

    monkeypatch.setattr(connector, "post_reply", post_then_die)
    crm_replies.collect(rt)
    with pytest.raises(ProcessKilled):
        outbox.drain(rt, "dying-worker")
    monkeypatch.undo()
    time.sleep(0.25)  # the dead worker's lease (0.2 s in these tests) runs out
    _settle(rt)
    assert len(connector.posted) == 1  # never posted a second time
    record = _status(sfenv, reply_id)
    assert record["Status"] == "Failed" and "may have been posted" in record["StatusMessage"]


def test_restart_between_post_and_salesforce_update_ends_sent(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                                              testnet: TestNetPlugin) -> None:  # fmt: skip
    reply_id = _agent_reply(sfenv, _inbound(rt, tenant, sfenv))
    crm_replies.collect(rt)
    outbox.drain(rt, "w1")  # posted and recorded; the process dies before report()
    assert _status(sfenv, reply_id)["Status"] == "Pending"
    _settle(rt)  # a fresh worker: collects the still-pending record again, never re-posts it
    assert len(testnet.connector.posted) == 1 and _status(sfenv, reply_id)["Status"] == "Sent"


def test_reply_without_reply_to_fails_with_reason(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv) -> None:
    body = {"Name": "x", "Content": "hi", "IsOutbound": True, "Status": "Pending"}
    post_id = sfenv.admin().SocialPost.create(body)["id"]
    Worker(rt).run_once()
    record = _status(sfenv, post_id)
    assert record["Status"] == "Failed" and "ReplyTo" in record["StatusMessage"]


def test_agent_retrying_a_failed_reply_publishes_it_once(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                                          testnet: TestNetPlugin) -> None:  # fmt: skip
    from plugin.errors import FatalError

    reply_id = _agent_reply(sfenv, _inbound(rt, tenant, sfenv))
    testnet.connector.fail_next.append(FatalError("thread locked for a moment", code="locked"))
    _settle(rt)
    assert _status(sfenv, reply_id)["Status"] == "Failed" and testnet.connector.posted == []
    sfenv.admin().SocialPost.update(reply_id, {"Status": "Pending"})  # the agent presses "retry"
    _settle(rt)
    _settle(rt)
    assert len(testnet.connector.posted) == 1
    assert _status(sfenv, reply_id)["Status"] == "Sent"


def test_public_reply_with_personal_data_fails_with_reason_and_is_not_posted(
    rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin
) -> None:
    """Issue 10, finding 5: a Salesforce outbound reply with an email and a phone was published."""
    reply_id = _agent_reply(sfenv, _inbound(rt, tenant, sfenv), text="Mail jane.doe@example.com or call 555.123.4567")
    _settle(rt)
    record = _status(sfenv, reply_id)
    assert testnet.connector.posted == []
    assert record["Status"] == "Failed" and "private message" in record["StatusMessage"]
    assert "email" in record["StatusMessage"] and "phone" in record["StatusMessage"]


def test_the_outbound_posts_attachment_rides_on_the_reply(rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv,
                                                          testnet: TestNetPlugin) -> None:  # fmt: skip
    inbound = _inbound(rt, tenant, sfenv, author="u1")
    reply_id = _agent_reply(sfenv, inbound, text="Here is your label.")
    # The social data model: one attachment per SocialPost, AttachmentUrl typed by AttachmentType.
    sfenv.admin().SocialPost.update(
        reply_id, {"AttachmentUrl": "http://127.0.0.1/label.png", "AttachmentType": "IMAGE"}
    )
    _settle(rt)
    [posted] = testnet.connector.posted
    assert [(a.url, a.type) for a in posted.attachments] == [("http://127.0.0.1/label.png", "image")]
    assert _status(sfenv, reply_id)["Status"] == "Sent"


def test_an_attachment_on_a_private_address_is_refused_with_the_reason(
    rt: Runtime, tenant: tuple[int, int], sfenv: SfEnv, testnet: TestNetPlugin
) -> None:
    inbound = _inbound(rt, tenant, sfenv, author="u1")
    reply_id = _agent_reply(sfenv, inbound, text="See attached.")
    sfenv.admin().SocialPost.update(reply_id, {"AttachmentUrl": "https://10.1.2.3/x.png", "AttachmentType": "IMAGE"})
    _settle(rt)
    assert testnet.connector.posted == []
    record = _status(sfenv, reply_id)
    assert record["Status"] == "Failed" and "attachment URL" in record["StatusMessage"]
