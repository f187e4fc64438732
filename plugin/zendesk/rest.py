"""The Zendesk REST client (zenpy) horseshoe uses beside the Channel Framework push: users and
identities (identity resolution), incremental ticket events (resolution figures), ticket updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from zenpy import Zenpy

from plugin.errors import AuthError, RetriableError


class CountingSession(requests.Session):
    """Counts requests, and points zenpy at ``api_base`` when it is not ``{subdomain}.zendesk.com``."""

    def __init__(self, rewrite_from: str | None = None, rewrite_to: str | None = None):
        super().__init__()
        self.count = 0
        self._from, self._to = rewrite_from, rewrite_to

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.count += 1
        text = url.decode() if isinstance(url, bytes) else url
        if self._from and self._to and text.startswith(self._from):
            text = self._to + text[len(self._from) :]
        return super().request(method, text, *args, **kwargs)


def has_rest_credentials(config: Mapping[str, Any]) -> bool:
    return bool(config.get("oauth_token") or (config.get("api_email") and config.get("api_token")))


def zenpy_client(config: Mapping[str, Any], timeout: float = 30.0) -> Zenpy:
    """A zenpy client for a tenant's Zendesk connection (its REST credentials, its ``api_base``)."""
    subdomain = str(config["subdomain"])
    api_base = str(config.get("api_base") or "").rstrip("/")
    canonical = f"https://{subdomain}.zendesk.com"
    session = CountingSession(canonical, api_base) if api_base and api_base != canonical else CountingSession()
    credentials: dict[str, Any] = (
        {"oauth_token": str(config["oauth_token"])}
        if config.get("oauth_token")
        else {"email": str(config["api_email"]), "token": str(config["api_token"])}
    )
    return Zenpy(subdomain=subdomain, session=session, timeout=timeout, **credentials)


def rate_ticket(config: Mapping[str, Any], ticket_id: str, rating: int, note: str, *, reopen: bool) -> bool:
    """Record a satisfaction answer on a ticket: tag ``csat_<n>`` and an internal note; ``reopen``
    puts it back in an agent's queue (a negative rating). False when Zendesk cannot be asked (no REST
    credentials) or the ticket is closed (a closed ticket takes no update)."""
    if not has_rest_credentials(config) or not ticket_id.isdigit():
        return False
    client = zenpy_client(config)
    fields: dict[str, Any] = {"additional_tags": [f"csat_{rating}"], "comment": {"body": note, "public": False}}
    if reopen:
        fields["status"] = "open"
    url = f"https://{config['subdomain']}.zendesk.com/api/v2/tickets/{int(ticket_id)}.json"
    response = client.users.session.put(url, json={"ticket": fields}, timeout=30)
    if response.status_code == 422:
        return False
    if response.status_code in (401, 403):
        raise AuthError(f"Zendesk refused the ticket update: HTTP {response.status_code}")
    if response.status_code != 200:
        raise RetriableError(f"Zendesk ticket update: HTTP {response.status_code}")
    return True
