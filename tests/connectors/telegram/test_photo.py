"""Telegram: a reply with an image goes out as sendPhoto (multipart upload, the text as caption), in
the thread of the customer's message; limits are named when refused."""

from __future__ import annotations

import pytest

from plugin.errors import FatalError
from plugin.models import Attachment
from tests.support.media import PNG, ImageHost

from .test_live import GROUP, reply, seed


def test_a_reply_with_an_image_is_a_captioned_photo_in_the_thread(sandbox, account, connector, image_host: ImageHost):
    app, _ = sandbox
    seed(app)
    app.state.user_writes_group(GROUP, 1002, "@horseshoe_bot which label?")
    [m] = connector.poll(account, None).mentions
    photo = [Attachment(url=image_host("photo.png"))]
    result = connector.post_reply(account, reply("This one", m.external_id, "ph1", attachments=photo))
    [sent] = app.state.sent
    assert sent["caption"] == "This one" and "text" not in sent
    assert sent["reply_to_message"]["message_id"] == m.extra["message_id"]
    assert app.state.photos[sent["photo"][0]["file_id"]] == PNG
    assert result.external_id == f"{GROUP}:{sent['message_id']}"


def test_a_caption_over_1024_is_refused_with_the_limit(sandbox, account, connector, image_host: ImageHost):
    app, _ = sandbox
    seed(app)
    app.state.user_writes_private(1001, "hi")
    photo = [Attachment(url=image_host("photo.png"))]
    with pytest.raises(FatalError, match="1024") as refused:
        connector.post_reply(account, reply("x" * 1100, "1001:1", "ph2", attachments=photo))
    assert refused.value.code == "too_long" and app.state.sent == []
