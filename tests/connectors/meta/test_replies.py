"""Public replies, private replies (once, 7 days) and the Messenger/Instagram messaging windows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from connectors.meta import now_utc
from plugin.errors import FatalError
from plugin.models import Reply, Visibility
from sandbox.meta import DEFAULT_IG_ID, DEFAULT_PAGE_ID

from .conftest import Meta


def reply(network: str, text: str, **fields: Any) -> Reply:
    return Reply(network=network, account=DEFAULT_PAGE_ID, text=text, idempotency_key=f"k-{text}", **fields)


def test_facebook_comment_reply(meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, "2001", "where is my order?")
    comment = meta.state.inject_comment(post, "2002", "me too")
    result = FacebookConnector().post_reply(
        meta.account("facebook"), reply("facebook", "We're on it", in_reply_to=comment, thread_id=post)
    )
    [posted] = meta.state.posted_by_page(DEFAULT_PAGE_ID)
    assert posted["kind"] == "comment" and posted["id"] == result.external_id
    assert posted["parent_id"] == comment and posted["text"] == "We're on it"


def test_facebook_private_reply_once_only(meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, DEFAULT_PAGE_ID, "launch")
    comment = meta.state.inject_comment(post, "2003", "my account number is ...")
    account = meta.account("facebook")
    private = reply(
        "facebook", "Let's take this to DM", in_reply_to=comment, thread_id=post, visibility=Visibility.PRIVATE
    )
    result = FacebookConnector().send_private(account, private)
    sent = meta.state.posted_by_page()[-1]
    assert sent["recipient"] == {"comment_id": comment} and sent["messaging_type"] == "RESPONSE"
    assert sent["id"] == result.external_id
    with pytest.raises(FatalError) as info:
        FacebookConnector().send_private(account, private)
    assert info.value.code == "already_replied"


def test_facebook_private_reply_window_closed_after_7_days(meta: Meta) -> None:
    post = meta.state.inject_post(DEFAULT_PAGE_ID, DEFAULT_PAGE_ID, "old", now_utc() - timedelta(days=10))
    comment = meta.state.inject_comment(post, "2004", "old comment", created_at=now_utc() - timedelta(days=8))
    with pytest.raises(FatalError) as info:
        FacebookConnector().send_private(
            meta.account("facebook"), reply("facebook", "hi", in_reply_to=comment, thread_id=post)
        )
    assert info.value.code == "window_closed"
    assert meta.state.posted_by_page() == []


def test_facebook_private_without_comment_is_refused(meta: Meta) -> None:
    with pytest.raises(FatalError) as info:
        FacebookConnector().send_private(meta.account("facebook"), reply("facebook", "hi", recipient_id="2001"))
    assert info.value.code == "unsupported"


@pytest.mark.parametrize(
    ("age", "expected"),
    [(timedelta(hours=2), ("RESPONSE", None)), (timedelta(days=3), ("MESSAGE_TAG", "HUMAN_AGENT"))],
)
def test_messenger_window_picks_messaging_type(meta: Meta, age: timedelta, expected: tuple) -> None:
    mid = meta.state.inject_message(DEFAULT_PAGE_ID, "8001", "help", now_utc() - age)
    result = MessengerConnector().send_private(
        meta.account("messenger"), reply("messenger", "Hi!", in_reply_to=mid, thread_id="8001", recipient_id="8001")
    )
    sent = meta.state.posted_by_page()[-1]
    assert (sent["messaging_type"], sent["tag"]) == expected
    assert sent["recipient"] == {"id": "8001"} and sent["id"] == result.external_id


def test_messenger_closed_window_tells_the_agent(meta: Meta) -> None:
    meta.state.inject_message(DEFAULT_PAGE_ID, "8002", "help", now_utc() - timedelta(days=8))
    with pytest.raises(FatalError) as info:
        MessengerConnector().post_reply(meta.account("messenger"), reply("messenger", "late", thread_id="8002"))
    assert info.value.code == "window_closed"
    meta.state.inject_message(DEFAULT_PAGE_ID, "8003", "help", now_utc() - timedelta(days=2))
    with pytest.raises(FatalError) as info:  # without the Human Agent permission 24 h is the limit
        MessengerConnector().send_private(
            meta.account("messenger", human_agent=False), reply("messenger", "late", recipient_id="8003")
        )
    assert info.value.code == "window_closed"
    assert meta.state.posted_by_page() == []


def test_meta_outside_window_error_maps_to_window_closed(meta: Meta) -> None:
    from sandbox.meta.exceptions import outside_window

    meta.state.inject_message(DEFAULT_PAGE_ID, "8004", "help")
    meta.state.fail_next(outside_window())
    with pytest.raises(FatalError) as info:
        MessengerConnector().send_private(meta.account("messenger"), reply("messenger", "x", recipient_id="8004"))
    assert info.value.code == "window_closed"


def test_instagram_comment_reply_and_media_comment(meta: Meta) -> None:
    media = meta.state.inject_ig_media(DEFAULT_IG_ID, "drop")
    comment = meta.state.inject_ig_comment(media, "9001", "price?")
    ig = InstagramConnector()
    account = meta.account("instagram")
    result = ig.post_reply(account, reply("instagram", "DM us", in_reply_to=comment, thread_id=media))
    assert meta.state.posted_by_page()[-1] == {
        **meta.state.posted_by_page()[-1],
        "kind": "ig_reply",
        "in_reply_to": comment,
        "id": result.external_id,
    }
    ig.post_reply(account, reply("instagram", "Thanks all", in_reply_to=media, thread_id=media))
    assert meta.state.posted_by_page()[-1]["kind"] == "ig_comment"


def test_instagram_private_reply_and_dm(meta: Meta) -> None:
    media = meta.state.inject_ig_media(DEFAULT_IG_ID, "drop")
    comment = meta.state.inject_ig_comment(media, "9002", "my order #55 is late")
    ig = InstagramConnector()
    account = meta.account("instagram")
    ig.send_private(
        account, reply("instagram", "Sent you a DM", in_reply_to=comment, thread_id=media, recipient_id="9002")
    )
    assert meta.state.posted_by_page()[-1]["recipient"] == {"comment_id": comment}
    with pytest.raises(FatalError) as info:
        ig.send_private(account, reply("instagram", "again", in_reply_to=comment, thread_id=media))
    assert info.value.code == "already_replied"
    mid = meta.state.inject_message(DEFAULT_PAGE_ID, "9003", "hi", platform="instagram")
    ig.send_private(account, reply("instagram", "hello", in_reply_to=mid, thread_id="9003", recipient_id="9003"))
    sent = meta.state.posted_by_page()[-1]
    assert sent["platform"] == "instagram" and sent["messaging_type"] == "RESPONSE"
    old = meta.state.inject_ig_comment(media, "9004", "old", created_at=now_utc() - timedelta(days=9))
    with pytest.raises(FatalError) as info:
        ig.send_private(account, reply("instagram", "late", in_reply_to=old, thread_id=media))
    assert info.value.code == "window_closed"
