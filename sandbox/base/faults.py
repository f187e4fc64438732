"""Helpers around ``sandbox.faults.FaultPlan`` that every fake and test needs (the plan itself stays there)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sandbox.faults import FaultPlan

# Kept by ``clear_faults`` unless given: the seed (the RNG restarts from it, so runs replay) and how long a
# held connection lasts (a property of the test's client timeouts, not a fault).
_KEPT = ("seed", "timeout_seconds")


def plan_settings(plan: FaultPlan) -> dict[str, Any]:
    """Every setting of the plan and what it has injected so far (``GET /_sandbox/faults``)."""
    settings = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan)}
    settings["paths"] = list(plan.paths)
    settings["scripted"] = list(plan.scripted)
    return {**settings, "injected": dict(plan.injected)}


def clear_faults(plan: FaultPlan, **settings: Any) -> None:
    """No faults any more: every setting back to its default (kind of fault added later included), the
    RNG restarted from the plan's seed; ``settings`` override (e.g. ``seed=0``)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(plan):
        if f.name in _KEPT:
            values[f.name] = getattr(plan, f.name)
        elif f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            values[f.name] = f.default_factory()
    values.update(settings)
    plan.configure(**values)
