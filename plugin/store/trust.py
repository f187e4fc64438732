"""The trust model's storage: one-time install codes, rotating signing keys, tenant generations.

Install codes are stored as SHA-256 hashes (they are random, 128 bits, so no slow hash is needed) and
are single-use: the ``UPDATE ... WHERE used_at IS NULL`` is the claim, so two browsers presenting the
same code at once cannot both win.
"""

from __future__ import annotations

import hashlib
import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update

from plugin.secrets import SecretBox
from plugin.store import trust_tables as tt
from plugin.store.db import Database, as_utc, utcnow


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: bytes
    retires_at: datetime | None


class TrustRepository:
    def __init__(self, db: Database, box: SecretBox):
        self.db = db
        self.box = box

    # -- install codes ---------------------------------------------------------------------
    def invite(self, tenant_key: str, hours: float = 72.0) -> str:
        """A new one-time install code for ``tenant_key``; only its hash is kept."""
        code = pysecrets.token_urlsafe(16)
        with self.db.begin() as conn:
            conn.execute(
                insert(tt.install_codes).values(
                    tenant_key=tenant_key,
                    code_hash=_hash(code),
                    created_at=utcnow(),
                    expires_at=utcnow() + timedelta(hours=hours),
                )
            )
        return code

    def redeem(self, tenant_key: str, code: str) -> bool:
        """Use up ``code`` if it was issued for ``tenant_key``, has not expired and was never used."""
        c = tt.install_codes.c
        with self.db.begin() as conn:
            used = conn.execute(
                update(tt.install_codes)
                .where(
                    c.code_hash == _hash(code),
                    c.tenant_key == tenant_key,
                    c.used_at.is_(None),
                    c.expires_at > utcnow(),
                )
                .values(used_at=utcnow())
            ).rowcount
        return bool(used)

    # -- signing keys ----------------------------------------------------------------------
    def signing_keys(self) -> list[SigningKey]:
        """Every stored key, newest first (the first without ``retires_at`` signs)."""
        k = tt.signing_keys.c
        with self.db.begin() as conn:
            rows = conn.execute(select(tt.signing_keys).order_by(k.created_at.desc(), k.kid)).all()
        return [SigningKey(r.kid, bytes.fromhex(self.box.decrypt_json(r.key_enc)), as_utc(r.retires_at)) for r in rows]

    def rotate_keys(self, grace: timedelta, legacy_kid: str) -> str:
        """A new signing key; every older key (and the key derived from the secret, ``legacy_kid``)
        verifies for ``grace`` more at most: a grace of 0 is the emergency rotation after a leak."""
        kid = pysecrets.token_hex(4)
        now = utcnow()
        k = tt.signing_keys.c
        with self.db.begin() as conn:
            conn.execute(
                update(tt.signing_keys)
                .where(or_(k.retires_at.is_(None), k.retires_at > now + grace))
                .values(retires_at=now + grace)
            )
            if conn.execute(select(k.kid).where(k.kid == legacy_kid)).first() is None:
                # The derived key has no material stored; the row only records when it retires.
                conn.execute(
                    insert(tt.signing_keys).values(
                        kid=legacy_kid, key_enc=self.box.encrypt_json(""), created_at=now, retires_at=now + grace
                    )
                )
            conn.execute(
                insert(tt.signing_keys).values(
                    kid=kid,
                    key_enc=self.box.encrypt_json(pysecrets.token_bytes(32).hex()),
                    created_at=now + timedelta(microseconds=1),
                )
            )
        return kid

    # -- revocation ------------------------------------------------------------------------
    def generation(self, tenant_key: str) -> int:
        g = tt.tenant_generations.c
        with self.db.begin() as conn:
            value = conn.execute(select(g.generation).where(g.tenant_key == tenant_key)).scalar()
        return int(value or 0)

    def revoke(self, tenant_key: str) -> int:
        """Invalidate every token issued for ``tenant_key`` so far; returns the new generation."""
        g = tt.tenant_generations.c
        with self.db.begin() as conn:
            current = conn.execute(select(g.generation).where(g.tenant_key == tenant_key)).scalar()
            if current is None:
                row = {"tenant_key": tenant_key, "generation": 1, "updated_at": utcnow()}
                conn.execute(insert(tt.tenant_generations).values(**row))
                return 1
            conn.execute(
                update(tt.tenant_generations)
                .where(g.tenant_key == tenant_key)
                .values(generation=g.generation + 1, updated_at=utcnow())
            )
            return int(current) + 1
