"""Handlers for the fake Bot API methods and the ``/_sandbox`` control surface.

The Bot API accepts parameters as a query string, form fields or a JSON body; in the first two,
object parameters (``reply_parameters``, ``allowed_updates``) arrive JSON-serialized.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Request, jsonify
from werkzeug.wrappers import Response

from . import photos
from .exceptions import TelegramApiError, bad_request
from .models import TelegramState


def params_of(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.args.items())
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            params.update(body)
    else:
        params.update(request.form.items())
        params.update(request.files.items())  # multipart uploads (sendPhoto's ``photo``)
    return params


def _json_param(params: dict[str, Any], key: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {key} JSON object") from None
    return value


def _int_param(params: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {key} specified") from None


def ok(result: Any) -> Response:
    return jsonify({"ok": True, "result": result})


def get_me(state: TelegramState, params: dict[str, Any]) -> Response:
    return ok(state.get_me())


def get_updates(state: TelegramState, params: dict[str, Any]) -> Response:
    allowed = _json_param(params, "allowed_updates")
    return ok(
        state.get_updates(
            _int_param(params, "offset"),
            _int_param(params, "limit", 100) or 100,
            float(_int_param(params, "timeout", 0) or 0),
            allowed if isinstance(allowed, list) else None,
        )
    )


def send_message(state: TelegramState, params: dict[str, Any]) -> Response:
    if "chat_id" not in params:
        raise bad_request("chat_id is empty")
    reply = _json_param(params, "reply_parameters")
    legacy = params.get("reply_to_message_id")  # pre-7.0 parameter, still accepted by Telegram
    if reply is None and legacy is not None:
        reply = {
            "message_id": _int_param(params, "reply_to_message_id"),
            "allow_sending_without_reply": params.get("allow_sending_without_reply") in (True, "true"),
        }
    return ok(state.send_message(params["chat_id"], params.get("text"), reply))


def get_chat(state: TelegramState, params: dict[str, Any]) -> Response:
    return ok(state.get_chat(params.get("chat_id")))


def set_webhook(state: TelegramState, params: dict[str, Any]) -> Response:
    allowed = _json_param(params, "allowed_updates")
    state.set_webhook(
        str(params.get("url") or ""),
        params.get("secret_token"),
        allowed if isinstance(allowed, list) else None,
        params.get("drop_pending_updates") in (True, "true", "True"),
    )
    return jsonify({"ok": True, "result": True, "description": "Webhook was set"})


def delete_webhook(state: TelegramState, params: dict[str, Any]) -> Response:
    state.delete_webhook(params.get("drop_pending_updates") in (True, "true", "True"))
    return jsonify({"ok": True, "result": True, "description": "Webhook was deleted"})


def get_webhook_info(state: TelegramState, params: dict[str, Any]) -> Response:
    return ok(state.webhook_info())


def get_file(state: TelegramState, params: dict[str, Any]) -> Response:
    return ok(state.get_file(params.get("file_id")))


Handler = Callable[[TelegramState, dict[str, Any]], Response]
METHODS: dict[str, Handler] = {
    "getme": get_me,
    "getupdates": get_updates,
    "sendmessage": send_message,
    "getchat": get_chat,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "getfile": get_file,
    "sendphoto": lambda state, params: ok(photos.send_photo(state, params)),
}


def call_method(state: TelegramState, method: str, params: dict[str, Any]) -> Response:
    handler = METHODS.get(method.lower())  # "All methods in the Bot API are case-insensitive."
    try:
        if handler is None:
            raise TelegramApiError(404, "Not Found")
        return handler(state, params)
    except TelegramApiError as exc:
        return exc.response()


# -- /_sandbox control surface ---------------------------------------------------------------------


def control(state: TelegramState, action: str, body: dict[str, Any]) -> Any:
    """Dispatch a ``POST /_sandbox/<action>`` body to the model; returns JSON-able data."""
    if action == "users":
        return state.add_user(int(body["id"]), body["first_name"], body.get("username"), body.get("last_name"))
    if action == "groups":
        return state.add_group(
            int(body["id"]), body["title"], type=body.get("type", "supergroup"), username=body.get("username")
        )
    if action == "private":
        return state.user_writes_private(int(body["user_id"]), body["text"], body.get("reply_to"))
    if action == "group":
        return state.user_writes_group(
            int(body["chat_id"]),
            int(body["user_id"]),
            body["text"],
            reply_to=body.get("reply_to"),
            text_mention=body.get("text_mention"),
        )
    if action == "edit":
        return state.user_edits(int(body["chat_id"]), int(body["message_id"]), body["text"])
    if action == "block":
        state.user_blocks_bot(int(body["user_id"]))
        return {}
    if action == "deliver":
        return {"delivered": state.deliver_webhook(body.get("limit"))}
    raise KeyError(action)
