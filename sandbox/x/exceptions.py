"""X API v2 error bodies, as documented ("Response Codes & Errors", "Rate limits").

Problems are RFC 7807-style JSON ``{"title", "detail", "type", "status"}`` served as
``application/problem+json``; parameter validation failures add an ``errors`` array; the 429 body is the
one the rate-limits page documents.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from sandbox.base import FakeError, json_response

PROBLEMS = "https://api.x.com/2/problems/"


class XProblem(FakeError):
    """Raised inside handlers; turned into X's problem JSON by the app."""

    content_type = "application/problem+json"

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        type_: str = "about:blank",
        *,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(detail, status=status)
        self.problem: dict[str, Any] = {"title": title, "detail": detail, "type": type_, "status": status}
        if extra:
            self.problem.update(extra)

    def body(self) -> dict[str, Any]:
        return self.problem


def unauthorized() -> XProblem:
    return XProblem(401, "Unauthorized", "Unauthorized")


def unsupported_authentication(used: str) -> XProblem:
    return XProblem(
        403,
        "Unsupported Authentication",
        f"Authenticating with {used} is forbidden for this endpoint.  Supported authentication types are "
        "[OAuth 1.0a User Context, OAuth 2.0 User Context].",
        PROBLEMS + "unsupported-authentication",
    )


def forbidden(detail: str) -> XProblem:
    return XProblem(403, "Forbidden", detail)


def invalid_request(parameter: str, value: str, message: str) -> XProblem:
    return XProblem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        PROBLEMS + "invalid-request",
        extra={"errors": [{"parameters": {parameter: [value]}, "message": message}]},
    )


def not_found(resource_type: str, parameter: str, value: str) -> dict[str, Any]:
    """A partial-error entry: X answers lookups of missing resources 200 with this in ``errors``."""
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


def problem_response(problem: XProblem, headers: dict[str, str] | None = None) -> Response:
    return json_response(problem.body(), problem.status, headers, problem.content_type)


RATE_LIMIT_BODY = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}


def rate_limited_response(headers: dict[str, str]) -> Response:
    return json_response(RATE_LIMIT_BODY, 429, headers)
