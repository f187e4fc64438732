"""Handlers for the fake VK API methods, the Bots Long Poll endpoint and ``/_sandbox`` controls.

VK accepts method parameters as a query string or form fields; the token as ``access_token`` or an
``Authorization: Bearer`` header; ``v`` is mandatory (error 8 without it).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from flask import Request

from . import photos, search, servers
from .exceptions import VKApiError, auth_failed, invalid_request, unknown_method
from .models import VKState


def params_of(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.args.items())
    params.update(request.form.items())
    return params


def _token(request: Request, params: dict[str, Any]) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return str(params.get("access_token") or "")


Method = Callable[[VKState, dict[str, Any], Request], Any]


def _with_attachments(send: Callable[[dict[str, Any]], Any], sent: list[dict[str, Any]], state: VKState,
                      params: dict[str, Any]) -> Any:  # fmt: skip
    names = photos.attachments(state, params)
    before = len(sent)
    result = send(params)
    for item in sent[before:]:
        item["attachments"] = names
    return result


METHODS: dict[str, Method] = {
    "wall.createcomment": lambda s, p, r: _with_attachments(s.create_comment, s.sent_comments, s, p),
    "messages.send": lambda s, p, r: _with_attachments(s.send_message, s.sent_messages, s, p),
    "photos.getwalluploadserver": lambda s, p, r: photos.upload_server(s, "wall", r.host_url),
    "photos.getmessagesuploadserver": lambda s, p, r: photos.upload_server(s, "messages", r.host_url),
    "photos.savewallphoto": lambda s, p, r: photos.save(s, p, "wall"),
    "photos.savemessagesphoto": lambda s, p, r: photos.save(s, p, "messages"),
    "users.get": lambda s, p, r: s.users_get(p),
    "groups.getbyid": lambda s, p, r: s.groups_get_by_id(p),
    "groups.getlongpollserver": lambda s, p, r: s.get_long_poll_server(p, r.host_url),
    "groups.getcallbackconfirmationcode": lambda s, p, r: servers.confirmation_code(s, p),
    "groups.addcallbackserver": lambda s, p, r: servers.add_server(s, p),
    "groups.getcallbackservers": lambda s, p, r: servers.get_servers(s, p),
    "groups.setcallbacksettings": lambda s, p, r: servers.set_settings(s, p),
    "groups.getcallbacksettings": lambda s, p, r: servers.get_settings(s, p),
    "newsfeed.search": lambda s, p, r: None,  # answered before the community-token check (search.py)
}


def call_method(state: VKState, method: str, request: Request) -> dict[str, Any]:
    params = params_of(request)
    try:
        handler = METHODS.get(method.lower())
        if handler is None:
            raise unknown_method()
        token = _token(request, params)
        if not params.get("v"):
            raise invalid_request("v (version) is required")
        if method.lower() == "newsfeed.search":  # user or service token, never the community's
            state.check_rate()
            return {"response": search.newsfeed_search(state, token, params)}
        if not hmac.compare_digest(token.encode(), state.access_token.encode()):
            raise auth_failed()
        state.check_rate()
        return {"response": handler(state, params, request)}
    except VKApiError as exc:
        return exc.body({"method": method, **params})


def long_poll(state: VKState, request: Request) -> dict[str, Any]:
    params = params_of(request)
    if params.get("act") != "a_check":
        return {"failed": 2}
    try:
        wait = float(params.get("wait", 0))
    except ValueError:
        wait = 0.0
    return state.a_check(str(params.get("key", "")), str(params.get("ts", "")), wait)


def control(state: VKState, action: str, body: dict[str, Any]) -> Any:
    if action == "users":
        return state.add_user(int(body["id"]), body["first_name"], body.get("last_name", ""), body.get("screen_name"))
    if action == "community_post":
        return state.community_posts(body["text"])
    if action == "wall_post":
        return state.user_posts_on_wall(int(body["user_id"]), body["text"])
    if action == "comment":
        return state.user_comments(
            int(body["user_id"]), int(body["post_id"]), body["text"], body.get("reply_to_comment")
        )
    if action == "edit_comment":
        return state.user_edits_comment(int(body["comment_id"]), body["text"])
    if action == "delete_comment":
        return state.user_deletes_comment(int(body["comment_id"]), body.get("deleter_id"))
    if action == "public_post":
        return search.user_posts_publicly(state, int(body["user_id"]), body["text"])
    if action == "message":
        return state.user_messages(int(body["user_id"]), body["text"], body.get("reply_to_cmid"))
    if action == "callback":
        state.set_callback_server(body["url"])
        return {"confirmed": state.confirm_callback()}
    if action == "deliver":
        return {"delivered": state.deliver_callbacks(body.get("limit"))}
    if action == "expire_key":
        state.expire_key()
        return {}
    if action == "lose_history":
        state.lose_history()
        return {}
    raise KeyError(action)
