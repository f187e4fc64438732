"""Intent: the admin's rules first, then the shipped classifier, leaning towards security.

A ``force`` rule decides outright (security and spam words are unambiguous enough, and an admin must be
able to say "this word is always X"). Otherwise the classifier's probabilities decide, after the
``boost`` of every matching rule is added; a security probability at or above the tenant's threshold
wins, because a missed breach report costs far more than an agent glancing at a false alarm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plugin.triage.rules import TenantRules

WORDS = re.compile(r"[^\W\d_]{2,}")
# The classifier's security hunch is trusted from this many words on: "any news?" or "my order number
# is 12345" carry too little to raise an alarm (a rule keyword still escalates a one-word "hacked!").
SECURITY_MODEL_MIN_WORDS = 4


@dataclass(frozen=True)
class IntentVerdict:
    intent: str
    confidence: float
    source: str  # rule | model


def decide(rules: TenantRules, folded: str, probabilities: dict[str, float]) -> IntentVerdict:
    forced = rules.forced_intent(folded)
    if forced is not None:
        return IntentVerdict(forced, 1.0, "rule")
    security = probabilities.get("security", 0.0)
    trusted = len(WORDS.findall(folded)) >= SECURITY_MODEL_MIN_WORDS
    if trusted and security >= rules.security_threshold:
        return IntentVerdict("security", round(security, 3), "model")
    scores = dict(probabilities)
    if not trusted:
        scores.pop("security", None)
    for name, boost in rules.boosts(folded).items():
        scores[name] = scores.get(name, 0.0) + boost
    best = max(scores, key=lambda k: scores[k])
    return IntentVerdict(best, round(min(1.0, scores[best]), 3), "model")
