"""Routing of the Meta fake: ``/{version}/{node}[/{edge}]`` for the Graph API (the version prefix is
optional, as on graph.facebook.com) and ``/_sandbox/...`` for the control surface."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.base import FakeApp
from sandbox.base import json_response as _json

from . import login
from .models import MetaState
from .responses import GraphApi

VERSION = re.compile(r"^v\d+\.\d+$")


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) and value else None


def control(state: MetaState, request: Request, action: str) -> Response:
    """The fake's control surface (tests, demo). Every body/answer is JSON."""
    data = request.get_json(silent=True) or {}
    try:
        if action == "pages" and request.method == "POST":
            page = state.add_page(
                data.get("page_id", "1000000001"),
                data.get("name", "Sandbox Brand"),
                data.get("token", "sandbox-page-token"),
                data.get("ig_id"),
                data.get("ig_username"),
            )
            return _json({"page_id": page.id, "ig_id": page.ig_id})
        if action == "people" and request.method == "POST":
            person = state.add_person(str(data["id"]), data["name"], data.get("username"))
            return _json({"id": person.id})
        if action == "inject/post" and request.method == "POST":
            post_id = state.inject_post(
                data["page_id"], data["author_id"], data["message"], _when(data.get("created_at"))
            )
            return _json({"id": post_id})
        if action == "inject/comment" and request.method == "POST":
            comment_id = state.inject_comment(
                data["post_id"],
                data["author_id"],
                data["message"],
                data.get("parent_id"),
                _when(data.get("created_at")),
            )
            return _json({"id": comment_id})
        if action == "inject/message" and request.method == "POST":
            mid = state.inject_message(
                data["page_id"],
                data["user_id"],
                data["text"],
                _when(data.get("created_at")),
                platform=data.get("platform", "messenger"),
            )
            return _json({"mid": mid})
        if action == "inject/ig_media" and request.method == "POST":
            return _json(
                {"id": state.inject_ig_media(data["ig_id"], data.get("caption", ""), _when(data.get("created_at")))}
            )
        if action == "inject/ig_comment" and request.method == "POST":
            comment_id = state.inject_ig_comment(
                data["media_id"], data["author_id"], data["text"], data.get("parent_id"), _when(data.get("created_at"))
            )
            return _json({"id": comment_id})
        if action == "edit" and request.method == "POST":
            state.edit(data["id"], data["text"])
            return _json({})
        if action == "delete" and request.method == "POST":
            state.delete(data["id"])
            return _json({})
        if action == "posted" and request.method == "GET":
            return _json({"data": state.posted_by_page(request.args.get("page_id"))})
        if action == "webhooks" and request.method == "GET":
            return _json({"data": state.pending_webhooks()})
        if action == "deliver" and request.method == "POST":
            return _json({"statuses": state.deliver_webhooks(data["url"], data.get("app_secret"))})
        if action == "throttle" and request.method == "POST":
            state.set_throttle(
                int(data.get("minutes", 1)),
                code=int(data.get("code", 80001)),
                requests_refused=int(data.get("requests", 1)),
            )
            return _json({})
    except KeyError as exc:
        return _json({"error": f"missing or unknown {exc}"}, status=400)
    return _json({"error": f"no control action {request.method} {action}"}, status=404)


class MetaApp(FakeApp[MetaState]):
    """The WSGI app (served by ``sandbox.base.FakeService``, see ``create_app``)."""

    def __init__(self, state: MetaState) -> None:
        super().__init__(state)
        self.api = GraphApi(state)

    def dispatch(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] == ["_sandbox"]:
            response = control(self.state, request, "/".join(parts[1:]))
        else:
            if parts and VERSION.match(parts[0]):
                parts = parts[1:]
            if not parts:
                response = _json(
                    {"error": {"message": "Unsupported request", "type": "GraphMethodException", "code": 100}},
                    status=400,
                )
            elif login.handles(self.state.login, request, parts):
                response = login.dispatch(self.state, self.state.login, request, parts)
            else:
                response = self.api.handle(request, parts)
        return response
