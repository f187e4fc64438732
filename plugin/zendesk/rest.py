"""The Zendesk REST client (zenpy) horseshoe uses beside the Channel Framework push: users and
identities (identity resolution), incremental ticket events (resolution figures), ticket updates
(satisfaction ratings: plugin/zendesk/ratings.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from zenpy import Zenpy

from plugin.errors import AuthError, RateLimited, RetriableError
from plugin.http import record, retry_after_seconds


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
        response = super().request(method, text, *args, **kwargs)
        record(response)  # REST calls spend the same per-minute budget as pushes (plugin.ratebudget)
        return response


def raise_for_refusal(response: requests.Response, what: str) -> None:
    """Raise what a Tickets API refusal means for the caller's retry: credentials refused (401/403: an
    admin must act), rate limited (429, with its Retry-After), or momentary (5xx, 409 a concurrent
    update of the same ticket). Other answers are the caller's to read (200, 201, 404, 422...)."""
    status = response.status_code
    if status in (401, 403):
        raise AuthError(f"Zendesk refused the {what}: HTTP {status} (check the REST credentials in the admin page)")
    if status == 429:
        raise RateLimited(f"Zendesk {what}: rate limited", retry_after=retry_after_seconds(response))
    if status >= 500 or status == 409:
        raise RetriableError(f"Zendesk {what}: HTTP {status}", retry_after=retry_after_seconds(response))


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
