"""Praise routing (observer plugin) and the Social Promoter Score.

Praise that names someone in the tenant's employee directory (``employees`` in the triage rules:
names, handles, manager) is tagged by the engine (``praise_<id>``) and sent here to that employee and
their manager, the same way as security notices (webhook and/or email).

SPS per period = share of promoting mentions minus share of detracting ones (x100), computed from the
labels stored with every mention, so any period can be charted without a second copy of the data.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from plugin.models import Mention
from plugin.plugins import hookimpl
from plugin.store.rollups import detracting, promoting
from plugin.store.triage import TriageRepository
from plugin.triage.notify import Notice
from plugin.triage.observer import ObserverBase, mention_summary

if TYPE_CHECKING:
    from plugin.runtime import Runtime

EVENT = "praise_routed"
PERIODS = {"day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m"}


class PraisePlugin(ObserverBase):
    @hookimpl
    def horseshoe_startup(self, runtime: Runtime) -> None:
        self.start(runtime)

    @hookimpl
    def horseshoe_mention_stored(self, mention: Mention, mention_id: int, tenant: str) -> None:
        found = self.context(mention, tenant)
        if found is None:
            return
        owner, rules, labels = found
        named = set((labels.model_extra or {}).get("praise_employees") or [])
        if not named or labels.engage is False:
            return
        summary = mention_summary(mention, labels, owner) | {"event": EVENT, "mention_id": mention_id}
        notices: list[Notice] = []
        for employee in rules.employees:
            if employee.id not in named:
                continue
            subject = f"Praise for {employee.names[0] if employee.names else employee.id} on {mention.network}"
            body = summary | {"employee": employee.id}
            for target in (employee.webhook_url, employee.manager.get("webhook_url")):
                if target:
                    notices.append(Notice("webhook", target, subject, body))
            for address in (employee.email, employee.manager.get("email")):
                if address:
                    notices.append(Notice("email", address, subject, body))
        self.record(owner, EVENT, summary | {"employees": sorted(named), "notices": len(notices)})
        self.send(owner, notices)


def social_promoter_score(
    repository: TriageRepository, tenant_id: int | None, since: datetime, period: str = "day"
) -> list[dict[str, Any]]:
    """One row per period: counted mentions (not skipped, not spam), promoters, detractors, SPS."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}")
    buckets: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for created, labels in repository.labelled(tenant_id, since):
        if labels.get("engage") is False or labels.get("intent") == "spam":
            continue
        bucket = buckets[created.strftime(PERIODS[period])]
        bucket[0] += 1
        bucket[1] += promoting(labels)
        bucket[2] += detracting(labels)
    return [
        {
            "period": key,
            "mentions": total,
            "promoters": pro,
            "detractors": det,
            "sps": round(100.0 * (pro - det) / total, 1) if total else 0.0,
        }
        for key, (total, pro, det) in sorted(buckets.items())
    ]
