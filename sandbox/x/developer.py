"""What X's developer portal knows about the integration's app: its keys, callback URLs, and what the
app registered through the API (authorization codes, Account Activity webhooks, subscriptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DeveloperApp:
    client_id: str = "sandbox-oauth2-client-id"
    client_secret: str = "sandbox-oauth2-client-secret"
    consumer_key: str = "sandbox-api-key"
    consumer_secret: str = "sandbox-api-key-secret"
    callback_urls: set[str] = field(default_factory=set)  # "Callback URI / Redirect URL" in the portal
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # refresh token -> {"user", "scope"}: each works once, a refresh grant rotates it (oauth2.py)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # POST /2/webhooks
    subscriptions: dict[str, set[str]] = field(default_factory=dict)  # webhook id -> subscribed user ids
