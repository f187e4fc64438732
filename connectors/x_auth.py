"""Request authentication for the X API: app-only Bearer, OAuth 2.0 user token, OAuth 1.0a user context.

The OAuth 1.0a signer follows RFC 5849 section 3.4 (HMAC-SHA1) exactly as X's "Creating a signature"
page walks through it; ``tests/connectors/x/test_x_auth.py`` checks it against that page's worked example.
Secrets live only inside the auth objects and never appear in their ``repr``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

# RFC 3986 unreserved characters are the only ones left as-is (RFC 5849 section 3.6).
_UNRESERVED = "-._~"


def percent_encode(value: str) -> str:
    return quote(value, safe=_UNRESERVED)


def normalized_url(url: str) -> str:
    """Base string URI (RFC 5849 3.4.1.2): lower-case scheme and host, default port dropped, no query."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def signature_base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """METHOD&enc(base URL)&enc(sorted, encoded parameter string)."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    param_string = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join((method.upper(), percent_encode(normalized_url(url)), percent_encode(param_string)))


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _request_params(request: requests.PreparedRequest) -> list[tuple[str, str]]:
    """Query parameters plus form-encoded body parameters; JSON bodies are not signed (RFC 5849 3.4.1.3)."""
    params = parse_qsl(urlsplit(request.url or "").query, keep_blank_values=True)
    content_type = request.headers.get("Content-Type", "")
    body = request.body
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        text = body.decode() if isinstance(body, bytes) else str(body)
        params.extend(parse_qsl(text, keep_blank_values=True))
    return params


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>``: app-only tokens and OAuth 2.0 user access tokens alike."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


class OAuth1Auth(AuthBase):
    """OAuth 1.0a user context, HMAC-SHA1, parameters in the Authorization header."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
        timestamp: Callable[[], int] = lambda: int(time.time()),
    ):
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._token = access_token
        self._token_secret = access_token_secret
        self._nonce = nonce
        self._timestamp = timestamp

    def oauth_params(self, method: str, url: str, extra: Iterable[tuple[str, str]]) -> dict[str, str]:
        """The signed ``oauth_*`` parameters for one request (public so the worked example can be checked)."""
        oauth = {
            "oauth_consumer_key": self._consumer_key,
            "oauth_nonce": self._nonce(),
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": str(self._timestamp()),
            "oauth_token": self._token,
            "oauth_version": "1.0",
        }
        base = signature_base_string(method, url, [*extra, *oauth.items()])
        oauth["oauth_signature"] = hmac_sha1_signature(base, self._consumer_secret, self._token_secret)
        return oauth

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        oauth = self.oauth_params(request.method or "GET", request.url or "", _request_params(request))
        header = ", ".join(f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in sorted(oauth.items()))
        request.headers["Authorization"] = f"OAuth {header}"
        return request

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
