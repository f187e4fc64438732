"""Fake of the Meta Graph API serving Facebook Pages, Messenger and Instagram (see models/responses).

state = MetaState(); state.add_page()          # page 1000000001, token "sandbox-page-token"
app = create_app(state)                         # WSGI, faults injectable via FaultPlan
server = serve_in_thread(app)                   # AccountContext(api_base=server.url)
state.inject_comment(state.inject_post(...), "2001", "help!")
state.deliver_webhooks("http://127.0.0.1:8000/webhooks/facebook/1000000001")
"""

from __future__ import annotations

from sandbox.base import FakeService, ServiceSettings
from sandbox.faults import FaultPlan

from .exceptions import GraphError, fault_error_body
from .models import DEFAULT_APP_SECRET, DEFAULT_IG_ID, DEFAULT_PAGE_ID, DEFAULT_TOKEN, MetaState
from .urls import MetaApp

__all__ = [
    "DEFAULT_APP_SECRET",
    "DEFAULT_IG_ID",
    "DEFAULT_PAGE_ID",
    "DEFAULT_TOKEN",
    "GraphError",
    "MetaState",
    "create_app",
]


def create_app(
    state: MetaState | None = None, plan: FaultPlan | None = None, settings: ServiceSettings | None = None
) -> FakeService[MetaState]:
    """The Meta fake as a WSGI app. ``app.state`` / ``app.plan`` give tests the control objects."""
    state = state or MetaState()
    return FakeService(MetaApp(state), state, plan, settings, error_body=fault_error_body)
