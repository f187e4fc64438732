"""The built-in ``horseshoe_triage`` plugin: language, intent, sentiment, PII, priority and engage.

Registered as a default plugin like any third party's. Pluggy calls it last, and results merge with
earlier plugins winning, so a third-party triage plugin replaces any field it fills (its own intent
model, its own priority) while this one fills the rest. Follower counts are never read here: influence
buys nothing.
"""

from __future__ import annotations

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


class TriagePlugin:
    def __init__(self) -> None:
        self._triager: Triager | None = None

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
        return self.triager.label(mention, current_tenant())
