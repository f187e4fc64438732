"""Request authentication for the X API: app-only Bearer, OAuth 2.0 user token, OAuth 1.0a user context.

OAuth 1.0a (RFC 5849, HMAC-SHA1, parameters in the Authorization header) is requests-oauthlib's
``OAuth1``; the OAuth 2.0 bearer is ``plugin.http.BearerAuth``. Both are ``requests.auth.AuthBase``.
``tests/connectors/x/test_x_auth.py`` checks the signing against the worked example of X's "Creating a
signature" page through the small helpers below (oauthlib's own primitives), and the X sandbox verifies
real signatures independently. Secrets live only inside the auth objects and never appear in a ``repr``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1 import Client as OAuth1Client
from oauthlib.oauth1.rfc5849 import signature as rfc5849
from oauthlib.oauth1.rfc5849.utils import escape
from requests import PreparedRequest
from requests.auth import AuthBase
from requests_oauthlib import OAuth1

from plugin.http import BearerAuth

__all__ = [
    "BearerAuth",
    "Credential",
    "OAuth1Auth",
    "app_credential",
    "hmac_sha1_signature",
    "percent_encode",
    "read_credential",
    "signature_base_string",
    "user_credential",
    "write_credential",
]


def percent_encode(value: str) -> str:
    """RFC 5849 section 3.6: only RFC 3986 unreserved characters are left as they are."""
    return str(escape(value))


def signature_base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """METHOD&enc(base string URI)&enc(normalized parameters) (RFC 5849 section 3.4.1)."""
    normalized = rfc5849.normalize_parameters(list(params))
    return str(rfc5849.signature_base_string(method.upper(), rfc5849.base_string_uri(url), normalized))


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    client = OAuth1Client("", client_secret=consumer_secret, resource_owner_secret=token_secret)
    return str(rfc5849.sign_hmac_sha1_with_client(base_string, client))


class _Client(OAuth1Client):
    """oauthlib's client with injectable nonce and timestamp sources (the documented example fixes both).

    oauthlib takes fixed values only; a fixed nonce reused across requests would be refused by X as a
    replay, so the sources are called per request instead, without mutating shared state.
    """

    def __init__(
        self,
        *args: Any,
        nonce_source: Callable[[], str] | None = None,
        timestamp_source: Callable[[], int] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._nonce_source = nonce_source
        self._timestamp_source = timestamp_source

    def get_oauth_params(self, request: OAuthRequest) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = super().get_oauth_params(request)
        replace: dict[str, str] = {}
        if self._nonce_source is not None:
            replace["oauth_nonce"] = self._nonce_source()
        if self._timestamp_source is not None:
            replace["oauth_timestamp"] = str(self._timestamp_source())
        return [(key, replace.get(key, value)) for key, value in params]


class OAuth1Auth(OAuth1):
    """OAuth 1.0a user context: HMAC-SHA1, parameters in the Authorization header (requests-oauthlib)."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        nonce: Callable[[], str] | None = None,
        timestamp: Callable[[], int] | None = None,
    ):
        super().__init__(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=access_token,
            resource_owner_secret=access_token_secret,
            client_class=_Client,
            nonce_source=nonce,
            timestamp_source=timestamp,
        )

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        signed: PreparedRequest = super().__call__(request)
        # requests-oauthlib leaves the header as bytes when it signs a form body; everything else in a
        # prepared request (and whoever reads it) expects text.
        value = signed.headers.get("Authorization")
        if isinstance(value, bytes):
            signed.headers["Authorization"] = value.decode("utf-8")
        return signed

    def __repr__(self) -> str:
        return "OAuth1Auth(<redacted>)"


@dataclass(frozen=True)
class Credential:
    """An auth object plus a stable, non-secret identity of the token (for per-token rate-limit state)."""

    auth: AuthBase
    token_id: str
    user_context: bool

    def __repr__(self) -> str:
        return f"Credential(token_id={self.token_id!r}, user_context={self.user_context})"


def _token_id(kind: str, token: str) -> str:
    # A short digest identifies the token in memory without keeping a copy of the secret around.
    return f"{kind}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"


_OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


def user_credential(credentials: Mapping[str, str]) -> Credential | None:
    """User-context auth: the OAuth 2.0 user token when present, else OAuth 1.0a, else None."""
    token = credentials.get("user_access_token")
    if token:
        return Credential(BearerAuth(token), _token_id("oauth2-user", token), True)
    if all(credentials.get(k) for k in _OAUTH1_KEYS):
        auth = OAuth1Auth(
            credentials["consumer_key"],
            credentials["consumer_secret"],
            credentials["access_token"],
            credentials["access_token_secret"],
        )
        return Credential(auth, _token_id("oauth1", credentials["access_token"]), True)
    return None


def app_credential(credentials: Mapping[str, str]) -> Credential | None:
    token = credentials.get("bearer_token")
    if token:
        return Credential(BearerAuth(token), _token_id("app", token), False)
    return None


def read_credential(credentials: Mapping[str, str]) -> Credential | None:
    """For public reads the app-only token is preferred (its own, larger rate-limit bucket)."""
    return app_credential(credentials) or user_credential(credentials)


def write_credential(credentials: Mapping[str, str]) -> Credential | None:
    """Posting needs user context; an app-only token is used only so that X itself can refuse it."""
    return user_credential(credentials) or app_credential(credentials)
