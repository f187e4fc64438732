"""``FakeService``: the WSGI app every fake is served as (moto's BaseResponse, in small).

It wraps the fake's own app (its routes, its handlers) with what all fakes share: the common
``/_sandbox/*`` control routes (see control.py), an optional latency per call, an optional request
budget per window, and fault injection (``sandbox.faults.FaultMiddleware``). Latency, budget and faults
apply to API calls only, never to ``/_sandbox`` control calls, so a test can always reach the controls.

Refusals and injected faults are answered by ``error_response(status, retry_after)``, the hook through
which each service keeps its own documented error format (Zendesk's JSON, VK's HTTP-200 envelope...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from werkzeug.wrappers import Request, Response

from sandbox.faults import ErrorBody, FaultMiddleware, FaultPlan, default_error_body

from . import control
from .backend import FakeBackend
from .ratelimit import RequestBudget

StateT = TypeVar("StateT", bound=FakeBackend)

CONTROL_PREFIX = "/_sandbox"


# What a CRM call takes when measuring (``horseshoe sandbox --measure``, the benchmarks): Zendesk and
# Salesforce answer a small API call in tens of milliseconds from a nearby region. Tests keep 0.
MEASURING_CRM_LATENCY = 0.05


@dataclass
class ServiceSettings:
    """How a fake paces its API: both off by default, so tests run at full speed."""

    latency: float = 0.0  # seconds added to every API call
    rate_limit: int | None = None  # API calls allowed per window (all callers together); None: no limit
    rate_window: float = 60.0  # seconds


class FakeService(FaultMiddleware, Generic[StateT]):
    """A fake service: ``app`` its own WSGI app, ``state`` its backend, ``plan`` its faults."""

    def __init__(
        self,
        app: Any,
        state: StateT,
        plan: FaultPlan | None = None,
        settings: ServiceSettings | None = None,
        *,
        error_body: ErrorBody = default_error_body,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(app, plan if plan is not None else FaultPlan(), self.error_response)
        self.state = state
        self.settings = settings if settings is not None else ServiceSettings()
        self._error_body = error_body
        self._sleep = sleep
        self.budget = RequestBudget(self.settings.rate_limit, self.settings.rate_window, clock=clock)

    # -- the hook ----------------------------------------------------------------------------------
    def error_response(self, status: int, retry_after: int) -> Response:
        """How this service answers a refused or faulted call (429 carries ``Retry-After``).

        Override, or pass ``error_body``, to answer in the service's documented format."""
        return self._error_body(status, retry_after)

    # -- settings ----------------------------------------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self.settings.latency = seconds

    def set_rate_limit(self, requests: int | None, window: float | None = None) -> None:
        self.budget.configure(requests, window)
        self.settings.rate_limit = self.budget.limit
        self.settings.rate_window = self.budget.window

    def reset(self, **options: Any) -> None:
        """Forget the fake's state (``options`` go to ``state.reset``) and the budget spent so far.
        Faults, latency and the budget's size are settings and stay as they are."""
        self.state.reset(**options)
        self.budget.clear()

    # -- WSGI --------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            answered = control.handle(self, request)
            if answered is not None:
                return answered(environ, start_response)
        else:
            if self.settings.latency > 0:
                self._sleep(self.settings.latency)
            verdict = self.budget.take()
            if not verdict.allowed:
                return self.error_response(429, verdict.retry_after)(environ, start_response)
        return super().__call__(environ, start_response)
