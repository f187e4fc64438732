"""Telegram Bot API error shapes (https://core.telegram.org/bots/api#making-requests).

Every answer is ``{"ok": false, "error_code": N, "description": "..."}``, optionally with
``parameters`` (``ResponseParameters``: ``retry_after`` for flood control, ``migrate_to_chat_id``).
The HTTP status equals ``error_code``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from sandbox.base import FakeError


class TelegramApiError(FakeError):
    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None):
        super().__init__(description, status=error_code)  # the HTTP status equals error_code
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


def bad_request(what: str) -> TelegramApiError:
    return TelegramApiError(400, f"Bad Request: {what}")


def forbidden(what: str) -> TelegramApiError:
    return TelegramApiError(403, f"Forbidden: {what}")


def too_many_requests(retry_after: int) -> TelegramApiError:
    return TelegramApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


UNAUTHORIZED = TelegramApiError(401, "Unauthorized")
NOT_FOUND = TelegramApiError(404, "Not Found")
WEBHOOK_ACTIVE = TelegramApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
)


def fault_body(status: int, retry_after: int) -> Response:
    """The ``FakeService.error_response`` hook: refusals and injected faults in the Bot API envelope."""
    if status == 429:
        return too_many_requests(retry_after).response()
    names = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return TelegramApiError(status, names.get(status, f"Error {status}")).response()
