"""State of the fake Zendesk, one module per resource (see state.py for how they fit together)."""

from .records import (
    IDENTITY_TYPES,
    ROLES,
    TICKET_STATUSES,
    Clock,
    Comment,
    Identity,
    ImportResult,
    IntegrationInstance,
    Ticket,
    User,
    ZendeskAccount,
    zendesk_time,
)
from .state import ZendeskState

__all__ = [
    "IDENTITY_TYPES",
    "ROLES",
    "TICKET_STATUSES",
    "Clock",
    "Comment",
    "Identity",
    "ImportResult",
    "IntegrationInstance",
    "Ticket",
    "User",
    "ZendeskAccount",
    "ZendeskState",
    "zendesk_time",
]
