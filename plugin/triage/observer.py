"""Shared by the observer plugins (escalation, praise): a runtime, the rules, the notifier, and the
merged labels of a just-stored mention (computed once per mention, whichever observer asks first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from plugin import egress
from plugin.context import Tenant, tenant_context
from plugin.models import Labels, Mention
from plugin.store.triage import TriageRepository
from plugin.triage import merge_labels, pii
from plugin.triage.notify import Notice, Notifier
from plugin.triage.rules import RulesFile, TenantRules

if TYPE_CHECKING:
    from plugin.runtime import Runtime

CACHE_SIZE = 512
_cache: OrderedDict[tuple[int, str, str, str], Labels] = OrderedDict()
_cache_lock = threading.Lock()


def stored_labels(runtime: Runtime, mention: Mention, tenant: Tenant) -> Labels:
    """Every triage plugin's labels for a mention just stored, merged as the pipeline merges them
    (routing's own, when this process routed it first: see ``remember_labels``)."""
    key = (id(runtime.pm), tenant.key, mention.network, mention.external_id)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    with tenant_context(tenant):
        labels = merge_labels(runtime.hooks.triage(mention))
    remember_labels(runtime, mention, tenant, labels)
    return labels


def remember_labels(runtime: Runtime, mention: Mention, tenant: Tenant, labels: Labels) -> None:
    """The labels routing gave a mention: the observers announcing it afterwards (the announcer gives
    way to a burst of requests, so it often comes after the worker) use them instead of triaging the
    same mention a second time. Routing itself never reads them: its labels are its own."""
    key = (id(runtime.pm), tenant.key, mention.network, mention.external_id)
    with _cache_lock:
        _cache[key] = labels
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


class ObserverBase:
    """Holds what an observer needs once the runtime exists; does nothing before (e.g. in the CLI)."""

    event_kind = "triage_notification"

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self.rules: RulesFile | None = None
        self.notifier: Notifier | None = None
        self.repository: TriageRepository | None = None
        self._tenant_ids: dict[str, int] = {}  # tenant keys never change their id

    def start(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.rules = RulesFile(settings.triage_rules or None)
        self.repository = TriageRepository(runtime.db)
        self.notifier = Notifier(
            backoff_base=settings.backoff_base_seconds,
            backoff_cap=settings.backoff_cap_seconds,
            smtp_url=settings.smtp_url,
            smtp_from=settings.smtp_from,
            on_result=self._recorded,
            recorder=self._record,
            allowed_hosts=egress.allowed_hosts(settings.allowed_private_hosts),
        )

    def context(self, mention: Mention, tenant_key: str) -> tuple[Tenant, TenantRules, Labels] | None:
        if self.runtime is None or self.rules is None:
            return None
        tenant_id = self._tenant_ids.get(tenant_key) or self.runtime.store.tenant_id(tenant_key)
        if tenant_id is None:
            raise ValueError(f"mention stored for unknown tenant {tenant_key!r}")
        self._tenant_ids[tenant_key] = tenant_id
        tenant = Tenant(id=tenant_id, key=tenant_key)
        return tenant, self.rules.for_tenant(tenant_key), stored_labels(self.runtime, mention, tenant)

    def send(self, tenant: Tenant, notices: list[Notice]) -> None:
        assert self.notifier is not None
        for notice in notices:
            self.notifier.submit(notice)

    def record(self, tenant: Tenant, kind: str, data: dict[str, Any]) -> None:
        """Queue an event row: written by the sender thread, so a mention's ingest never waits for it
        (the escalation is also on the mention's labels and tags once it is routed)."""
        assert self.notifier is not None
        self.notifier.submit(Notice("record", kind, kind, data | {"tenant_id": tenant.id}))

    def _record(self, notice: Notice) -> None:
        if self.repository is None:
            return
        # A store failure raises RecordFailed (a RuntimeError): the notifier retries it with backoff.
        self.repository.record(notice.payload.get("tenant_id"), notice.target, notice.payload)

    def _recorded(self, notice: Notice, status: str, attempts: int, error: str | None) -> None:
        if self.repository is None:
            return
        data: dict[str, Any] = {
            "channel": notice.channel,
            "target": notice.target,
            "subject": notice.subject,
            "status": status,
            "attempts": attempts,
            "error": error,
            "mention": notice.payload.get("mention"),
        }
        self.repository.record(notice.payload.get("tenant_id"), self.event_kind, data)


def mention_summary(mention: Mention, labels: Labels, tenant: Tenant) -> dict[str, Any]:
    """What a notice says: where to look, and the text without its personal data."""
    return {
        "tenant": tenant.key,
        "tenant_id": tenant.id,
        "mention": f"{mention.network}:{mention.external_id}",
        "network": mention.network,
        "account": mention.account,
        "url": mention.url,
        "author": mention.author.handle or mention.author.external_id,
        # Notices leave horseshoe: personal data is redacted even from a private message.
        "text": pii.scan(mention.text).redacted() if labels.pii else mention.text,
        "language": labels.language,
        "intent": labels.intent,
        "priority": labels.priority,
        "created_at": mention.created_at.isoformat(),
    }
