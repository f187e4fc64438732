"""Routing of the fake Zendesk, moto-style: URL rule -> (handler method name, HTTP methods).

The any_channel endpoints answer with and without the ``.json`` suffix, as the docs use both
(``POST /api/v2/any_channel/push`` in the reference, ``push.json`` in the curl example).
"""

from __future__ import annotations

from .responses import RETURN_PATH

URL_RULES: list[tuple[str, str, tuple[str, ...]]] = [
    # Channel Framework
    ("/api/v2/any_channel/push.json", "push", ("POST",)),
    ("/api/v2/any_channel/push", "push", ("POST",)),
    ("/api/v2/any_channel/validate_token.json", "validate_token", ("POST",)),
    ("/api/v2/any_channel/validate_token", "validate_token", ("POST",)),
    ("/api/v2/any_channel/channelback/report_error.json", "report_channelback_error", ("POST",)),
    ("/api/v2/any_channel/channelback/report_error", "report_channelback_error", ("POST",)),
    (RETURN_PATH, "editor_finalizer", ("POST",)),
    # Users and identities
    ("/api/v2/users/me.json", "me", ("GET",)),
    ("/api/v2/users.json", "list_users", ("GET",)),
    ("/api/v2/users.json", "create_user", ("POST",)),
    ("/api/v2/users/show_many.json", "show_many_users", ("GET",)),
    ("/api/v2/users/search.json", "search_users", ("GET",)),
    ("/api/v2/users/<int:user_id>.json", "show_user", ("GET",)),
    ("/api/v2/users/<int:user_id>.json", "update_user", ("PUT",)),
    ("/api/v2/users/<int:user_id>/identities.json", "list_identities", ("GET",)),
    ("/api/v2/users/<int:user_id>/identities.json", "create_identity", ("POST",)),
    ("/api/v2/users/<int:user_id>/identities/<int:identity_id>.json", "show_identity", ("GET",)),
    ("/api/v2/users/<int:user_id>/identities/<int:identity_id>.json", "delete_identity", ("DELETE",)),
    ("/api/v2/users/<int:user_id>/merge.json", "merge_user", ("PUT",)),
    # Search, tickets
    ("/api/v2/search.json", "search", ("GET",)),
    ("/api/v2/tickets.json", "list_tickets", ("GET",)),
    ("/api/v2/tickets.json", "create_ticket", ("POST",)),
    ("/api/v2/tickets/<int:ticket_id>.json", "show_ticket", ("GET",)),
    ("/api/v2/tickets/<int:ticket_id>.json", "update_ticket", ("PUT",)),
    ("/api/v2/tickets/<int:ticket_id>/comments.json", "ticket_comments", ("GET",)),
    ("/api/v2/incremental/ticket_events.json", "ticket_events_export", ("GET",)),
    # Control surface
    ("/_sandbox/accounts", "sandbox_create_account", ("POST",)),
    ("/_sandbox/accounts/<subdomain>/users", "sandbox_create_user", ("POST",)),
    ("/_sandbox/accounts/<subdomain>/tickets", "sandbox_tickets", ("GET",)),
    ("/_sandbox/accounts/<subdomain>/tickets/<int:ticket_id>/status", "sandbox_ticket_status", ("PUT",)),
    ("/_sandbox/accounts/<subdomain>/instances", "sandbox_instances", ("GET",)),
]
