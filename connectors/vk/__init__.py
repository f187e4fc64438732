"""VK connector: Callback API (or Bots Long Poll) in, ``wall.createComment`` / ``messages.send`` out.

The entry point ``vk = "connectors.vk"`` names this package: ``connector`` (the connector and its
hookimpl), ``parse`` (events -> Mention), ``models`` (pydantic models of the event objects and method
answers it reads), ``errors`` (VK error envelopes -> taxonomy), ``config`` (credential and settings models).

Handshake + mentions convention (read this first)
-------------------------------------------------
VK's Callback API wants an answer body for *every* request: the confirmation string for a
``confirmation`` request, and the plain string ``ok`` (HTTP 200) for every event; anything else makes VK
resend the event and, after several failures in a row, pause the server. So ``parse_webhook`` returns:

- ``confirmation``  -> ``WebhookResult(handshake=(200, "text/plain", confirmation_code))``, no mentions;
- any other event   -> ``WebhookResult(mentions=[...], handshake=(200, "text/plain", "ok"))``.

When a result carries both ``mentions`` and ``handshake``, the host stores the mentions first (commits
the inbox) and only then sends the handshake body as the HTTP answer. If storing fails the host must
answer an error instead of ``ok`` so that VK redelivers the event (same ``event_id`` -> same
``external_id``, so a redelivery after a partial success is deduplicated by the inbox).

Account model
-------------
- ``AccountContext.external_id``: the community id as a positive number string (``"123"``).
- credentials: ``access_token`` (community token), ``secret`` (Callback API secret key),
  ``confirmation_code`` (the string ``groups.getCallbackConfirmationCode`` returns).
- settings: ``group_id`` (defaults to ``external_id``), ``api_version`` (default ``5.199``),
  ``requests_per_second`` (client-side pacing, default 20 = VK's limit for community tokens),
  ``poll_wait`` (Bots Long Poll ``wait`` seconds, default 20; tests use 0), ``http_timeout`` (15 s).
- ``verify_request``/``parse_webhook`` only receive ``secrets``; ``group_id`` is read from there too
  when present (the host should merge the account's settings into what it passes).

What becomes a mention
----------------------
- ``wall_reply_new`` / ``wall_reply_edit`` / ``wall_reply_delete``: comments on our wall (kind
  ``comment``, or ``reply`` when answering another comment); ``external_id = "{owner_id}_{id}"``,
  ``thread_id = "{owner_id}_{post_id}"``; edit/delete carry ``event="edited"/"deleted"``.
- ``wall_post_new``: a post on our wall by someone else (suggested/visitor post), or a post that
  mentions the community (``[club123|...]``, ``@club123``); our own posts are not.
- ``message_new`` / ``message_edit``: messages to the community, ``external_id =
  "{peer_id}_{conversation_message_id}"``, ``thread_id = "{peer_id}"``, kind ``direct``, private.
  In multi-user chats (``peer_id >= 2000000000``) the account setting ``group_messages`` decides:
  ``addressed`` (default) = messages that mention us, reply to us or carry a keyboard-button
  ``payload``; ``all`` = every message. Skips are explained by ``explain_payload`` and counted
  (``skip_counts``).
- Anything authored by our own community (``from_id == -group_id``) is an echo and is skipped.

Replies: the reply's ``thread_id`` says where it goes. ``"{owner_id}_{post_id}"`` -> a wall comment
(``reply_to_comment`` when ``in_reply_to`` is a comment, ``guid`` = idempotency key); ``"{peer_id}"``
-> ``messages.send`` with ``random_id`` derived from the idempotency key (VK drops a second message
with the same ``random_id``, so a retried send is harmless) and a ``forward`` marked ``is_reply``.
"""

from __future__ import annotations

from .connector import VKConnector, hookimpl, horseshoe_register_connectors, random_id_for
from .parse import mentions_group, parse_event

__all__ = [
    "VKConnector",
    "hookimpl",
    "horseshoe_register_connectors",
    "mentions_group",
    "parse_event",
    "random_id_for",
]
