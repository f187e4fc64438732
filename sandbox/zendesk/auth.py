"""Who is calling, and may they: credentials and the optional per-minute request limit.

REST API authentication (Zendesk "Security and authentication"): ``Authorization: Bearer <oauth
token>`` or Basic ``{email}/token:{api_token}``. The Channel Framework push token
(``zendesk_access_token``) is only valid for ``/api/v2/any_channel/*``. The account is the one the
credential belongs to; when the Host names a known subdomain it must agree.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from werkzeug.wrappers import Request

from sandbox.base import RequestBudget

from .exceptions import CouldNotAuthenticate, Forbidden, InvalidToken, RateLimited
from .models import Clock, IntegrationInstance, User, ZendeskAccount, ZendeskState


@dataclass
class Caller:
    account: ZendeskAccount
    user: User | None
    instance: IntegrationInstance | None = None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _host_subdomain(state: ZendeskState, request: Request) -> str | None:
    host = (request.host or "").split(":")[0]
    label = host.split(".")[0]
    return label if label in state.accounts and "." in host else None


def _check_host(state: ZendeskState, request: Request, account: ZendeskAccount) -> None:
    subdomain = _host_subdomain(state, request)
    if subdomain is not None and subdomain != account.subdomain:
        raise CouldNotAuthenticate()


def rest_caller(state: ZendeskState, request: Request) -> Caller:
    """Authenticate a REST API (non-any_channel) request."""
    header = request.headers.get("Authorization", "")
    token = bearer_token(request)
    with state.lock:
        if token is not None:
            for account in state.accounts.values():
                for known, user_id in account.oauth_tokens.items():
                    if secrets.compare_digest(known, token):
                        _check_host(state, request, account)
                        return Caller(account, account.users[user_id])
            if state.instance_for_token(token) is not None:
                # A Channel Framework push token is scoped to the any_channel API.
                raise Forbidden()
            raise InvalidToken()
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise CouldNotAuthenticate()
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise CouldNotAuthenticate() from None
        login, _, secret = decoded.partition(":")
        email, _, suffix = login.partition("/")
        if suffix != "token" or not secret:
            raise CouldNotAuthenticate()  # password logins are not offered by the sandbox
        for account in state.accounts.values():
            for known, user_id in account.api_tokens.items():
                user = account.users.get(user_id)
                if (
                    secrets.compare_digest(known, secret)
                    and user is not None
                    and user.active
                    and (user.email or "").lower() == email.lower()
                ):
                    _check_host(state, request, account)
                    return Caller(account, user)
        raise CouldNotAuthenticate()


def channel_caller(state: ZendeskState, request: Request) -> Caller:
    """Authenticate an any_channel request: the Bearer must be an instance's zendesk_access_token."""
    token = bearer_token(request)
    if token is None:
        raise CouldNotAuthenticate()
    found = state.instance_for_token(token)
    if found is None:
        raise InvalidToken()
    account, instance = found
    _check_host(state, request, account)
    return Caller(account, None, instance)


class RequestLimiter:
    """A fixed window per account ("Rate limits": requests per minute by plan), counted on the state's
    clock so tests can move time. ``window`` is 60 s like Zendesk's; a benchmark may shrink it (and the
    limit with it) to run minutes of budget in seconds.

    Every answer carries the account-wide headers Zendesk documents ("Best practices for avoiding rate
    limiting"): ``X-Rate-Limit`` / ``X-Rate-Limit-Remaining`` and their ``ratelimit-limit`` /
    ``ratelimit-remaining`` / ``ratelimit-reset`` twins; a refusal is a 429 with ``Retry-After``."""

    def __init__(self, per_minute: int, clock: Clock, window: float = 60.0):
        self.per_minute = per_minute
        self.window = window
        self._budget = RequestBudget(per_minute, window, clock=lambda: clock().timestamp(), aligned=True)

    def hit(self, key: str) -> dict[str, str]:
        """Count one request of ``key``; the headers its answer carries, or RateLimited."""
        verdict = self._budget.take(key)
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after, self.per_minute)
        return {
            "X-Rate-Limit": str(self.per_minute),
            "X-Rate-Limit-Remaining": str(verdict.remaining),
            "ratelimit-limit": str(self.per_minute),
            "ratelimit-remaining": str(verdict.remaining),
            "ratelimit-reset": str(verdict.retry_after),
        }

    def remaining(self, key: str) -> int:
        return self._budget.remaining(key)
