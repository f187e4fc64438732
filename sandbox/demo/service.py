"""The demo summary's service figures, read from horseshoe's own rollup like the dashboard reads them."""

from __future__ import annotations

from typing import Any

from plugin import businesshours
from plugin.dashboard import figures
from plugin.runtime import Runtime
from plugin.store.db import utcnow
from plugin.worker import resolutions
from sandbox.demo.day import window


def service_figures(runtime: Runtime, tenant: str) -> dict[str, Any]:
    """``sla_1h`` (share answered within an hour, in %), ``sps``, and the rest of the headline figures."""
    resolutions.sync(runtime, force=True)  # the agents' last solves, not only those the worker read
    tenant_id = runtime.store.tenant_id(tenant)
    assert tenant_id is not None
    now = utcnow()
    rows = runtime.store.service.hours(tenant_id, now - window(), now)
    clock = businesshours.stored(runtime.store.csat.business_hours(tenant_id))
    totals = figures.summary(rows, figures.parse_thresholds(runtime.settings.sla_minutes), now, clock=clock)
    sla = {s["threshold_minutes"]: s["share"] for s in totals["sla"]}
    return {
        "sla_1h": sla.get(60),
        "sla_6h": sla.get(360),
        "sla_24h": sla.get(1440),
        "sps": totals["sps"],
        "answered": totals["answered"],
        "unanswered": totals["unanswered"],
        "resolved": totals["resolved"],
        "csat_ratings": totals["csat"]["answered"],
    }
