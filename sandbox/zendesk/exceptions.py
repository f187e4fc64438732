"""Zendesk's own error shapes.

The REST API answers errors as ``{"error": ..., "description": ...}`` (and ``details`` for
``RecordInvalid``); an unauthenticated request gets ``{"error": "Couldn't authenticate you"}``;
a bad OAuth bearer token gets the OAuth shape ``{"error": "invalid_token", "error_description": ...}``.
Each exception knows its HTTP status and body so handlers can simply raise.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from sandbox.base import FakeError


class ZendeskError(FakeError):
    content_type = "application/json; charset=utf-8"

    def __init__(self, body: dict[str, Any], status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(json.dumps(body), status=status, headers=headers)
        self.error_body = body

    def body(self) -> dict[str, Any]:
        return self.error_body


class CouldNotAuthenticate(ZendeskError):
    status = 401

    def __init__(self) -> None:
        super().__init__({"error": "Couldn't authenticate you"})


class InvalidToken(ZendeskError):
    """An OAuth bearer token that Zendesk does not recognise (the OAuth error shape)."""

    status = 401

    def __init__(self) -> None:
        super().__init__(
            {
                "error": "invalid_token",
                "error_description": "The access token provided is expired, revoked, malformed or invalid "
                "for other reasons.",
            }
        )


class Forbidden(ZendeskError):
    status = 403

    def __init__(
        self,
        description: str = "You do not have access to this page. Please contact the account "
        "owner of this help desk for further help.",
    ) -> None:
        super().__init__({"error": "Forbidden", "description": description})


class RecordNotFound(ZendeskError):
    status = 404

    def __init__(self, description: str = "Not found") -> None:
        super().__init__({"error": "RecordNotFound", "description": description})


class InvalidEndpoint(ZendeskError):
    status = 404

    def __init__(self) -> None:
        super().__init__({"error": "InvalidEndpoint", "description": "Not found"})


class RecordInvalid(ZendeskError):
    """422 with per-field details, e.g. ``{"email": [{"description": ..., "error": "DuplicateValue"}]}``."""

    status = 422

    def __init__(self, details: dict[str, list[dict[str, str]]], description: str = "Record validation errors"):
        super().__init__({"error": "RecordInvalid", "description": description, "details": details})


class InvalidParams(ZendeskError):
    """Malformed request parameters (a push body that is not the documented object, for example)."""

    status = 422

    def __init__(self, description: str) -> None:
        super().__init__({"error": "InvalidParams", "description": description})


class BadRequest(ZendeskError):
    status = 400

    def __init__(self, description: str) -> None:
        super().__init__({"error": "BadRequest", "description": description})


class RateLimited(ZendeskError):
    """429 with ``Retry-After`` (seconds), which zenpy honours before retrying."""

    status = 429

    def __init__(self, retry_after: int, limit: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)}
        if limit is not None:
            headers["X-Rate-Limit"] = str(limit)
            headers["X-Rate-Limit-Remaining"] = "0"
        super().__init__(
            {
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed API requests per minute exceeded",
            },
            headers=headers,
        )


def fault_body(status: int, retry_after: int) -> Response:
    """Budget refusals and injected faults (the ``FakeService.error_response`` hook), in Zendesk's shape."""
    if status == 429:
        return RateLimited(retry_after).response()
    if status >= 500:
        body = {"error": "ServiceUnavailable", "description": "Zendesk is temporarily unavailable"}
        return ZendeskError(body, status=status).response()
    if status == 422:
        # Zendesk's own shape for a record it will not accept (a scripted fault stands for one).
        body = {"error": "RecordInvalid", "description": "Record validation errors"}
        return ZendeskError(body, status=status).response()
    return ZendeskError({"error": "InjectedFault", "description": f"HTTP {status}"}, status=status).response()
