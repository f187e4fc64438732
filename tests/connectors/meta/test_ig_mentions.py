"""Instagram ``mentions`` webhooks: the brand @-tagged in someone else's caption or comment, looked up
in Graph (mentioned_comment / mentioned_media) against the Meta fake, over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.instagram import InstagramConnector
from connectors.meta import sign_body
from plugin.connector import InboundRequest, webhook_secrets
from plugin.errors import BadInput
from plugin.models import Kind
from sandbox.meta import DEFAULT_APP_SECRET, DEFAULT_IG_ID

from .conftest import Meta, fixture

WHEN = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _signed(body: dict[str, object]) -> InboundRequest:
    raw = json.dumps(body).encode()
    return InboundRequest(
        method="POST",
        path="/webhooks/instagram/x",
        headers={"X-Hub-Signature-256": sign_body(DEFAULT_APP_SECRET, raw)},
        body=raw,
    )


def _deliver(meta: Meta) -> list[InboundRequest]:
    return [_signed(body) for body in meta.state.pending_webhooks(clear=True)]


def test_comment_and_caption_mentions_are_looked_up_and_become_mentions(meta: Meta) -> None:
    connector, account = InstagramConnector(), meta.account("instagram")
    media = meta.state.inject_ig_caption_mention(DEFAULT_IG_ID, "mug_fan", "@sandbox.brand the lid cracked", WHEN)
    comment = meta.state.inject_ig_comment_mention(DEFAULT_IG_ID, "17900000000000099", "@sandbox.brand help?", WHEN)
    found = []
    for request in _deliver(meta):
        assert connector.verify_request(request, webhook_secrets(account))
        found.extend(connector.receive_webhook(request, account).mentions)
    caption, reply = found
    assert (caption.external_id, caption.kind, caption.thread_id) == (media, Kind.POST, media)
    assert caption.text == "@sandbox.brand the lid cracked" and caption.author.handle == "mug_fan"
    assert caption.author.external_id == f"unknown:{media}"  # Graph names no author id: never the handle
    assert caption.attachments[0].type == "image" and caption.url == f"https://www.instagram.com/p/{media}/"
    assert (reply.external_id, reply.kind) == (comment, Kind.COMMENT)
    assert reply.thread_id == reply.parent_id == "17900000000000099" and reply.text == "@sandbox.brand help?"
    assert reply.account == DEFAULT_IG_ID and reply.created_at == WHEN


def test_a_mention_graph_no_longer_serves_is_skipped_not_fatal(meta: Meta) -> None:
    connector, account = InstagramConnector(), meta.account("instagram")
    body = {
        "object": "instagram",
        "entry": [{"id": DEFAULT_IG_ID, "time": 1, "changes": [{"field": "mentions", "value": {"media_id": "404"}}]}],
    }
    assert connector.receive_webhook(_signed(body), account).mentions == []


def test_parse_explains_a_mentions_change_and_reads_the_lookup_answers() -> None:
    ig = InstagramConnector()
    result = ig.explain_payload(fixture("instagram", "mentions.json"))
    assert result.mentions == [] and "looks it up in Graph" in result.skipped[0].reason
    [comment] = ig.parse_payload(fixture("instagram", "mentioned_comment.json"))
    assert comment.external_id == "17873440459141021" and comment.text == "@bluebottle challenge?"
    assert comment.account == "17841405309211844" and comment.normal_form()["created_at"] == "2017-05-03T16:09:50Z"
    [media] = ig.parse_payload(fixture("instagram", "mentioned_media.json"))
    assert media.kind == Kind.POST and media.author.handle == "mug_fan"
    assert media.url == "https://www.instagram.com/p/BX8ILx2HCqq/"
    with pytest.raises(BadInput):
        ig.parse_payload({"id": "1", "mentioned_comment": {"text": "no id"}})
