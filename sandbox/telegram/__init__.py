"""Fake Telegram Bot API (getMe, getUpdates, webhooks, sendMessage, getChat) with a webhook sender.

Start it from Python::

    from sandbox.telegram import create_app
    from sandbox.server import serve_in_thread
    app = create_app()                       # app.state is the TelegramState
    server = serve_in_thread(app)            # api_base for the connector: server.url
    app.state.add_user(1001, "Ann", "ann")
    app.state.user_writes_private(1001, "Hi, my order is late")
"""

from __future__ import annotations

from typing import Any

from sandbox.base import FakeService, ServiceSettings
from sandbox.faults import FaultPlan

from .exceptions import fault_body
from .models import TelegramState
from .urls import build_flask_app

__all__ = ["TelegramSandbox", "TelegramState", "create_app"]

# The WSGI app: the Bot API fake served with the common controls; ``state`` is the control surface.
TelegramSandbox = FakeService[TelegramState]


def create_app(
    state: TelegramState | None = None,
    plan: FaultPlan | None = None,
    settings: ServiceSettings | None = None,
    **kwargs: Any,
) -> TelegramSandbox:
    """``kwargs`` go to ``TelegramState`` when no state is given (bot_token, bot_username, clock...)."""
    state = state or TelegramState(**kwargs)
    return FakeService(build_flask_app(state), state, plan, settings, error_body=fault_body)
