"""The reply guard: a public reply must not carry personal data (rule of the field: never ask for or
echo account numbers, emails or phones in public; move it to a private message).

It runs in the outbox, just before any connector call, so every reply path passes it: Zendesk
channelback, Salesforce outbound SocialPosts, any third-party sink's replies. Detection is
``plugin.triage.pii`` (NFKC, obfuscated emails, phonenumbers for the tenant's regions, Luhn cards,
IBAN checksums) with the tenant's configured patterns and phone regions from the triage rules.
"""

from __future__ import annotations

import threading

from plugin.triage import pii
from plugin.triage.rules import RulesFile

_lock = threading.Lock()
_rules: dict[str, RulesFile] = {}


def _rules_for(path: str) -> RulesFile:
    # One RulesFile per path per process: it re-reads the file itself when the admin edits it.
    with _lock:
        if path not in _rules:
            _rules[path] = RulesFile(path or None)
        return _rules[path]


def refusal(text: str, tenant_key: str | None, rules_path: str = "") -> str | None:
    """Why ``text`` may not be posted publicly for ``tenant_key``, or None when it may."""
    rules = _rules_for(rules_path).for_tenant(tenant_key)
    found = pii.scan(text, regions=rules.phone_regions or pii.DEFAULT_REGIONS, patterns=rules.pii_patterns)
    if not found.findings:
        return None
    return (
        f"not posted: a public reply must not contain personal data ({', '.join(found.kinds)}). "
        "Remove it, or answer in a private message (direct message) instead and ask the customer to "
        "continue there."
    )
