"""The public -> private handoff: one agent action, two messages.

The rule of the field: anything involving account details moves to a private conversation. An agent
does it with one documented action in either CRM: a reply whose first line is ``#handoff`` (the
Zendesk macro "Social: move to private" inserts it; in Salesforce the "Move to private" quick action
pre-fills an outbound SocialPost with it):

    #handoff Thanks Carla, we've sent you a private message.      <- optional public acknowledgement
    Hi Carla, could you send us your order number here?            <- the private message (required)

horseshoe sends the private message first (if the network or account has no private messages, nothing
is posted and the agent is told), then one short public acknowledgement in the original thread (the
text on the marker line, or the company's template in the customer's language: ``outbox/acks.py``).
Each is its own outbox row under a key derived from the agent's reply, so each is posted at most once
however often the reply is retried. The private message
remembers the public thread, so the customer's private answer joins the same ticket/case.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from plugin.errors import FatalError
from plugin.outbox.commands import command

MARKER = "#handoff"
KEY_MAX = 255


@dataclass(frozen=True)
class Handoff:
    ack: str | None  # None: the template in the customer's language (plugin.outbox.acks)
    private: str


def parse(text: str) -> Handoff | None:
    """The handoff an agent's reply asks for, or None for an ordinary reply."""
    found = command(text, MARKER)
    if found is None:
        return None
    ack, private = found[0] or None, found[1]
    if not private:
        raise FatalError(
            "a #handoff reply needs the private message on the lines after '#handoff' "
            "(the first line may carry the public acknowledgement)",
            code="handoff",
        )
    return Handoff(ack=ack, private=private)


def child_key(key: str, part: str) -> str:
    """The idempotency key of one of the two messages (within the column's 255 characters)."""
    suffix = f":handoff-{part}"
    if len(key) + len(suffix) > KEY_MAX:
        key = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key + suffix
