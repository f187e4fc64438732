"""``create_app``: the fake Salesforce as a WSGI app wrapped in the shared fault middleware."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

from sandbox.faults import FaultMiddleware, FaultPlan

from .models import SalesforceState
from .responses import JSON_TYPE, Handlers

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
    """Injected faults in Salesforce's error-array shape."""
    if status == 429:
        body = [{"message": "Too many requests. Try again later.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        return Response(json.dumps(body), status=429, content_type=JSON_TYPE, headers={"Retry-After": str(retry_after)})
    if status == 503:
        body = [{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    else:
        body = [{"message": "An unexpected error occurred. Please include this ErrorId if you contact support: "
                 "sandbox-injected-fault", "errorCode": "UNKNOWN_EXCEPTION"}]  # fmt: skip
    return Response(json.dumps(body), status=status, content_type=JSON_TYPE)


class SalesforceApp(FaultMiddleware):
    """The WSGI app; ``.state`` is the org state and ``.plan`` the fault plan, both live."""

    def __init__(self, state: SalesforceState, plan: FaultPlan):
        super().__init__(Handlers(state), plan, error_body=salesforce_fault_body)
        self.state = state


def create_app(state: SalesforceState | None = None, plan: FaultPlan | None = None) -> SalesforceApp:
    return SalesforceApp(state if state is not None else seeded_state(), plan if plan is not None else FaultPlan())
