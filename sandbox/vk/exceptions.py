"""VK API error shape (https://dev.vk.com/ru/reference/errors): HTTP 200 with

``{"error": {"error_code": N, "error_msg": "...", "request_params": [{"key": ..., "value": ...}]}}``.
Codes and messages below are those of VK's published error list (VKCOM/vk-api-schema errors.json).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from sandbox.base import json_response


class VKApiError(Exception):
    def __init__(self, error_code: int, error_msg: str):
        super().__init__(error_msg)
        self.error_code = error_code
        self.error_msg = error_msg

    def body(self, request_params: dict[str, Any] | None = None) -> dict[str, Any]:
        shown = [
            {"key": k, "value": str(v)}
            for k, v in (request_params or {}).items()
            if k != "access_token"  # VK never echoes the token
        ]
        return {"error": {"error_code": self.error_code, "error_msg": self.error_msg, "request_params": shown}}


def auth_failed() -> VKApiError:
    return VKApiError(5, "User authorization failed: invalid access_token (4).")


def too_many_requests() -> VKApiError:
    return VKApiError(6, "Too many requests per second")


def access_denied(what: str = "") -> VKApiError:
    return VKApiError(15, f"Access denied{': ' + what if what else ''}")


def comment_access_denied() -> VKApiError:
    """Error 211 (VK's error list): what ``wall.createComment`` answers a reply to a deleted comment."""
    return VKApiError(211, "Access to wall's comment denied")


def bad_param(what: str) -> VKApiError:
    return VKApiError(100, f"One of the parameters specified was missing or invalid: {what}")


def unknown_method() -> VKApiError:
    return VKApiError(3, "Unknown method passed")


def invalid_request(what: str) -> VKApiError:
    return VKApiError(8, f"Invalid request: {what}")


def invalid_user_id() -> VKApiError:
    return VKApiError(113, "Invalid user id")


def cant_send_without_permission() -> VKApiError:
    return VKApiError(901, "Can't send messages for users without permission")


def fault_body(status: int, retry_after: int) -> Response:
    """The ``error_response`` hook (budget refusals, injected faults): VK signals overload in its
    envelope (HTTP 200, error 6), and a server failure as a 5xx whose body still says ``Internal server
    error`` (code 10)."""
    if status == 429:
        return json_response(too_many_requests().body(), 200)
    return json_response(VKApiError(10, "Internal server error").body(), status)
