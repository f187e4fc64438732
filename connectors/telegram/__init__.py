"""Telegram connector (Bot API): webhook or ``getUpdates`` in, ``sendMessage`` out.

The entry point ``telegram = "connectors.telegram"`` names this package: ``connector`` (the connector
and its hookimpl), ``parse`` (Updates -> Mention), ``models`` (pydantic models of the Bot API shapes it
reads), ``errors`` (Bot API errors -> taxonomy), ``config`` (credential and settings models).

Account model
-------------
- ``AccountContext.external_id``: the bot's numeric user id (``getMe().id``; also the digits before
  ``:`` in the token).
- credentials: ``bot_token`` (required), ``webhook_secret`` (the ``secret_token`` given to
  ``setWebhook``; Telegram echoes it in ``X-Telegram-Bot-Api-Secret-Token``).
- settings: ``bot_username`` (without ``@``; needed to recognise ``@mentions`` in groups; falls back to
  ``AccountContext.handle``), ``poll_timeout`` (long-poll seconds for ``getUpdates``, default 20; the
  tests use 0), ``pace`` (bool, default True: client-side pacing), ``http_timeout`` (read timeout, 15 s).
- ``parse_webhook`` only receives ``secrets``; it reads ``bot_username`` (and optionally ``bot_id``)
  from there too, so the host should hand in the account's credentials merged with its settings.

Which messages become mentions
------------------------------
- Private chats with the bot: every message from a human -> kind ``direct``, visibility ``private``.
- Groups and supergroups, account setting ``group_messages``: ``addressed`` (default) keeps only
  messages addressed to the bot: an ``@bot_username`` ``mention`` entity, a ``text_mention`` of the
  bot's id, a ``/command@bot_username``, or a reply to one of the bot's messages (kind ``reply``);
  ``all`` keeps every human message (``extra["addressed"]`` tells them apart). A message left out is
  never dropped silently: ``explain_payload`` (``horseshoe parse``) names the reason and the connector
  counts it in ``skip_counts`` and logs it.
- Messages from bots (including our own echoes) and channel posts are ignored.
- ``edited_message`` becomes the same ``external_id`` with ``event="edited"``.

Attachments
-----------
Photos (the largest ``PhotoSize``), documents, voice notes, videos and audio become attachments whose
URL is ``horseshoe-file:<file_id>`` (type ``image``/``document``/``voice``/``video``/``audio``): the
Bot API's download URL, ``/file/bot<token>/<file_path>``, carries the bot token, so it is never stored.
``open_attachment`` calls ``getFile`` and downloads the file (≤ 20 MB, as the Bot API allows) when
someone opens it; the host serves that behind its own signed link (``plugin.web.attachments``), which
is what an agent (or Zendesk, importing ``file_urls``) opens. file_ids stay valid for the bot.

Identifiers (docs/ARCHITECTURE.md): ``external_id = "{chat.id}:{message_id}"``; ``parent_id`` is the replied-to
message; ``thread_id`` is the chat id for private chats; in groups it is the root of the reply chain
when Telegram tells us (``message_thread_id``: forum topics and supergroup reply threads), else the
replied-to message (the deepest root the Update shows: Telegram never nests ``reply_to_message``),
else the message itself.

Limits (Bot FAQ): ~30 messages/s per bot, 1 message/s per chat, 20 messages/min per group; text up to
4096 characters. Pacing is enforced client-side per connector instance (``plugin.http.Pacer``); when a
send would exceed a limit the connector raises ``RateLimited`` with the computed wait instead of
sleeping in the worker.
"""

from __future__ import annotations

from .connector import TelegramConnector, hookimpl, horseshoe_register_connectors
from .parse import bot_id_from_token, parse_update

__all__ = ["TelegramConnector", "bot_id_from_token", "hookimpl", "horseshoe_register_connectors", "parse_update"]
