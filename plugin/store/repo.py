"""The ``Store`` facade: one repository per aggregate, reached as ``runtime.store.<name>``.

Every write that must survive a crash is its own committed transaction inside a repository. The
methods below the repositories are the handful every part of horseshoe (and the tests, the demo
and the benchmarks) calls; they delegate and hold no SQL of their own except ``counts``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from plugin.connector import AccountContext
from plugin.secrets import SecretBox
from plugin.store import tables as t
from plugin.store.account_cache import AccountCache
from plugin.store.accounts import AccountRepository, AccountRow
from plugin.store.admins import AdminRepository
from plugin.store.budgets import CallbackBudgetRepository, RatePauseRepository
from plugin.store.connect import ConnectStateRepository
from plugin.store.csat import CsatRepository
from plugin.store.db import Database
from plugin.store.deliveries import BACKFILL_DAYS, DeliveryRepository
from plugin.store.events import EventRepository
from plugin.store.failures import FailureRepository
from plugin.store.health import HealthRepository, account_target, sink_target
from plugin.store.identity import IdentityRepository
from plugin.store.inbox import InboxRepository
from plugin.store.intake import IntakeRepository
from plugin.store.notices import NoticeRepository
from plugin.store.outbox import OutboxRepository
from plugin.store.quarantine import QuarantineRepository
from plugin.store.rate_budgets import RateBudgetRepository
from plugin.store.service import ServiceRepository
from plugin.store.statuses import DeliveryStatus, MentionStatus, ReplyStatus
from plugin.store.streams import ReplyStreamRepository
from plugin.store.tenants import TenantRepository
from plugin.store.ticketlinks import TicketLinkRepository
from plugin.store.trust import TrustRepository

# AccountRow and BACKFILL_DAYS lived here before the split; their old import path keeps working.
__all__ = ["BACKFILL_DAYS", "AccountRow", "Store"]


class Store:
    def __init__(self, db: Database, box: SecretBox):
        self.db = db
        self.box = box
        self.tenants = TenantRepository(db, box)
        # ``accounts(...)`` below is the widely used listing, hence the longer name.
        self.brand_accounts = AccountRepository(db, box)
        self.inbox = InboxRepository(db)
        self.deliveries = DeliveryRepository(db)
        self.outbox = OutboxRepository(db)
        self.identity = IdentityRepository(db)
        self.events = EventRepository(db)
        # Install codes, signing keys and revocation (the trust model, plugin/zendesk/trust.py).
        self.trust = TrustRepository(db, box)
        self.rate_pauses = RatePauseRepository(db)
        self.callback_budgets = CallbackBudgetRepository(db)
        self.rate_budgets = RateBudgetRepository(db)  # token buckets per target (plugin.ratebudget)
        # OAuth states of the guided connect flows (plugin/connect/).
        self.connect_states = ConnectStateRepository(db, box)
        # The standalone console: admin users and sessions; failures an admin acts on (issue 15).
        self.admins = AdminRepository(db)
        self.failures = FailureRepository(db)
        # Service facts and the hourly rollup the dashboard reads (issue 16).
        self.service = ServiceRepository(db)
        self.csat = CsatRepository(db)
        self.ticket_links = TicketLinkRepository(db)  # which ticket holds a conversation (Zendesk notes)
        # Items no connector could read, and the truth about each account (issues 12 and 15).
        self.quarantine = QuarantineRepository(db)
        self.health = HealthRepository(db)
        # Change streams of agents' replies (Salesforce CDC) and their replay positions (issue 14).
        self.reply_streams = ReplyStreamRepository(db)
        # The webhook path: one write transaction per inbound batch, accounts cached per generation.
        self.intake = IntakeRepository(db)
        self.webhook_accounts = AccountCache(db, box)
        self.notices = NoticeRepository(db)

    # -- tenants and connections -------------------------------------------------------------
    def ensure_tenant(self, key: str, name: str = "") -> int:
        return self.tenants.ensure(key, name)

    def tenant_key(self, tenant_id: int) -> str:
        return self.tenants.key_of(tenant_id)

    def tenant_id(self, key: str) -> int | None:
        return self.tenants.id_of(key)

    def set_sink_connection(self, tenant_id: int, sink: str, config: dict[str, Any]) -> None:
        self.tenants.set_connection(tenant_id, sink, config)
        if self.health.clear(sink_target(sink, tenant_id)):  # new credentials: deliveries resume now
            self.deliveries.wake(tenant_id, sink)

    def disable_sink_connection(self, tenant_id: int, sink: str, reason: str) -> None:
        self.tenants.disable_connection(tenant_id, sink, reason)

    def sink_connection(self, tenant_id: int, sink: str) -> dict[str, Any] | None:
        return self.tenants.connection_config(tenant_id, sink)

    # -- accounts ----------------------------------------------------------------------------
    def upsert_account(
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
        account_id = self.brand_accounts.upsert(
            tenant_id, network, external_id, credentials, handle=handle, settings=settings, api_base=api_base
        )
        if self.health.clear(account_target(account_id)):  # reconnected: polls and replies resume now
            self.brand_accounts.wake_poll(account_id)
            self.outbox.wake_account(account_id)
        return account_id

    def update_account_settings(self, account_id: int, settings: dict[str, Any]) -> None:
        self.brand_accounts.update_settings(account_id, settings)

    def accounts(self, tenant_id: int | None = None) -> list[AccountRow]:
        return self.brand_accounts.all(tenant_id)

    def account(self, account_id: int) -> tuple[AccountRow, AccountContext] | None:
        return self.brand_accounts.get(account_id)

    def account_by_public_key(self, network: str, public_key: str) -> tuple[AccountRow, AccountContext] | None:
        return self.brand_accounts.by_public_key(network, public_key)

    def find_account(self, tenant_id: int, network: str, external_id: str) -> tuple[AccountRow, AccountContext] | None:
        return self.brand_accounts.find(tenant_id, network, external_id)

    # -- across aggregates -------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Queue sizes for ``doctor``, the health endpoint and metrics."""
        m, d, r = t.mentions.c, t.deliveries.c, t.replies.c
        with self.db.read() as conn:

            def count(table: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

            return {
                "mentions": count(t.mentions),
                "mentions_pending": count(t.mentions, m.status == MentionStatus.RECEIVED),
                "deliveries_pending": count(t.deliveries, d.status == DeliveryStatus.PENDING),
                "deliveries_delivered": count(t.deliveries, d.status == DeliveryStatus.DELIVERED),
                "deliveries_failed": count(t.deliveries, d.status == DeliveryStatus.FAILED),
                "replies_sent": count(t.replies, r.status == ReplyStatus.SENT),
                "replies_failed": count(t.replies, r.status.in_([ReplyStatus.FAILED, ReplyStatus.UNCERTAIN])),
                "replies_pending": count(t.replies, r.status.in_([ReplyStatus.PENDING, ReplyStatus.SENDING])),
                "replies_held": count(t.replies, r.status == ReplyStatus.HELD),
            }
