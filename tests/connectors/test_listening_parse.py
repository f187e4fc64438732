"""``horseshoe parse`` reads what listening consumes: a VK ``newsfeed.search`` answer and an Instagram
hashtag's ``recent_media`` answer (in horseshoe's envelope naming the hashtag), as their docs show them."""

from __future__ import annotations

import pytest

from connectors.instagram import InstagramConnector
from connectors.meta.hashtags import HASHTAG_OF, HASHTAG_THREAD
from connectors.vk import VKConnector
from plugin.errors import BadInput

NEWSFEED_SEARCH = {  # dev.vk.com/ru/method/newsfeed.search (v5.199), two posts
    "items": [
        {"id": 12, "owner_id": 1001, "from_id": 1001, "date": 1717000000, "post_type": "post",
         "text": "acme still owes me a refund"},
        {"id": 7, "owner_id": -229000001, "from_id": -229000001, "date": 1716990000, "post_type": "post",
         "text": "acme: new opening hours"},
    ],
    "count": 2,
    "total_count": 2,
}  # fmt: skip
RECENT_MEDIA = {  # Instagram Graph API, IG Hashtag > recent_media
    HASHTAG_OF: "acmehelp",
    "data": [
        {"id": "17900000000000001", "caption": "#acmehelp my order never came", "media_type": "IMAGE",
         "media_url": "https://scontent.cdninstagram.com/v/t51/abc.jpg", "permalink": "https://www.instagram.com/p/Cx1/",
         "timestamp": "2024-05-29T10:00:00+0000"},
    ],
}  # fmt: skip


def test_vk_newsfeed_search_answer() -> None:
    result = VKConnector().explain_payload(NEWSFEED_SEARCH, "229000001")
    [mention] = result.mentions
    assert mention.external_id == "wall1001_12" and mention.thread_id == "wall1001_12"  # never a message id
    assert mention.url == "https://vk.com/wall1001_12" and mention.author.external_id == "1001"
    [skipped] = result.skipped
    assert "community's own" in skipped.reason


def test_instagram_recent_media_answer() -> None:
    [mention] = InstagramConnector().explain_payload(RECENT_MEDIA, "17841400000000001").mentions
    assert mention.external_id == "17900000000000001" and mention.thread_id == HASHTAG_THREAD + mention.external_id
    assert mention.author.external_id == "media:17900000000000001"  # Meta does not say who posted it
    assert mention.attachments[0].url.endswith("abc.jpg") and mention.extra["hashtag"] == "acmehelp"
    with pytest.raises(BadInput, match=HASHTAG_OF):
        InstagramConnector().explain_payload({"data": RECENT_MEDIA["data"]}, "17841400000000001")
