"""Every fixture (Meta documentation shapes) parses to the normalized mention docs/ARCHITECTURE.md asks for."""

from __future__ import annotations

import json

import pytest

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from connectors.meta import sign_body
from plugin.errors import BadInput
from sandbox.meta import DEFAULT_APP_SECRET

from .conftest import fixture, post_request, secrets

FB = FacebookConnector()
MS = MessengerConnector()
IG = InstagramConnector()


def test_facebook_top_level_comment() -> None:
    [m] = FB.parse_payload(fixture("facebook", "feed_comment_add.json"))
    assert m.network == "facebook"
    assert m.external_id == "444444444_111111111"
    assert m.thread_id == "1234567890_444444444"
    assert m.parent_id == "1234567890_444444444"
    assert m.kind == "comment" and m.visibility == "public"
    assert m.author.external_id == "24242424242" and m.author.name == "Cinderella Hoover"
    assert m.text.startswith("My order never arrived")
    assert m.account == "1234567890" and m.event == "created"
    assert m.normal_form()["created_at"] == "2018-03-07T00:46:11Z"


def test_facebook_reply_edit_remove_and_visitor_post() -> None:
    [reply] = FB.parse_payload(fixture("facebook", "feed_comment_reply.json"))
    assert reply.kind == "reply" and reply.parent_id == "444444444_111111111"
    assert reply.thread_id == "1234567890_444444444"
    [edited] = FB.parse_payload(fixture("facebook", "feed_comment_edited.json"))
    assert edited.event == "edited" and "order placed Monday" in edited.text
    assert edited.external_id == "444444444_111111111"
    [removed] = FB.parse_payload(fixture("facebook", "feed_comment_remove.json"))
    assert removed.event == "deleted" and removed.external_id == "444444444_111111111"
    [post] = FB.parse_payload(fixture("facebook", "feed_visitor_post.json"))
    assert post.kind == "post" and post.external_id == post.thread_id == "1234567890_555555555"
    assert post.parent_id is None and post.author.external_id == "46464646464"


def test_facebook_skips_own_comments_and_reactions() -> None:
    assert FB.parse_payload(fixture("facebook", "feed_page_own_comment.json")) == []
    assert FB.parse_payload(fixture("facebook", "feed_reaction.json")) == []


def test_facebook_ignores_messaging_and_messenger_ignores_feed() -> None:
    assert FB.parse_payload(fixture("messenger", "message_text.json")) == []
    assert MS.parse_payload(fixture("facebook", "feed_comment_add.json")) == []


def test_messenger_messages() -> None:
    [m] = MS.parse_payload(fixture("messenger", "message_text.json"))
    assert m.network == "messenger" and m.kind == "direct" and m.visibility == "private"
    assert m.external_id == "mid.1457764197618:41d102a3e1ae206a38"
    assert m.author.external_id == "6789012345678901" and m.thread_id == "6789012345678901"
    assert m.account == "1234567890"
    assert m.normal_form()["created_at"] == "2016-03-12T06:29:57Z"
    [att] = MS.parse_payload(fixture("messenger", "message_attachment.json"))
    assert att.text == "" and att.attachments[0].type == "image"
    [rep] = MS.parse_payload(fixture("messenger", "message_reply_to.json"))
    assert rep.parent_id == "m_1458692700000"


def test_messenger_edit_is_an_event_and_echo_reaction_delivery_are_skipped() -> None:
    [edit] = MS.parse_payload(fixture("messenger", "message_edit.json"))
    assert edit.event == "edited" and edit.external_id == "mid.1457764197618:41d102a3e1ae206a38"
    assert "#123" in edit.text
    for name in ("message_echo.json", "message_reaction.json", "message_delivery.json"):
        assert MS.parse_payload(fixture("messenger", name)) == [], name


def test_instagram_comments() -> None:
    [c] = IG.parse_payload(fixture("instagram", "comment.json"))
    assert c.network == "instagram" and c.kind == "comment"
    assert c.external_id == "17865799348089039" and c.thread_id == "17887498072083520"
    assert c.parent_id == "17887498072083520"
    assert c.author.external_id == "232323232" and c.author.handle == "test_user"
    assert c.account == "17841405822304914"
    [r] = IG.parse_payload(fixture("instagram", "comment_reply.json"))
    assert r.kind == "reply" and r.parent_id == "17865799348089039"
    assert IG.parse_payload(fixture("instagram", "comment_own.json")) == []
    assert IG.parse_payload(fixture("instagram", "mentions.json")) == []


def test_instagram_messages_echo_and_unsend() -> None:
    [dm] = IG.parse_payload(fixture("instagram", "message.json"))
    assert dm.kind == "direct" and dm.visibility == "private" and dm.thread_id == "1111222233334444"
    assert IG.parse_payload(fixture("instagram", "message_echo.json")) == []
    [gone] = IG.parse_payload(fixture("instagram", "message_deleted.json"))
    assert gone.event == "deleted" and gone.external_id == dm.external_id


def test_parse_webhook_filters_by_configured_account_and_rejects_wrong_object() -> None:
    body = json.dumps(fixture("facebook", "feed_comment_add.json")).encode()
    request = post_request(body, sign_body(DEFAULT_APP_SECRET, body))
    assert len(FB.parse_webhook(request, secrets(page_id="1234567890")).mentions) == 1
    assert FB.parse_webhook(request, secrets(page_id="999")).mentions == []
    with pytest.raises(BadInput):
        IG.parse_webhook(request, secrets())
    with pytest.raises(BadInput):
        FB.parse_webhook(post_request(b"not json", None), secrets())


def test_malformed_change_is_bad_input() -> None:
    body = fixture("facebook", "feed_comment_add.json")
    del body["entry"][0]["changes"][0]["value"]["comment_id"]
    with pytest.raises(BadInput):
        FB.parse_payload(body)
