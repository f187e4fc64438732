"""Replies with an image on Meta's networks, as each API allows: a Facebook photo comment by
``attachment_url``; Messenger/Instagram conversations as the text then an image message by URL (at most
once: a failed image after the text is OutcomeUnknown, never a second text); refusals that say why."""

from __future__ import annotations

import pytest

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from plugin.errors import FatalError, OutcomeUnknown
from plugin.models import Attachment, Visibility
from sandbox.meta import DEFAULT_IG_ID, DEFAULT_PAGE_ID

from .conftest import Meta
from .test_replies import reply

PHOTO = [Attachment(url="https://files.brand.example/label.png", type="image")]


def test_facebook_comment_carries_the_photo(meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, "2001", "where is my order?")
    comment = meta.state.inject_comment(post, "2002", "me too")
    FacebookConnector().post_reply(
        meta.account("facebook"),
        reply("facebook", "This label", in_reply_to=comment, thread_id=post, attachments=PHOTO),
    )
    [posted] = meta.state.posted_by_page(DEFAULT_PAGE_ID)
    assert posted["attachment_url"] == PHOTO[0].url and posted["text"] == "This label"


def test_messenger_sends_the_text_then_the_image(meta: Meta) -> None:
    meta.state.inject_message(DEFAULT_PAGE_ID, "8001", "help")
    result = MessengerConnector().send_private(
        meta.account("messenger"), reply("messenger", "Here it is", recipient_id="8001", attachments=PHOTO)
    )
    text, image = meta.state.posted_by_page()
    assert text["text"] == "Here it is" and text["attachment"] is None
    assert image["attachment"] == {"type": "image", "payload": {"url": PHOTO[0].url}}
    assert result.parts == [text["id"], image["id"]] and result.external_id == text["id"]


def test_messenger_image_failure_after_the_text_is_never_resent(meta: Meta) -> None:
    meta.state.inject_message(DEFAULT_PAGE_ID, "8002", "help")
    account = meta.account("messenger")
    answer = reply("messenger", "Label below", recipient_id="8002", attachments=PHOTO)
    meta.plan.configure(methods=("POST",), scripted=["pass", 503])
    with pytest.raises(OutcomeUnknown, match="after part 1 of 2"):
        MessengerConnector().send_private(account, answer)
    [text] = meta.state.posted_by_page()
    assert text["text"] == "Label below"


def test_instagram_comment_with_an_image_is_refused_with_the_reason(meta: Meta) -> None:
    media = meta.state.inject_ig_media(DEFAULT_IG_ID, "drop")
    comment = meta.state.inject_ig_comment(media, "9001", "price?")
    with pytest.raises(FatalError, match="text only") as refused:
        InstagramConnector().post_reply(
            meta.account("instagram"),
            reply("instagram", "See", in_reply_to=comment, thread_id=media, attachments=PHOTO),
        )
    assert refused.value.code == "unsupported" and meta.state.posted_by_page() == []


def test_a_private_reply_to_a_comment_cannot_carry_an_image(meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, DEFAULT_PAGE_ID, "launch")
    comment = meta.state.inject_comment(post, "2003", "broken")
    with pytest.raises(FatalError, match="single message") as refused:
        FacebookConnector().send_private(
            meta.account("facebook"),
            reply("facebook", "DM", in_reply_to=comment, thread_id=post, visibility=Visibility.PRIVATE,
                  attachments=PHOTO),
        )  # fmt: skip
    assert refused.value.code == "unsupported" and meta.state.posted_by_page() == []


def test_a_non_http_attachment_url_is_refused(meta: Meta) -> None:
    meta.state.inject_message(DEFAULT_PAGE_ID, "8003", "help")
    with pytest.raises(FatalError, match="not an http"):
        MessengerConnector().send_private(
            meta.account("messenger"),
            reply("messenger", "x", recipient_id="8003", attachments=[Attachment(url="ftp://x/y.png")]),
        )
    assert meta.state.posted_by_page() == []
