"""Mastodon's documented error shape: ``{"error": "..."}`` with the HTTP status carrying the kind.

Sources: docs.joinmastodon.org/methods/statuses (401 "The access token is invalid", 404 "Record not
found", 422 "Validation failed: ..."), docs.joinmastodon.org/api/rate-limits (429 + X-RateLimit-*).
"""

from __future__ import annotations

from typing import Any

from sandbox.base import FakeError

JSON_TYPE = "application/json; charset=utf-8"


class MastodonError(FakeError):
    """An error the fake answers with, in Mastodon's own shape."""

    content_type = JSON_TYPE

    def body(self) -> Any:
        return {"error": self.message}


class Unauthorized(MastodonError):
    status = 401

    def __init__(self, message: str = "The access token is invalid"):
        super().__init__(message)


class Forbidden(MastodonError):
    status = 403

    def __init__(self, message: str = "This action is not allowed"):
        super().__init__(message)


class NotFound(MastodonError):
    status = 404

    def __init__(self, message: str = "Record not found"):
        super().__init__(message)


class Unprocessable(MastodonError):
    status = 422


class TooManyRequests(MastodonError):
    status = 429

    def __init__(self, headers: dict[str, str]):
        super().__init__("Too many requests", headers=headers)
