"""Routing of the fake VK: ``/method/<name>``, the Long Poll server ``/wh<group_id>``, ``/_sandbox``."""

from __future__ import annotations

from functools import partial

from flask import Flask, jsonify, request
from werkzeug.wrappers import Response

from sandbox.base import action_response

from . import photos, responses
from .models import VKState


def build_flask_app(state: VKState) -> Flask:
    app = Flask("sandbox.vk")

    @app.route("/method/<name>", methods=["GET", "POST"])
    def method(name: str) -> Response:
        return jsonify(responses.call_method(state, name, request))

    @app.route("/wh<int:group_id>", methods=["GET", "POST"])
    def long_poll(group_id: int) -> Response:
        if group_id != state.group_id:
            return jsonify({"failed": 2})
        return jsonify(responses.long_poll(state, request))

    @app.post("/upload/photo")
    def upload_photo() -> Response:
        # The upload server answers JSON without the {"response": ...} envelope, as VK's does.
        return jsonify(photos.receive_upload(state, request))

    @app.get("/_sandbox/sent")
    def sent() -> Response:
        return jsonify({"comments": state.sent_comments, "messages": state.sent_messages})

    @app.get("/_sandbox/events")
    def events() -> Response:
        return jsonify({"events": state.events, "callback_log": state.callback_log})

    @app.post("/_sandbox/<action>")
    def control(action: str) -> Response:
        return action_response(partial(responses.control, state), action, request)

    return app
