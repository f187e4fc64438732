"""What every fake service is built from, moto-style: a ``FakeBackend`` holds the state, a ``FakeService``
serves it with the common ``/_sandbox`` controls, latency, a request budget and fault injection.

A fake then only brings its own pieces: models (a ``FakeBackend`` subclass), responses, urls, and
exceptions (``FakeError`` subclasses plus an ``error_response`` hook for refusals and injected faults).
"""

from .app import FakeApp
from .backend import FakeBackend
from .control import action_response
from .errors import FakeError, json_response
from .faults import clear_faults, plan_settings
from .ratelimit import RequestBudget, Verdict, Window, current_window
from .service import MEASURING_CRM_LATENCY, FakeService, ServiceSettings

__all__ = [
    "MEASURING_CRM_LATENCY",
    "FakeApp",
    "FakeBackend",
    "FakeError",
    "FakeService",
    "RequestBudget",
    "ServiceSettings",
    "Verdict",
    "Window",
    "action_response",
    "clear_faults",
    "current_window",
    "json_response",
    "plan_settings",
]
