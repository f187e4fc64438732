"""Encryption at rest and signing, both derived from the one configured secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from plugin.errors import Unauthorized


def _derive(secret_key: str, purpose: bytes) -> bytes:
    # Separate keys per purpose: a signature can never be replayed as a ciphertext key or vice versa.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"horseshoe", info=purpose).derive(
        secret_key.encode("utf-8")
    )


class SecretBox:
    """Encrypts credentials for the database and signs tokens handed to Zendesk/Salesforce."""

    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("secret key must not be empty")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret_key, b"encrypt")))
        self._sign_key = _derive(secret_key, b"sign")

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode("ascii")

    def decrypt_json(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with the configured key") from exc

    def sign(self, payload: dict[str, Any]) -> str:
        """Compact signed token ``base64(json).base64(hmac)``; not encrypted, so keep secrets out."""
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        body = base64.urlsafe_b64encode(raw).rstrip(b"=")
        mac = hmac.new(self._sign_key, body, hashlib.sha256).digest()
        return body.decode("ascii") + "." + base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def verify(self, token: str | None, what: str = "token") -> dict[str, Any]:
        if not token or not isinstance(token, str) or token.count(".") != 1:
            raise Unauthorized(f"{what} is missing or malformed")
        body, mac = token.split(".")
        try:
            body_bytes = body.encode("ascii")
            given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        except (UnicodeEncodeError, ValueError) as exc:
            raise Unauthorized(f"{what} is malformed") from exc
        expected = hmac.new(self._sign_key, body_bytes, hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            raise Unauthorized(f"{what} signature does not verify", status=403)
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError as exc:
            raise Unauthorized(f"{what} is malformed") from exc
        if not isinstance(payload, dict):
            raise Unauthorized(f"{what} is malformed")
        return payload
