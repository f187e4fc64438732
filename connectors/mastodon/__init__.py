"""Mastodon connector: mentions in by polling notifications, replies out as statuses, via Mastodon.py.

Mastodon has no webhooks for user accounts, so this connector is poll-only (``verify_request`` is always
False). Everything follows docs.joinmastodon.org:

* poll: ``GET /api/v1/notifications?types[]=mention&min_id=<cursor>`` (methods/notifications). With
  ``min_id`` the server returns the ``limit`` oldest notifications newer than the cursor, so walking
  forward page by page never skips one; the new cursor is the ``min_id`` of the ``rel="prev"`` Link
  (the newest id on the page). The cursor is the last notification id handed to the host, so a restart
  resumes exactly there (nothing lost, nothing repeated).
* reply: ``POST /api/v1/statuses`` with ``in_reply_to_id``, the original's visibility (a direct
  mention stays direct) and an ``Idempotency-Key`` header (Mastodon.py's ``idempotency_key``), which
  Mastodon honours for an hour (methods/statuses).
* errors: ``{"error": "..."}`` with 401/404/422/429/5xx; rate limits in ``X-RateLimit-*`` (api/rate-limits,
  300 requests per 5 minutes per account). Mastodon.py runs in ``ratelimit_method="throw"`` so the host's
  worker, not a sleeping client, decides when to retry; the reset time comes from the client's parsed
  ``ratelimit_reset``.

Identity: ``author.external_id`` is the account id on the brand's instance (stable there; docs/ARCHITECTURE.md),
``handle`` is the full ``user@domain`` so it is globally unambiguous.

Account settings (``AccountContext.settings``): ``notification_types`` (default ``["mention"]``; add
``"update"`` to receive edits), ``exclude_types`` (optional), ``page_size`` (≤ 80, default 40),
``resolve_thread_root`` (default True: one ``/context`` call per reply mention to find the thread root),
``timeout`` (seconds, default 30). Credentials: ``access_token``. ``AccountContext.api_base`` is the
instance URL (required, e.g. ``https://mastodon.social``).
"""

from __future__ import annotations

from .connector import MastodonConnector, hookimpl, horseshoe_register_connectors
from .parse import html_to_text, notification_to_mention, parse_mastodon_payload, status_to_mention

__all__ = [
    "MastodonConnector",
    "hookimpl",
    "horseshoe_register_connectors",
    "html_to_text",
    "notification_to_mention",
    "parse_mastodon_payload",
    "status_to_mention",
]
