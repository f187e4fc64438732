"""Built-in triage: cheap, deterministic signals every deployment needs.

- PII: emails, phone numbers and card-like numbers in public text (never echo them in public).
- Engage: our own posts, reposts and empty echoes are stored but not turned into tickets.
- Security: vulnerability / breach / fraud words raise priority to urgent.
Follower counts are never read here: influence buys nothing.
"""

from __future__ import annotations

import re

import pluggy

from plugin.models import Kind, Labels, Mention

hookimpl = pluggy.HookimplMarker("horseshoe")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?<!\w)\+?\d[\d ()-]{7,}\d(?!\w)")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){13,19}(?!\d)")
SECURITY = re.compile(
    r"\b(vulnerab\w*|exploit\w*|breach\w*|hack(?:ed|ing)?|phishing|fraud\w*|scam\w*|"
    r"stolen|leak(?:ed)?|уязвим\w*|взлом\w*|мошенни\w*|oszust\w*|wyciek\w*)\b",
    re.IGNORECASE,
)


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def detect_pii(text: str) -> list[str]:
    found: list[str] = []
    if EMAIL.search(text):
        found.append("email")
    if any(_luhn(re.sub(r"\D", "", m.group())) for m in CARD.finditer(text)):
        found.append("card_number")
    elif PHONE.search(text):
        found.append("phone")
    return found


@hookimpl
def horseshoe_triage(mention: Mention) -> Labels:
    engage = True
    tags: list[str] = []
    if mention.author.external_id == mention.account:
        engage, tags = False, ["own_post"]
    elif mention.kind == Kind.REPOST:
        engage, tags = False, ["repost"]
    elif not mention.text.strip() and not mention.attachments:
        engage, tags = False, ["empty"]
    # Built-ins are called last (pluggy is LIFO), so a plugin's own priority wins over "normal".
    priority = "normal"
    if SECURITY.search(mention.text):
        priority = "urgent"
        tags.append("security")
    return Labels(
        language=mention.lang,
        pii=detect_pii(mention.text),
        priority=priority,
        engage=engage,
        tags=tags or None,
    )
