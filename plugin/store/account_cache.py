"""Brand accounts for the webhook path, read once per process and generation instead of per request.

A webhook needs its account (decrypted secrets to verify the signature, settings to parse), the
tenant's key (for the ``mention_stored`` hook) and, on Meta, the tenant's sibling accounts. Reading and
decrypting them for every request was one read transaction and a decryption each; here they are kept
per process, tagged with the generation of the ``cache_generations`` row they were read under.

There is no time-based staleness: triggers bump that generation in the same transaction as any change
to ``accounts`` or ``tenants`` (migration 0016), and the webhook's one write transaction checks it
(``IntakeRepository.store``) before it stores anything. A webhook served from a stale copy is rolled
back and handled again with fresh rows, so a saved, revoked or deleted credential takes effect on the
very next request in every process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, select

from plugin.connector import AccountContext
from plugin.secrets import SecretBox
from plugin.store import cache_tables as ct
from plugin.store import tables as t
from plugin.store.accounts import AccountRow, _account_row
from plugin.store.db import Database
from plugin.store.rawsql import Statements


class StaleAccounts(Exception):
    """The accounts changed since the cached copy was read: handle the request again with fresh rows."""


@dataclass(frozen=True)
class CachedAccount:
    account: AccountRow
    context: AccountContext
    tenant_key: str
    generation: int


@dataclass
class _Snapshot:
    generation: int
    by_key: dict[tuple[str, str], CachedAccount] = field(default_factory=dict)
    by_tenant: dict[int, list[CachedAccount]] = field(default_factory=dict)


# Every webhook's write transaction reads it first: compiled once per dialect, run on the driver.
_GENERATION = Statements.fixed(
    select(ct.cache_generations.c.generation).where(ct.cache_generations.c.name == bindparam("name"))
)


def read_generation(conn: Connection) -> int:
    rows = _GENERATION.get(conn).execute(conn, {"name": ct.ACCOUNTS})
    return int(rows[0][0] or 0) if rows else 0


class AccountCache:
    def __init__(self, db: Database, box: SecretBox):
        self.db = db
        self.box = box
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(generation=-1)

    def by_public_key(self, network: str, public_key: str) -> CachedAccount | None:
        """The account a webhook URL names, from this process's copy when it has one."""
        found = self._snapshot.by_key.get((network, public_key))
        if found is not None:
            return found
        a = t.accounts.c
        with self.db.read() as conn:
            generation = read_generation(conn)
            rows = conn.execute(self._query().where(a.public_key == public_key, a.network == network)).all()
        entries = [self._entry(row, generation) for row in rows]
        with self._lock:
            snapshot = self._current(generation)
            for entry in entries:
                snapshot.by_key[(network, public_key)] = entry
        return entries[0] if entries else None

    def tenant_accounts(self, tenant_id: int, generation: int) -> list[CachedAccount]:
        """Every account of ``tenant_id`` as of ``generation`` (raises ``StaleAccounts`` when the accounts
        changed since: the caller's copy of the addressed account may be stale too)."""
        snapshot = self._snapshot
        if snapshot.generation == generation and tenant_id in snapshot.by_tenant:
            return snapshot.by_tenant[tenant_id]
        with self.db.read() as conn:
            current = read_generation(conn)
            rows = conn.execute(self._query().where(t.accounts.c.tenant_id == tenant_id).order_by(t.accounts.c.id))
            entries = [self._entry(row, current) for row in rows]
        if current != generation:
            self.forget()
            raise StaleAccounts(f"accounts changed (generation {generation} -> {current})")
        with self._lock:
            self._current(current).by_tenant[tenant_id] = entries
        return entries

    def tenant_snapshot(self, tenant_id: int) -> list[CachedAccount]:
        """Every account of ``tenant_id``, from this process's copy when it has one; each entry carries
        the generation it was read under (the caller's write transaction checks it)."""
        snapshot = self._snapshot
        if tenant_id in snapshot.by_tenant:
            return snapshot.by_tenant[tenant_id]
        with self.db.read() as conn:
            current = read_generation(conn)
            rows = conn.execute(self._query().where(t.accounts.c.tenant_id == tenant_id).order_by(t.accounts.c.id))
            entries = [self._entry(row, current) for row in rows]
        with self._lock:
            self._current(current).by_tenant[tenant_id] = entries
        return entries

    def forget(self) -> None:
        """Drop every cached account (the next look-up reads fresh rows)."""
        with self._lock:
            self._snapshot = _Snapshot(generation=-1)

    def _current(self, generation: int) -> _Snapshot:
        """The snapshot for ``generation`` (caller holds the lock); a newer generation replaces it."""
        if generation > self._snapshot.generation:
            self._snapshot = _Snapshot(generation=generation)
        elif generation < self._snapshot.generation:
            return _Snapshot(generation=generation)  # read before a newer copy was stored: not kept
        return self._snapshot

    @staticmethod
    def _query() -> Any:
        return select(t.accounts, t.tenants.c.key.label("tenant_key")).join(
            t.tenants, t.tenants.c.id == t.accounts.c.tenant_id
        )

    def _entry(self, row: Any, generation: int) -> CachedAccount:
        account = _account_row(row)
        return CachedAccount(account, account.context(self.box, row.credentials_enc), row.tenant_key, generation)
