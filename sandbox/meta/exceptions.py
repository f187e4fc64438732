"""Graph API error objects, shaped as Meta documents them ("Graph API > Handling Errors").

``{"error": {"message", "type", "code", "error_subcode", "is_transient", "fbtrace_id"}}``
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from werkzeug.wrappers import Response

from sandbox.base import FakeError


def fbtrace_id() -> str:
    return secrets.token_urlsafe(8)


class GraphError(FakeError):
    def __init__(
        self,
        message: str,
        *,
        code: int,
        status: int = 400,
        type: str = "OAuthException",  # the field is called "type" on the wire
        subcode: int | None = None,
        is_transient: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status, headers=headers)
        self.code = code
        self.type = type
        self.subcode = subcode
        self.is_transient = is_transient

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "is_transient": self.is_transient,
            "fbtrace_id": fbtrace_id(),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


def invalid_token() -> GraphError:
    return GraphError("Invalid OAuth access token - Cannot parse access token", code=190)


def missing_object(object_id: str, method: str = "get") -> GraphError:
    return GraphError(
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        code=100,
        subcode=33,
        type="GraphMethodException",
    )


def invalid_param(message: str) -> GraphError:
    return GraphError(f"(#100) {message}", code=100, type="OAuthException")


def bad_proof() -> GraphError:
    return GraphError("Invalid appsecret_proof provided in the API argument", code=100, type="GraphMethodException")


def outside_window() -> GraphError:
    return GraphError(
        "(#10) This message is sent outside of allowed window.", code=10, subcode=2018278, type="OAuthException"
    )


def person_unavailable() -> GraphError:
    """Send API "(#551) This person isn't available right now." (Messenger Platform error codes: the
    recipient deleted or deactivated the account, or blocked the Page)."""
    return GraphError("(#551) This person isn't available right now.", code=551, subcode=1545041)


def already_replied() -> GraphError:
    return GraphError("(#10900) Activity already replied to", code=10900, type="OAuthException")


def fault_error_body(status: int, retry_after: int) -> Response:
    """How injected faults look: a throttle (code 4 with usage headers) or a transient server error."""
    if status == 429:
        minutes = max(1, (retry_after + 59) // 60)
        usage = {"call_count": 100, "total_cputime": 10, "total_time": 10, "estimated_time_to_regain_access": minutes}
        return GraphError(
            "(#4) Application request limit reached",
            code=4,
            status=429,
            is_transient=True,
            headers={"X-App-Usage": json.dumps(usage), "Retry-After": str(retry_after)},
        ).response()
    return GraphError(
        "An unexpected error has occurred. Please retry your request later.",
        code=2,
        status=status,
        is_transient=True,
    ).response()
