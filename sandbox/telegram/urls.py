"""Routing of the fake Telegram Bot API: ``/bot<token>/<method>`` and ``/_sandbox/...``."""

from __future__ import annotations

import hmac
from functools import partial

from flask import Flask, jsonify, request
from werkzeug.wrappers import Response

from sandbox.base import action_response

from . import responses
from .exceptions import NOT_FOUND, UNAUTHORIZED
from .models import TelegramState


def build_flask_app(state: TelegramState) -> Flask:
    app = Flask("sandbox.telegram")

    @app.route("/bot<path:token>/<method>", methods=["GET", "POST"])
    def bot_method(token: str, method: str) -> Response:
        if not hmac.compare_digest(token.encode(), state.bot_token.encode()):
            return UNAUTHORIZED.response()
        return responses.call_method(state, method, responses.params_of(request))

    @app.get("/_sandbox/sent")
    def sent() -> Response:
        return jsonify(state.sent)

    @app.get("/_sandbox/updates")
    def pending() -> Response:
        return jsonify(state.updates)

    @app.get("/_sandbox/webhook")
    def webhook() -> Response:
        return jsonify({"webhook": state.webhook, "deliveries": state.webhook_deliveries})

    @app.post("/_sandbox/<action>")
    def control(action: str) -> Response:
        return action_response(partial(responses.control, state), action, request)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Response:
        return NOT_FOUND.response()

    return app
