"""VK: a reply with an image runs the documented upload flow (upload server, upload, save) before the one
idempotent comment / message, which names the photo in ``attachments``."""

from __future__ import annotations

from plugin.models import Attachment
from tests.support.media import PNG, ImageHost

from .conftest import GROUP_ID
from .test_live import reply, seed

OWNER = -GROUP_ID


def test_a_comment_reply_carries_the_uploaded_photo(sandbox, account, connector, clock, image_host: ImageHost):
    app, _ = sandbox
    post_id = seed(app)
    app.state.user_comments(501, post_id, "Which entrance?")
    [m] = connector.parse_payload(app.state.events[-1], str(GROUP_ID))
    photo = [Attachment(url=image_host("photo.png"))]
    connector.post_reply(account, reply("This one", "vk-ph1", in_reply_to=m.external_id, thread_id=m.thread_id,
                                        attachments=photo))  # fmt: skip
    [sent] = app.state.sent_comments
    [name] = sent["attachments"]
    assert name.startswith(f"photo{OWNER}_") and app.state.photos[name] == {"bytes": PNG, "kind": "wall"}


def test_a_message_reply_carries_the_uploaded_photo(sandbox, account, connector, image_host: ImageHost):
    app, _ = sandbox
    seed(app)
    app.state.user_messages(501, "Send me the label")
    [m] = connector.parse_payload(app.state.events[-1], str(GROUP_ID))
    photo = [Attachment(url=image_host("photo.png"))]
    connector.post_reply(account, reply("Here", "vk-ph2", in_reply_to=m.external_id, thread_id=m.thread_id,
                                        attachments=photo))  # fmt: skip
    [sent] = app.state.sent_messages
    [name] = sent["attachments"]
    assert app.state.photos[name] == {"bytes": PNG, "kind": "messages"}
