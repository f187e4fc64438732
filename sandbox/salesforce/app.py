"""``create_app``: the fake Salesforce as a WSGI app, served by ``sandbox.base.FakeService``."""

from __future__ import annotations

from werkzeug.wrappers import Response

from sandbox.base import FakeService, ServiceSettings
from sandbox.faults import FaultPlan

from .models import SalesforceState
from .responses import Handlers
from .wire import json_body

# Demo/test defaults for the org ``create_app`` seeds when given no state. Not real credentials.
DEFAULT_USERNAME = "agent@horseshoe.sandbox"
DEFAULT_PASSWORD = "sandbox-password"
DEFAULT_SECURITY_TOKEN = "SANDBOXTOKEN"
DEFAULT_CONSUMER_KEY = "horseshoe-sandbox-consumer-key"
DEFAULT_CONSUMER_SECRET = "horseshoe-sandbox-consumer-secret"


def seeded_state() -> SalesforceState:
    state = SalesforceState()
    org = state.create_org("Horseshoe Sandbox")
    state.create_user(DEFAULT_USERNAME, DEFAULT_PASSWORD, DEFAULT_SECURITY_TOKEN, org_id=org.id)
    state.register_app(DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, org_id=org.id)
    return state


def salesforce_fault_body(status: int, retry_after: int) -> Response:
    """Refusals and injected faults in Salesforce's error-array shape."""
    if status == 429:
        body = [{"message": "Too many requests. Try again later.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        return json_body(body, 429, {"Retry-After": str(retry_after)})
    if status == 503:
        body = [{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    else:
        body = [{"message": "An unexpected error occurred. Please include this ErrorId if you contact support: "
                 "sandbox-injected-fault", "errorCode": "UNKNOWN_EXCEPTION"}]  # fmt: skip
    return json_body(body, status)


# The WSGI app; ``.state`` is the org state and ``.plan`` the fault plan, both live.
SalesforceApp = FakeService[SalesforceState]


def create_app(
    state: SalesforceState | None = None, plan: FaultPlan | None = None, settings: ServiceSettings | None = None
) -> SalesforceApp:
    state = state if state is not None else seeded_state()
    return FakeService(Handlers(state), state, plan, settings, error_body=salesforce_fault_body)
