"""The sandbox's harness base: the packaged ``plugin.testing.Harness`` plus the fault plan every
sandbox fake carries (``sandbox.faults.FaultMiddleware``), so scripted statuses reach the connector as
real HTTP answers. Used by the conformance suite (tests/connectors/conformance) and ``horseshoe demo``.
"""

from __future__ import annotations

from plugin.testing.harness import CHECKS, FailureKind, Posted, json_request, with_headers
from plugin.testing.harness import Harness as _PackagedHarness
from sandbox.base import clear_faults
from sandbox.faults import FaultPlan

__all__ = ["CHECKS", "FailureKind", "Harness", "Posted", "json_request", "with_headers"]


class Harness(_PackagedHarness):
    @property
    def plan(self) -> FaultPlan:
        """The fake's fault plan (every sandbox fake is a ``sandbox.base.FakeService``, which carries it)."""
        plan: FaultPlan = self.app.plan
        return plan

    def clear_faults(self) -> None:
        clear_faults(self.plan, seed=0)

    def rate_limit_next(self, retry_after: int = 7) -> None:
        self.plan.configure(scripted=[429], retry_after=retry_after)

    def fail_next(self, kind: FailureKind) -> None:
        self.plan.configure(scripted=[503 if kind == "5xx" else 400])
