"""Our brand accounts on each network, and the poll cursor that goes with each account."""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from plugin.connector import AccountContext
from plugin.secrets import SecretBox
from plugin.store import leases
from plugin.store import tables as t
from plugin.store.db import Database, as_utc, utcnow
from plugin.store.rows import new_id


@dataclass(frozen=True)
class AccountRow:
    id: int
    tenant_id: int
    network: str
    external_id: str
    handle: str | None
    public_key: str
    settings: dict[str, Any]
    api_base: str | None
    enabled: bool

    def context(self, box: SecretBox, credentials_enc: str) -> AccountContext:
        return AccountContext(
            network=self.network,
            external_id=self.external_id,
            handle=self.handle,
            credentials=box.decrypt_json(credentials_enc),
            settings=self.settings or {},
            api_base=self.api_base,
        )


@dataclass(frozen=True)
class PollCursorRow:
    account_id: int
    cursor: str | None
    next_poll_at: datetime | None
    failures: int
    last_error: str | None
    listen_cursor: str | None = None  # the connector's search position (Connector.listen)
    next_listen_at: datetime | None = None  # when the account's listening budget allows the next search


def _account_row(row: Any) -> AccountRow:
    return AccountRow(
        id=int(row.id),
        tenant_id=int(row.tenant_id),
        network=row.network,
        external_id=row.external_id,
        handle=row.handle,
        public_key=row.public_key,
        settings=dict(row.settings or {}),
        api_base=row.api_base,
        enabled=bool(row.enabled),
    )


class AccountRepository:
    def __init__(self, db: Database, box: SecretBox):
        self.db = db
        self.box = box

    def upsert(
        self,
        tenant_id: int,
        network: str,
        external_id: str,
        credentials: dict[str, str],
        *,
        handle: str | None = None,
        settings: dict[str, Any] | None = None,
        api_base: str | None = None,
    ) -> int:
        enc = self.box.encrypt_json(credentials)
        values = {
            "handle": handle,
            "credentials_enc": enc,
            "settings": settings or {},
            "api_base": api_base,
            "enabled": True,
        }
        a = t.accounts.c
        with self.db.begin() as conn:
            row = conn.execute(
                select(a.id).where(a.tenant_id == tenant_id, a.network == network, a.external_id == external_id)
            ).first()
            if row:
                conn.execute(update(t.accounts).where(a.id == row.id).values(**values))
                return int(row.id)
            result = conn.execute(
                insert(t.accounts).values(
                    tenant_id=tenant_id,
                    network=network,
                    external_id=external_id,
                    public_key=pysecrets.token_urlsafe(16),
                    created_at=utcnow(),
                    **values,
                )
            )
            account_id = new_id(result)
            # The cursor is born with the account, due now: polling starts on the next tick.
            conn.execute(
                insert(t.poll_cursors).values(
                    account_id=account_id, cursor=None, next_poll_at=utcnow(), failures=0, updated_at=utcnow()
                )
            )
            return account_id

    def owners(self, network: str, external_id: str) -> list[int]:
        """The tenants that connected this network account (an account belongs to exactly one)."""
        a = t.accounts.c
        with self.db.begin() as conn:
            rows = conn.execute(select(a.tenant_id).where(a.network == network, a.external_id == external_id))
            return sorted(int(r.tenant_id) for r in rows)

    def move(self, account_id: int, tenant_id: int) -> None:
        """Give the account to another tenant (an operator's audited action, ``horseshoe accounts move``)."""
        with self.db.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(tenant_id=tenant_id))

    def update_settings(self, account_id: int, settings: dict[str, Any]) -> None:
        """Merge ``settings`` into the account's (non-secret) settings."""
        with self.db.begin() as conn:
            current = conn.execute(select(t.accounts.c.settings).where(t.accounts.c.id == account_id)).scalar_one()
            conn.execute(
                update(t.accounts).where(t.accounts.c.id == account_id).values(settings={**(current or {}), **settings})
            )

    def replace_credentials(self, account_id: int, expected: Mapping[str, str], credentials: dict[str, str]) -> bool:
        """Store renewed credentials, only if the stored ones are still ``expected`` (compare-and-swap):
        when two workers renew at once, the second must not overwrite the first's rotated refresh
        token with one the network already retired. True when written."""
        a = t.accounts.c
        with self.db.write() as conn:
            query = select(a.credentials_enc).where(a.id == account_id).with_for_update()
            current = conn.execute(query).scalar_one_or_none()  # SQLite: BEGIN IMMEDIATE
            if current is None or self.box.decrypt_json(current) != dict(expected):
                return False
            enc = self.box.encrypt_json(credentials)
            conn.execute(update(t.accounts).where(a.id == account_id).values(credentials_enc=enc))
            return True

    def all(self, tenant_id: int | None = None) -> list[AccountRow]:
        query = select(t.accounts).order_by(t.accounts.c.id)
        if tenant_id is not None:
            query = query.where(t.accounts.c.tenant_id == tenant_id)
        with self.db.read() as conn:
            return [_account_row(r) for r in conn.execute(query)]

    def _with_context(self, *where: Any) -> tuple[AccountRow, AccountContext] | None:
        with self.db.read() as conn:
            row = conn.execute(select(t.accounts).where(*where)).first()
        if row is None:
            return None
        account = _account_row(row)
        return account, account.context(self.box, row.credentials_enc)

    def get(self, account_id: int) -> tuple[AccountRow, AccountContext] | None:
        return self._with_context(t.accounts.c.id == account_id)

    def by_public_key(self, network: str, public_key: str) -> tuple[AccountRow, AccountContext] | None:
        return self._with_context(t.accounts.c.public_key == public_key, t.accounts.c.network == network)

    def find(self, tenant_id: int, network: str, external_id: str) -> tuple[AccountRow, AccountContext] | None:
        a = t.accounts.c
        return self._with_context(a.tenant_id == tenant_id, a.network == network, a.external_id == external_id)

    # -- poll cursors ------------------------------------------------------------------------
    def claim_due_polls(self, owner: str, limit: int, lease_seconds: float) -> list[int]:
        """Account ids whose poll is due, leased to ``owner``."""
        pc = t.poll_cursors
        return leases.claim(
            self.db, pc, pc.c.next_poll_at <= utcnow(), owner, limit, lease_seconds, order_by=[pc.c.next_poll_at]
        )

    def renew_polls(self, owner: str, account_ids: Sequence[int], lease_seconds: float) -> set[int]:
        """Keep the polls of ``account_ids`` while they run; returns the accounts still ours."""
        return leases.renew(self.db, t.poll_cursors, account_ids, owner, lease_seconds)

    def cursor(self, account_id: int) -> PollCursorRow:
        with self.db.read() as conn:
            row = conn.execute(select(t.poll_cursors).where(t.poll_cursors.c.account_id == account_id)).one()
        return PollCursorRow(
            account_id=int(row.account_id),
            cursor=row.cursor,
            next_poll_at=as_utc(row.next_poll_at),
            failures=int(row.failures),
            last_error=row.last_error,
            listen_cursor=row.listen_cursor,
            next_listen_at=as_utc(row.next_listen_at),
        )

    def release_cursor(self, account_id: int, *, next_poll: datetime, owner: str | None = None, **values: Any) -> bool:
        """End a poll: schedule the next one and free the lease (``values``: cursor, failures, last_error).

        With ``owner``, only while that poll still holds the lease: a poll that outlived its lease
        never moves back the cursor of the one that took over. Returns whether it was written."""
        unknown = set(values) - {"cursor", "failures", "last_error"}
        if unknown:
            raise TypeError(f"not a poll cursor field: {', '.join(sorted(unknown))}")
        pc = t.poll_cursors
        where = [pc.c.account_id == account_id]
        if owner is not None:
            where.append(leases.held_by(pc, owner))
        with self.db.begin() as conn:
            written = conn.execute(
                update(pc)
                .where(*where)
                .values(next_poll_at=next_poll, updated_at=utcnow(), **leases.released(), **values)
            ).rowcount
        return bool(written)

    def save_listening(self, account_id: int, cursor: str | None, next_listen: datetime) -> None:
        """After a search call: the connector's search position and when the budget allows the next."""
        with self.db.begin() as conn:
            conn.execute(
                update(t.poll_cursors)
                .where(t.poll_cursors.c.account_id == account_id)
                .values(listen_cursor=cursor, next_listen_at=next_listen, updated_at=utcnow())
            )

    def save_cursor(self, account_id: int, cursor: str | None) -> None:
        """Move the cursor without touching schedule or lease (``horseshoe backfill``)."""
        with self.db.begin() as conn:
            conn.execute(
                update(t.poll_cursors)
                .where(t.poll_cursors.c.account_id == account_id)
                .values(cursor=cursor, updated_at=utcnow())
            )

    def wake_poll(self, account_id: int) -> None:
        """Make one account due for polling now (its credentials were just replaced)."""
        with self.db.begin() as conn:
            conn.execute(
                update(t.poll_cursors).where(t.poll_cursors.c.account_id == account_id).values(next_poll_at=utcnow())
            )

    def wake_polls(self) -> None:
        """Make every account due for polling now."""
        with self.db.begin() as conn:
            conn.execute(update(t.poll_cursors).values(next_poll_at=utcnow()))
