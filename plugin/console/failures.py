"""What an admin may do about a failed delivery or an uncertain reply: one table for the page and the CLI.

Each action needs a reason (``why``) and is recorded with who did it (``plugin/store/failures.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from plugin.store.repo import Store

MAX_WHY = 500


@dataclass(frozen=True)
class Action:
    label: str  # the button
    done: str  # what the admin is told afterwards
    run: Callable[[Store, int, Sequence[int] | None, str, str], None]


DELIVERY_ACTIONS: dict[str, Action] = {
    "retry": Action("Retry", "will be delivered again on the worker's next pass",
                    lambda s, i, scope, who, why: s.failures.retry_delivery(i, scope, who, why)),
    "discard": Action("Discard", "discarded: it will not be delivered",
                      lambda s, i, scope, who, why: s.failures.discard_delivery(i, scope, who, why)),
}  # fmt: skip

REPLY_ACTIONS: dict[str, Action] = {
    "retry": Action("Not on the network: post again", "will be posted again",
                    lambda s, i, scope, who, why: s.failures.retry_reply(i, scope, who, why)),
    "mark-sent": Action("It is on the network: mark sent", "marked as sent; the CRM is told",
                        lambda s, i, scope, who, why: s.failures.mark_reply_sent(i, scope, who, why)),
    "discard": Action("Discard", "discarded: it will not be posted; the CRM is told",
                      lambda s, i, scope, who, why: s.failures.discard_reply(i, scope, who, why)),
}  # fmt: skip


def check_why(why: str | None) -> str:
    """The reason an admin gives; required, one line, bounded."""
    text = " ".join((why or "").split())
    if not text:
        raise ValueError("say why (it is recorded with your name)")
    if len(text) > MAX_WHY:
        raise ValueError(f"keep the reason under {MAX_WHY} characters")
    return text
