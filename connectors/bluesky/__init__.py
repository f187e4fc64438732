"""Bluesky connector: mentions, replies and quotes in by polling notifications; replies out as posts.

Everything goes through the atproto SDK's ``Client`` (XRPC over httpx). Bluesky has no webhooks for an
account's notifications, so this connector is poll-only (``verify_request`` is always False).

Documented behaviour it relies on (atproto lexicons, docs.bsky.app):

* ``com.atproto.server.createSession`` with the handle/DID and an app password gives an access and a
  refresh JWT. Sessions are kept per account and reused; the SDK refreshes ahead of ``exp`` and this
  connector refreshes once more when the server answers ``ExpiredToken`` / ``InvalidToken`` / 401, then
  logs in again, then gives up with ``AuthError``.
* ``app.bsky.notification.listNotifications`` returns newest first and its ``cursor`` walks into the
  past. The poll cursor therefore stores a high-water mark (newest ``indexedAt`` handed to the host,
  with the URIs sharing it) and, during a multi-page catch-up, the SDK cursor of the next older page and
  the newest item of that catch-up. Each page is handed over before the mark moves, so a crash at any
  point loses nothing; replaying an unsaved page only repeats what the inbox already de-duplicates.
* ``com.atproto.repo.createRecord`` of ``app.bsky.feed.post`` with ``reply.root`` / ``reply.parent``
  strong refs ``{uri, cid}``, ``createdAt``, text ≤ 300 graphemes and a mention facet whose
  ``byteStart``/``byteEnd`` are UTF-8 byte offsets.
* XRPC errors are ``{"error", "message"}``; rate limits come as ``ratelimit-limit/-remaining/-reset/
  -policy`` headers and 429 (the SDK's ``RateLimitExceededError`` exposes them).

ATProto has no idempotency key and the PDS refuses caller-chosen record keys for posts, so a reply is
made idempotent by looking at the brand's latest posts first (``com.atproto.repo.listRecords``): a post
with the same parent and text is the earlier attempt and is returned instead of posting twice.

Credentials: ``identifier`` (handle or DID), ``app_password``. ``AccountContext.api_base``: the PDS
(default ``https://bsky.social``). Settings: ``page_size`` (≤ 100, default 50), ``max_walk_pages``
(default 20), ``chat_enabled`` (default False: ``send_private`` raises ``FatalError(code="unsupported")``),
``dedupe_scan`` (default 25), ``langs`` (default ``["en"]``), ``timeout`` (seconds, default 30).
"""

from __future__ import annotations

from .connector import BlueskyConnector, hookimpl, horseshoe_register_connectors
from .parse import notification_to_mention, parse_bluesky_payload
from .text import grapheme_count, mention_facet, post_url

__all__ = [
    "BlueskyConnector",
    "grapheme_count",
    "hookimpl",
    "horseshoe_register_connectors",
    "mention_facet",
    "notification_to_mention",
    "parse_bluesky_payload",
    "post_url",
]
