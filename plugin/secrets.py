"""Encryption at rest and signing, both derived from the one configured secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from plugin.errors import Unauthorized


def _derive(secret_key: str, purpose: bytes) -> bytes:
    # Separate keys per purpose: a signature can never be replayed as a ciphertext key or vice versa.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"horseshoe", info=purpose).derive(
        secret_key.encode("utf-8")
    )


LEGACY_KID = "k0"  # the key derived from the secret key itself: what signed tokens before rotation
KEY_CACHE_SECONDS = 30.0  # a key rotated by another process (``horseshoe keys rotate``) is seen this soon


class StoredKey(Protocol):
    @property
    def kid(self) -> str: ...
    @property
    def key(self) -> bytes: ...
    @property
    def retires_at(self) -> datetime | None: ...


class SecretBox:
    """Encrypts credentials for the database and signs tokens handed to Zendesk/Salesforce."""

    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("secret key must not be empty")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret_key, b"encrypt")))
        self._sign_key = _derive(secret_key, b"sign")
        self._load_keys: Callable[[], Sequence[StoredKey]] | None = None
        self._keys: dict[str, StoredKey] = {}
        self._current: str = LEGACY_KID
        self._loaded_at = 0.0

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode("ascii")

    def decrypt_json(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with the configured key") from exc

    # -- rotating signing keys ------------------------------------------------------------------
    def use_keys(self, load: Callable[[], Sequence[StoredKey]]) -> None:
        """Sign with the newest stored key and verify with any key not yet retired (``horseshoe keys
        rotate``). Without stored keys the key derived from the secret key signs (kid ``k0``)."""
        self._load_keys = load
        self._loaded_at = 0.0

    def _refresh(self, force: bool = False) -> None:
        if self._load_keys is None or (not force and time.monotonic() - self._loaded_at < KEY_CACHE_SECONDS):
            return
        keys = list(self._load_keys())
        self._keys = {k.kid: k for k in keys}
        active = [k.kid for k in keys if k.retires_at is None and k.kid != LEGACY_KID]
        self._current = active[0] if active else LEGACY_KID
        self._loaded_at = time.monotonic()

    def _key_for(self, kid: str) -> bytes | None:
        stored = self._keys.get(kid)
        if stored is None and kid != LEGACY_KID:
            self._refresh(force=True)  # rotated by another process since we last looked
            stored = self._keys.get(kid)
        if stored is not None and stored.retires_at is not None and stored.retires_at <= datetime.now(UTC):
            return None
        if kid == LEGACY_KID:
            return self._sign_key
        return stored.key if stored is not None else None

    def sign(self, payload: dict[str, Any]) -> str:
        """Compact signed token ``base64(json).base64(hmac)``; not encrypted, so keep secrets out.
        Every token names its key (``kid``) and when it was issued (``iat``)."""
        self._refresh()
        kid = self._current
        key = self._key_for(kid) or self._sign_key
        claims = {**payload, "kid": kid, "iat": int(time.time())}
        raw = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        body = base64.urlsafe_b64encode(raw).rstrip(b"=")
        mac = hmac.new(key, body, hashlib.sha256).digest()
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
        try:
            # Read before the MAC is checked only to learn which key to check it with.
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, RecursionError) as exc:
            raise Unauthorized(f"{what} is malformed") from exc
        if not isinstance(payload, dict):
            raise Unauthorized(f"{what} is malformed")
        kid = payload.get("kid", LEGACY_KID)
        self._refresh()
        key = self._key_for(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized(f"{what} was signed with a key that is retired or unknown", status=403)
        expected = hmac.new(key, body_bytes, hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            raise Unauthorized(f"{what} signature does not verify", status=403)
        return payload
