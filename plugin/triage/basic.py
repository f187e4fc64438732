"""The built-in ``horseshoe_triage`` plugin: language, intent, sentiment, PII, priority and engage.

Registered as a default plugin like any third party's. Pluggy calls it last, and results merge with
earlier plugins winning, so a third-party triage plugin replaces any field it fills (its own intent
model, its own priority) while this one fills the rest. Follower counts are never read here: influence
buys nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from plugin.context import current_tenant
from plugin.models import Labels, Mention
from plugin.plugins import hookimpl
from plugin.store.triage import TriageRepository
from plugin.triage.classifier import shipped_model
from plugin.triage.engine import Triager
from plugin.triage.pii import detect_pii
from plugin.triage.rules import RulesFile

if TYPE_CHECKING:
    from plugin.runtime import Runtime

__all__ = ["TriagePlugin", "detect_pii"]  # detect_pii: the reply guard's import path

# The observers (escalation, praise) triage a mention the moment it is stored, and ``route`` triages it
# again moments later: the second call reuses the first answer instead of paying twice.
CACHE_SIZE = 1024
CACHE_SECONDS = 60.0


class TriagePlugin:
    def __init__(self) -> None:
        self._triager: Triager | None = None
        self._recent: OrderedDict[tuple[str, str, str, str], tuple[float, Labels]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def triager(self) -> Triager:
        if self._triager is None:  # no runtime (``horseshoe triage FILE``): no store look-ups
            self._triager = Triager(RulesFile(), shipped_model())
        return self._triager

    @hookimpl
    def horseshoe_startup(self, runtime: Runtime) -> None:
        rules = RulesFile(runtime.settings.triage_rules or None)
        self._triager = Triager(rules, shipped_model(), TriageRepository(runtime.db))

    @hookimpl
    def horseshoe_triage(self, mention: Mention) -> Labels:
        tenant = current_tenant()
        key = (tenant.key if tenant else "", mention.network, mention.external_id, mention.text)
        now = time.monotonic()
        with self._lock:
            hit = self._recent.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        labels = self.triager.label(mention, tenant)
        with self._lock:
            self._recent[key] = (now, labels)
            while len(self._recent) > CACHE_SIZE:
                self._recent.popitem(last=False)
        return labels
