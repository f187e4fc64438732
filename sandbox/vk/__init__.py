"""Fake VK: API methods, Bots Long Poll server and a Callback API sender.

Start it from Python::

    from sandbox.vk import create_app
    from sandbox.server import serve_in_thread
    app = create_app()                     # app.state is the VKState
    server = serve_in_thread(app)          # api_base for the connector: server.url
    app.state.add_user(501, "Ivan", "Petrov")
    post = app.state.community_posts("New opening hours")
    app.state.user_comments(501, post["object"]["id"], "Are you open on Sunday?")
"""

from __future__ import annotations

from typing import Any

from sandbox.base import FakeService, ServiceSettings
from sandbox.faults import FaultPlan

from .exceptions import fault_body
from .models import VKState
from .urls import build_flask_app

__all__ = ["VKSandbox", "VKState", "create_app"]

# The WSGI app: the VK fake served with the common controls; ``state`` is the control surface.
VKSandbox = FakeService[VKState]


def create_app(
    state: VKState | None = None,
    plan: FaultPlan | None = None,
    settings: ServiceSettings | None = None,
    **kwargs: Any,
) -> VKSandbox:
    """``kwargs`` go to ``VKState`` when no state is given (group_id, access_token, secret...)."""
    state = state or VKState(**kwargs)
    return FakeService(build_flask_app(state), state, plan, settings, error_body=fault_body)
