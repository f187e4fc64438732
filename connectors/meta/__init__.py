"""Pieces shared by the Facebook Pages, Messenger and Instagram connectors (all Meta Graph API).

- ``webhook``: the ``hub.challenge`` handshake, ``X-Hub-Signature-256``, the entry walker;
- ``models``: pydantic models of the documented webhook shapes;
- ``fields``: readers for the values inside (ids, times, strings) that fail as BadInput;
- ``messaging``: the ``messaging[]`` parser and the Send API with its messaging window;
- ``graph`` / ``errors``: the Graph client on ``plugin.http`` and Graph error codes -> taxonomy;
- ``sweep``: the two-level poll (parents newest-first -> children) every Meta ``poll`` uses;
- ``credentials``: credential keys and the admin-facing credential/settings models.

The connectors use this package as ``from . import meta`` and ``meta.<name>``.
"""

from __future__ import annotations

from .credentials import (
    APP_SECRET,
    IG_USER_ID,
    PAGE_ACCESS_TOKEN,
    PAGE_ID,
    VERIFY_TOKEN,
    FacebookCredentials,
    FacebookSettings,
    InstagramCredentials,
    InstagramSettings,
    MessengerCredentials,
    MessengerSettings,
)
from .errors import gone_as_deleted, graph_error, raise_for_graph_error, retry_after_from_headers, usage_percent
from .fields import as_dict, as_list, build_mention, credential, graph_time, id_str, now_utc, opt_str, to_datetime
from .graph import GRAPH_VERSION, GraphClient, appsecret_proof, page_of
from .messaging import (
    HUMAN_AGENT_WINDOW,
    PRIVATE_REPLY_WINDOW,
    STANDARD_WINDOW,
    last_inbound_time,
    messaging_type_for,
    parse_messaging_event,
    parse_messaging_payload,
    send_message,
)
from .models import CommentChange, FeedChange, Sender, parse
from .sweep import SweepCursor, SweepSpec, initial_cursor, resume, run_sweep
from .webhook import (
    SIGNATURE_HEADER,
    Entry,
    MetaWebhookConnector,
    changes,
    entries,
    handshake_result,
    is_handshake,
    load_body,
    sign_body,
    verify_meta_request,
)

__all__ = [
    "APP_SECRET",
    "GRAPH_VERSION",
    "HUMAN_AGENT_WINDOW",
    "IG_USER_ID",
    "PAGE_ACCESS_TOKEN",
    "PAGE_ID",
    "PRIVATE_REPLY_WINDOW",
    "SIGNATURE_HEADER",
    "STANDARD_WINDOW",
    "VERIFY_TOKEN",
    "CommentChange",
    "Entry",
    "FacebookCredentials",
    "FacebookSettings",
    "FeedChange",
    "GraphClient",
    "InstagramCredentials",
    "InstagramSettings",
    "MessengerCredentials",
    "MessengerSettings",
    "MetaWebhookConnector",
    "Sender",
    "SweepCursor",
    "SweepSpec",
    "appsecret_proof",
    "as_dict",
    "as_list",
    "build_mention",
    "changes",
    "credential",
    "entries",
    "gone_as_deleted",
    "graph_error",
    "graph_time",
    "handshake_result",
    "id_str",
    "initial_cursor",
    "is_handshake",
    "last_inbound_time",
    "load_body",
    "messaging_type_for",
    "now_utc",
    "opt_str",
    "page_of",
    "parse",
    "parse_messaging_event",
    "parse_messaging_payload",
    "raise_for_graph_error",
    "resume",
    "retry_after_from_headers",
    "run_sweep",
    "send_message",
    "sign_body",
    "to_datetime",
    "usage_percent",
    "verify_meta_request",
]
