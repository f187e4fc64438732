"""Priority, influence-blind: from what was said, how it was said, how long it has waited and whether
the customer already has an open case. The inputs are exactly the arguments below: follower counts,
verification badges and "influence" are not among them, so they cannot change the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.triage.rules import LEVELS, PriorityPolicy


@dataclass(frozen=True)
class PriorityInputs:
    intent: str | None
    sentiment_score: float
    waited_hours: float
    has_open_case: bool


def priority(policy: PriorityPolicy, inputs: PriorityInputs) -> str:
    base = policy.by_intent.get(inputs.intent or "", "normal")
    if base == "urgent":
        return base  # security: nothing lowers it, nothing else reaches it
    level = LEVELS.index(base)
    bumps = 0
    if inputs.intent == "complaint" and inputs.sentiment_score <= policy.negative_below:
        bumps += 1
    bumps += sum(1 for hours in policy.waited_hours if inputs.waited_hours >= hours)
    if policy.open_ticket_bump and inputs.has_open_case:
        bumps += 1
    if inputs.intent in ("spam", "chatter") or bumps == 0:
        return base  # nobody waits for an answer to noise
    cap = LEVELS.index(policy.cap)
    return LEVELS[max(level, min(level + bumps, cap))]
