"""pydantic models of the X payload shapes the connector reads.

- API v2 Post responses (``GET /2/users/:id/mentions``, ``GET /2/tweets``): ``data`` + ``includes``;
- API v2 DM event responses (``GET /2/dm_events``);
- Account Activity API webhook bodies, which carry v1.1 Tweet and DM event objects.

Only the fields we read are declared; X sends many more, which are ignored. Ids are strings in v2 and
``id_str`` in v1.1, but some older objects carry numbers: both are accepted as text. A value of the wrong
type is refused with its path (``data[0].referenced_tweets[1].id``) and becomes ``BadInput``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from connectors.shapes import Id, Text, error_path
from plugin.errors import BadInput


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# ---------------------------------------------------------------- API v2


class User(_Shape):
    id: Text = None
    username: Text = None
    name: Text = None
    profile_image_url: Text = None


class Media(_Shape):
    media_key: Text = None
    url: Text = None
    preview_image_url: Text = None
    type: Text = None


class Includes(_Shape):
    users: list[User] | None = None
    media: list[Media] | None = None


class ReferencedTweet(_Shape):
    type: Id
    id: Id


class MediaKeys(_Shape):
    media_keys: list[StrictStr] | None = None


class NoteTweet(_Shape):
    text: Text = None


class Tweet(_Shape):
    id: Id
    author_id: Text = None
    text: Text = None
    note_tweet: NoteTweet | None = None  # long posts carry the full text here
    attachments: MediaKeys | None = None
    referenced_tweets: list[ReferencedTweet] | None = None
    conversation_id: Text = None
    created_at: Text = None
    lang: Text = None


class PostsResponse(_Shape):
    data: Tweet | list[Tweet] | None = None  # a list, or one object from GET /2/tweets/:id
    includes: Includes | None = None


class DMEvent(_Shape):
    id: Text = None  # required for MessageCreate, checked by the parser (other events are skipped)
    event_type: Text = None
    sender_id: Text = None
    text: Text = None
    created_at: Text = None
    dm_conversation_id: Text = None
    attachments: MediaKeys | None = None


class DMEventsResponse(_Shape):
    data: list[DMEvent] | None = None
    includes: Includes | None = None


# ---------------------------------------------------------------- Account Activity (v1.1 objects)


class UserV1(_Shape):
    id_str: Text = None
    id: Text = None
    screen_name: Text = None
    name: Text = None
    profile_image_url_https: Text = None


class MediaV1(_Shape):
    media_url_https: Text = None
    type: Text = None


class EntitiesV1(_Shape):
    media: list[MediaV1] | None = None


class ExtendedTweetV1(_Shape):
    full_text: Text = None


class RetweetedV1(_Shape):
    id_str: Text = None


class TweetV1(_Shape):
    id_str: Text = None
    id: Text = None
    user: UserV1
    full_text: Text = None
    text: Text = None
    extended_tweet: ExtendedTweetV1 | None = None  # truncated long posts: the full text is here
    in_reply_to_status_id_str: Text = None
    retweeted_status: RetweetedV1 | None = None
    is_quote_status: Any = None
    quoted_status_id_str: Text = None
    extended_entities: EntitiesV1 | None = None
    entities: EntitiesV1 | None = None
    created_at: Text = None
    lang: Text = None


class TargetV1(_Shape):
    recipient_id: Text = None


class DMAttachmentV1(_Shape):
    media: MediaV1 | None = None


class MessageDataV1(_Shape):
    text: Text = None
    attachment: DMAttachmentV1 | None = None


class MessageCreateV1(_Shape):
    sender_id: Id
    target: TargetV1 | None = None
    message_data: MessageDataV1 | None = None


class DMEventV1(_Shape):
    type: Text = None
    id: Text = None
    created_timestamp: Text = None
    message_create: MessageCreateV1 | None = None


class DeletedStatusV1(_Shape):
    id: Id
    user_id: Id


class TweetDeleteEventV1(_Shape):
    """Account Activity ``tweet_delete_events`` item: ``{"status": {"id", "user_id"}, "timestamp_ms"}``."""

    status: DeletedStatusV1
    timestamp_ms: Text = None


class AccountActivity(_Shape):
    for_user_id: Id
    # Events stay raw here and are validated one by one (parse.account_activity): one malformed event
    # must not reject the others in the same body.
    tweet_create_events: list[Any] | None = None
    tweet_delete_events: list[Any] | None = None
    direct_message_events: list[Any] | None = None
    users: dict[str, Any] | None = None


Model = TypeVar("Model", bound=BaseModel)


def parse_model(model: type[Model], value: Any, where: str) -> Model:
    """``model`` validated from ``value``, or BadInput naming the first path at fault."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInput(f"{error_path(where, tuple(first['loc']))}: {first['msg']}") from exc
