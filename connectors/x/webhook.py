"""X webhook security: the Challenge-Response Check and the event signature headers.

Both are ``sha256=`` + base64(HMAC-SHA256(secret, message)); the CRC signs the ``crc_token`` and events sign
the raw request body. X signs with the app's OAuth 2.0 client secret (``X-Twitter-Webhooks-Signature-OAuth2``,
recommended) and/or the OAuth 1.0 consumer secret (``X-Twitter-Webhooks-Signature``, legacy); the CRC
response uses the client secret when the app has one ("V2 Webhooks API", Security).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_OAUTH2 = "x-twitter-webhooks-signature-oauth2"
SIGNATURE_OAUTH1 = "x-twitter-webhooks-signature"
MAX_CRC_TOKEN = 512  # X's tokens are short; anything huge is not X


def sign(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def crc_secret(secrets: Mapping[str, str]) -> str | None:
    return secrets.get("client_secret") or secrets.get("consumer_secret") or None


def crc_response_token(secret: str, crc_token: str) -> str:
    return sign(secret, crc_token.encode())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (the host may hand us a plain dict)."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def verify_signature(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str]) -> bool:
    """True when a signature header we hold the secret for matches the body (constant-time compare)."""
    checks = (
        (SIGNATURE_OAUTH2, secrets.get("client_secret")),
        (SIGNATURE_OAUTH1, secrets.get("consumer_secret")),
    )
    for name, secret in checks:
        given = header(headers, name)
        if given is not None and secret:
            # The OAuth2 header is authoritative when present and verifiable; no silent fallback past it.
            return hmac.compare_digest(given.encode(), sign(secret, body).encode())
    return False
