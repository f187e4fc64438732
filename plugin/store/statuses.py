"""Every status a row can be in, one enum per table.

``StrEnum`` members are ``str``: the values stored in the database are exactly the strings used
before these enums existed, so no migration was needed and rows written by older versions read back
as members.
"""

from __future__ import annotations

from enum import StrEnum


class MentionStatus(StrEnum):
    RECEIVED = "received"  # stored, waiting for the router
    ROUTED = "routed"  # triaged; one delivery per connected sink exists
    SKIPPED = "skipped"  # triaged as "do not engage" (own post, echo, spam) or deleted


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DISCARDED = "discarded"  # failed, and an admin decided it is not to be delivered (audited why)


class ReplyStatus(StrEnum):
    PENDING = "pending"  # nothing posted yet
    SENDING = "sending"  # committed just before the network call
    SENT = "sent"
    FAILED = "failed"  # never posted
    UNCERTAIN = "uncertain"  # may have been posted: never re-posted automatically
    HELD = "held"  # never posted: the customer deleted what it answers; the agent decides what next

    @property
    def final(self) -> bool:
        return self in FINAL_REPLY_STATES


FINAL_REPLY_STATES = frozenset({ReplyStatus.SENT, ReplyStatus.FAILED, ReplyStatus.UNCERTAIN, ReplyStatus.HELD})


class LinkStatus(StrEnum):
    """Verdict stored per (tenant, sink, social profile) by identity resolution."""

    LINKED = "linked"
    SUGGESTED = "suggested"
    REJECTED = "rejected"
    NEW = "new"
    UNDONE = "undone"
    FORGOTTEN = "forgotten"


class Outcome(StrEnum):
    """What a sink says about one delivery item (the values of ``plugin.sink.OutcomeStatus``).

    Sinks return plain strings (that is the public plugin API); the host compares through this enum.
    Outcomes are never stored as such: they decide the next ``DeliveryStatus``.
    """

    DELIVERED = "delivered"
    RETRY = "retry"
    WAIT_PARENT = "wait_parent"
    FAILED = "failed"


class QuarantineStatus(StrEnum):
    QUARANTINED = "quarantined"  # could not be parsed; kept raw, waiting for a fix and a retry
    RELEASED = "released"  # a retry parsed it (its mentions, if any, are in the inbox)
    DISCARDED = "discarded"  # an admin decided it is not worth keeping (audited with who and why)
