"""Admin users of the standalone console, their server-side sessions and the login rate limit.

Passwords arrive here already hashed (``plugin/console/passwords.py``); session ids arrive as their
SHA-256 so the raw cookie value never reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin.store import console_tables as ct
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.rows import new_id


class NameTaken(ValueError):
    pass


@dataclass(frozen=True)
class AdminRow:
    id: int
    name: str
    password_hash: str
    role: str  # operator | tenant
    tenant_key: str | None
    disabled: bool
    must_change_password: bool
    created_at: datetime | None


@dataclass(frozen=True)
class SessionRow:
    admin: AdminRow
    csrf_token: str
    expires_at: datetime


def _admin(r: Any) -> AdminRow:
    return AdminRow(
        id=int(r.id),
        name=r.name,
        password_hash=r.password_hash,
        role=r.role,
        tenant_key=r.tenant_key,
        disabled=bool(r.disabled),
        must_change_password=bool(r.must_change_password),
        created_at=as_utc(r.created_at),
    )


class AdminRepository:
    def __init__(self, db: Database):
        self.db = db

    # -- users -----------------------------------------------------------------------------
    def create(self, name: str, password_hash: str, role: str, tenant_key: str | None, *, must_change: bool) -> int:
        now = utcnow()
        try:
            with self.db.begin() as conn:
                result = conn.execute(
                    insert(ct.admin_users).values(
                        name=name,
                        password_hash=password_hash,
                        role=role,
                        tenant_key=tenant_key,
                        disabled=False,
                        must_change_password=must_change,
                        created_at=now,
                        updated_at=now,
                    )
                )
                return new_id(result)
        except IntegrityError:
            raise NameTaken(f"an admin named {name!r} exists already") from None

    def by_name(self, name: str) -> AdminRow | None:
        with self.db.read() as conn:
            row = conn.execute(select(ct.admin_users).where(ct.admin_users.c.name == name)).first()
        return _admin(row) if row is not None else None

    def all(self) -> list[AdminRow]:
        with self.db.read() as conn:
            rows = conn.execute(select(ct.admin_users).order_by(ct.admin_users.c.name)).all()
        return [_admin(r) for r in rows]

    def set_disabled(self, admin_id: int, disabled: bool) -> None:
        """Disabling also ends every session of that admin at once."""
        with self.db.begin() as conn:
            conn.execute(
                update(ct.admin_users)
                .where(ct.admin_users.c.id == admin_id)
                .values(disabled=disabled, updated_at=utcnow())
            )
            if disabled:
                conn.execute(delete(ct.admin_sessions).where(ct.admin_sessions.c.admin_id == admin_id))

    def set_password(self, admin_id: int, password_hash: str, *, must_change: bool) -> None:
        """A new password ends every session opened with the old one."""
        with self.db.begin() as conn:
            conn.execute(
                update(ct.admin_users)
                .where(ct.admin_users.c.id == admin_id)
                .values(password_hash=password_hash, must_change_password=must_change, updated_at=utcnow())
            )
            conn.execute(delete(ct.admin_sessions).where(ct.admin_sessions.c.admin_id == admin_id))

    def rehash(self, admin_id: int, password_hash: str) -> None:
        """Store a stronger hash of the same password (argon2 parameters raised); sessions stay."""
        with self.db.begin() as conn:
            conn.execute(
                update(ct.admin_users).where(ct.admin_users.c.id == admin_id).values(password_hash=password_hash)
            )

    # -- sessions --------------------------------------------------------------------------
    def open_session(self, admin_id: int, id_hash: str, csrf_token: str, lifetime: timedelta) -> None:
        now = utcnow()
        with self.db.begin() as conn:
            conn.execute(delete(ct.admin_sessions).where(ct.admin_sessions.c.expires_at < now))
            conn.execute(
                insert(ct.admin_sessions).values(
                    id_hash=id_hash,
                    admin_id=admin_id,
                    csrf_token=csrf_token,
                    created_at=now,
                    expires_at=now + lifetime,
                    last_seen_at=now,
                )
            )

    def session(self, id_hash: str) -> SessionRow | None:
        """The live session with this id of an enabled admin, or None (expired, ended, disabled)."""
        s, a = ct.admin_sessions.c, ct.admin_users.c
        with self.db.read() as conn:
            row = conn.execute(
                select(ct.admin_users, s.csrf_token, s.expires_at)
                .join(ct.admin_sessions, s.admin_id == a.id)
                .where(s.id_hash == id_hash, s.expires_at > utcnow(), a.disabled.is_(False))
            ).first()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        assert expires is not None
        return SessionRow(_admin(row), row.csrf_token, expires)

    def close_session(self, id_hash: str) -> None:
        with self.db.begin() as conn:
            conn.execute(delete(ct.admin_sessions).where(ct.admin_sessions.c.id_hash == id_hash))

    # -- login rate limit ------------------------------------------------------------------
    def record_failure(self, name: str, address: str, window: timedelta) -> None:
        """Count one failed login; rows older than ``window`` no longer count and are dropped, so
        guessing at unknown names cannot grow the table without bound."""
        now = utcnow()
        with self.db.begin() as conn:
            conn.execute(delete(ct.login_attempts).where(ct.login_attempts.c.created_at < now - window))
            conn.execute(insert(ct.login_attempts).values(name=name[:255], address=address[:64], created_at=now))

    def recent_failures(self, name: str, address: str, window: timedelta) -> int:
        """Failed logins in ``window`` for this admin name or from this address (whichever is more)."""
        la = ct.login_attempts.c
        since = utcnow() - window
        with self.db.read() as conn:
            by_name = conn.execute(
                select(func.count()).where(la.name == name[:255], la.created_at >= since)
            ).scalar_one()
            by_address = conn.execute(
                select(func.count()).where(la.address == address[:64], la.created_at >= since)
            ).scalar_one()
        return max(int(by_name), int(by_address))

    def clear_failures(self, name: str, window: timedelta) -> None:
        """After a successful login, the name's old failures stop counting (the address's stay), and
        rows older than the window are dropped."""
        la = ct.login_attempts.c
        with self.db.begin() as conn:
            conn.execute(delete(ct.login_attempts).where(or_(la.name == name[:255], la.created_at < utcnow() - window)))
