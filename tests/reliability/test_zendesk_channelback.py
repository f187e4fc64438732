"""What Zendesk's channelback call gets from ``plugin.zendesk.views``: which post an agent's reply answers
(a customer's mention, horseshoe's note about one, our own earlier reply), the reply as posted, the
agent's files, and the answer for each outcome of the post. Written for the survivors of ``python -m
bench mutants --module zendesk.views`` (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from plugin.models import Mention, Visibility
from plugin.pipeline import inbound as pipeline
from plugin.pipeline import notices
from plugin.runtime import Runtime
from plugin.store.deliveries import DeliveryUpdate
from plugin.store.statuses import DeliveryStatus
from plugin.web import create_app
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata
from tests.support.netplugin import FatalError, RetriableError, TestNetPlugin, make_mention

PUBLIC_FILE = "https://93.184.216.34/photo.png"  # a public address: no DNS needed to allow it


def _setup(rt: Runtime, tenant: tuple[int, int], *mentions: Mention) -> tuple[FlaskClient, str]:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", {"subdomain": "acme"})
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, list(mentions))
    metadata = issue_metadata(rt.box, InstanceMetadata(tenant="acme", account_ids=(account_id,), name="n"))
    return create_app(rt).test_client(), metadata


def _channelback(client: FlaskClient, metadata: str, parent: str, key: str, **extra: Any) -> Any:
    form = {"metadata": metadata, "message": "Thanks, we are on it", "parent_id": parent,
            "request_unique_identifier": key, **extra}  # fmt: skip
    return client.post("/zendesk/channelback", data=form)


def test_a_reply_answers_the_mention_as_the_brand_account_to_its_author(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1", author="cust-7", thread="conv-1"))
    answer = _channelback(client, metadata, "testnet:1", "k-1")
    assert answer.status_code == 200
    assert answer.get_json() == {"external_id": "testnet:r1", "allow_channelback": True}
    [posted] = testnet.connector.posted
    assert (posted.account, posted.in_reply_to, posted.thread_id, posted.recipient_id, posted.visibility) == (
        "brand", "1", "conv-1", "cust-7", Visibility.PUBLIC,
    )  # fmt: skip
    assert posted.attachments == []
    # Zendesk's recipient_id, when given, names who the reply goes to.
    again = _channelback(client, metadata, "testnet:1", "k-2", recipient_id="testnet:cust-9")
    assert again.status_code == 200
    assert testnet.connector.posted[1].recipient_id == "cust-9"
    bad = _channelback(client, metadata, "testnet:1", "k-3", recipient_id="no-namespace")
    assert bad.status_code == 400
    assert len(testnet.connector.posted) == 2


def test_a_private_conversation_is_answered_privately_also_after_our_own_reply(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    dm = make_mention("9", author="cust-7", thread="dm-1", kind="direct", visibility="private")
    client, metadata = _setup(rt, tenant, dm)
    assert _channelback(client, metadata, "testnet:9", "k-1").status_code == 200
    # Zendesk names the ticket's latest resource: our own reply r1. The answer stays in that conversation.
    follow = _channelback(client, metadata, "testnet:r1", "k-2")
    assert follow.status_code == 200 and follow.get_json()["external_id"] == "testnet:r2"
    first, second = testnet.connector.posted
    assert first.visibility == second.visibility == Visibility.PRIVATE
    assert (second.in_reply_to, second.thread_id, second.recipient_id) == ("r1", "dm-1", "cust-7")


def test_a_public_conversation_stays_public_after_our_own_reply(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1", author="cust-7"))
    assert _channelback(client, metadata, "testnet:1", "k-1").status_code == 200
    assert _channelback(client, metadata, "testnet:r1", "k-2").status_code == 200
    assert [p.visibility for p in testnet.connector.posted] == [Visibility.PUBLIC, Visibility.PUBLIC]


def test_a_reply_to_horseshoes_note_answers_the_post_the_note_is_about(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    original = make_mention("5", author="cust-7")
    note = notices.deletion_notice(make_mention("6", author="cust-7"), datetime(2026, 11, 2, tzinfo=UTC))
    note = note.model_copy(update={"extra": {**note.extra, "about": "5"}})
    client, metadata = _setup(rt, tenant, original, note)
    answer = _channelback(client, metadata, f"testnet:{note.external_id}", "k-1")
    assert answer.status_code == 200
    [posted] = testnet.connector.posted
    assert posted.in_reply_to == "5"


def test_nothing_known_to_answer_is_404_and_a_bad_parent_400(rt: Runtime, tenant: tuple[int, int]) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1"))
    unknown = _channelback(client, metadata, "testnet:404404", "k-1")
    assert unknown.status_code == 404
    assert "testnet:404404" in unknown.get_data(as_text=True)
    assert _channelback(client, metadata, "no-namespace", "k-2").status_code == 400


def test_metadata_for_other_accounts_may_not_answer_this_one(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    client, _ = _setup(rt, tenant, make_mention("1"))
    other = issue_metadata(rt.box, InstanceMetadata(tenant="acme", account_ids=(tenant[1] + 1000,), name="n"))
    assert _channelback(client, other, "testnet:1", "k-1").status_code == 403
    assert testnet.connector.posted == []


def test_the_agents_files_are_checked_before_anything_is_posted(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin
) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1"))
    too_many = _channelback(client, metadata, "testnet:1", "k-1", **{"file_urls[]": [PUBLIC_FILE] * 11})
    assert too_many.status_code == 400 and "at most 10" in too_many.get_data(as_text=True)
    too_long = _channelback(client, metadata, "testnet:1", "k-2", **{"file_urls[]": [PUBLIC_FILE + "?" + "a" * 500]})
    assert too_long.status_code == 400 and "511" in too_long.get_data(as_text=True)
    inside = _channelback(client, metadata, "testnet:1", "k-3", **{"file_urls[]": ["https://10.1.2.3/secret"]})
    assert inside.status_code == 400 and "file_urls[] entry" in inside.get_data(as_text=True)
    assert testnet.connector.posted == []
    ok = _channelback(client, metadata, "testnet:1", "k-4", **{"file_urls[]": [PUBLIC_FILE, "", PUBLIC_FILE + "?2"]})
    assert ok.status_code == 200
    [posted] = testnet.connector.posted
    assert [(a.url, a.type) for a in posted.attachments] == [(PUBLIC_FILE, "file"), (PUBLIC_FILE + "?2", "file")]
    exactly = _channelback(
        client, metadata, "testnet:1", "k-5", **{"file_urls[]": [PUBLIC_FILE + "?" + "a" * (510 - len(PUBLIC_FILE))]}
    )
    assert exactly.status_code == 200, "a URL of 511 characters is allowed"


def test_each_outcome_of_the_post_has_its_answer(rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1"))
    testnet.connector.fail_next = [RetriableError("network busy", retry_after=7)]
    busy = _channelback(client, metadata, "testnet:1", "k-1")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "7"
    assert busy.get_json()["error"] == "temporarily_unavailable"
    testnet.connector.fail_next = [RetriableError("network busy")]
    unhinted = _channelback(client, metadata, "testnet:1", "k-2")
    assert unhinted.status_code == 503 and unhinted.headers["Retry-After"] == "30"
    testnet.connector.fail_next = [FatalError("the post is gone")]
    refused = _channelback(client, metadata, "testnet:1", "k-3")
    assert refused.status_code == 422
    assert refused.get_json()["error"] == "failed" and "the post is gone" in refused.get_json()["reason"]
    # Zendesk retries the same request while the first is still being posted: told so, posted once.
    inner: list[Any] = []
    testnet.connector.before_post = lambda: inner.append(_channelback(client, metadata, "testnet:1", "k-4"))
    first = _channelback(client, metadata, "testnet:1", "k-4")
    testnet.connector.before_post = None
    assert first.status_code == 200
    [during] = inner
    assert during.status_code == 409
    assert during.get_json() == {"error": "in_progress", "reason": "this reply is being posted right now"}
    assert len(testnet.connector.posted) == 1


@pytest.mark.parametrize(
    ("field", "limit"),
    [("metadata", 5000), ("message", 65535), ("parent_id", 511), ("request_unique_identifier", 255),
     ("recipient_id", 255)],
)  # fmt: skip
def test_each_field_over_zendesks_limit_is_refused_by_name(
    rt: Runtime, tenant: tuple[int, int], testnet: TestNetPlugin, field: str, limit: int
) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1"))
    form = {"metadata": metadata, "message": "hi", "parent_id": "testnet:1", "request_unique_identifier": "k-1"}
    prefix = {"parent_id": "testnet:", "recipient_id": "testnet:"}.get(field, "")
    form[field] = prefix + "a" * (limit + 1 - len(prefix))
    answer = client.post("/zendesk/channelback", data=form)
    assert answer.status_code == 400 and field in answer.get_data(as_text=True)
    assert testnet.connector.posted == []


def test_pull_fields_over_their_limit_are_refused_by_name(rt: Runtime, tenant: tuple[int, int]) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1"))
    for form in ({"metadata": "a" * 5001}, {"metadata": metadata, "state": "a" * 5001}):
        answer = client.post("/zendesk/pull", data=form)
        assert answer.status_code == 400, form.keys()
        assert ("state" if "state" in form else "metadata") in answer.get_data(as_text=True)


def _pull_ids(client: FlaskClient, metadata: str) -> list[dict[str, Any]]:
    answer = client.post("/zendesk/pull", data={"metadata": metadata})
    assert answer.status_code == 200
    resources: list[dict[str, Any]] = answer.get_json()["external_resources"]
    return resources


def test_a_pulled_reply_names_its_parent_once_zendesk_has_it(rt: Runtime, tenant: tuple[int, int]) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1", author="cust-7"))
    pipeline.route(rt, "w")
    [parent] = rt.store.deliveries.claim_due("w", 10, 60, sink="zendesk")
    rt.store.deliveries.finish("w", [DeliveryUpdate(parent, DeliveryStatus.DELIVERED, 1, remote_id="testnet:1")])
    account = rt.store.account(tenant[1])[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention("2", author="cust-8", parent="1", thread="1")])
    pipeline.route(rt, "w")
    [reply] = _pull_ids(client, metadata)
    assert (reply["external_id"], reply.get("parent_id"), reply.get("thread_id")) == ("testnet:2", "testnet:1", None)


@pytest.mark.settings(pull_page_size=500)
def test_a_pull_page_holds_at_most_200_resources(rt: Runtime, tenant: tuple[int, int]) -> None:
    mentions = [make_mention(str(n), author=f"a{n}") for n in range(1, 202)]
    client, metadata = _setup(rt, tenant, *mentions)
    pipeline.route(rt, "w", limit=500)
    assert len(_pull_ids(client, metadata)) == 200


def test_a_pulled_resource_carries_triages_labels_as_tags(rt: Runtime, tenant: tuple[int, int]) -> None:
    client, metadata = _setup(rt, tenant, make_mention("1", text="URGENT my order is broken, refund now! :("))
    pipeline.route(rt, "w")
    [resource] = _pull_ids(client, metadata)
    tags = next(f["value"] for f in resource["fields"] if f["id"] == "tags")
    assert {"priority_high", "intent_complaint", "sentiment_negative"} <= set(tags)
