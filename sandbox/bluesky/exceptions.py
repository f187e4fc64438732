"""XRPC's documented error shape: ``{"error": "<Name>", "message": "<text>"}`` (atproto.com/specs/xrpc).

Names used by the PDS and app view for the cases the fake covers: ``AuthenticationRequired`` (401, no or
wrong credentials), ``ExpiredToken`` / ``InvalidToken`` (400, session tokens), ``InvalidRequest`` (400),
``NotFound`` (400 from getPostThread), ``RateLimitExceeded`` (429), ``MethodNotImplemented`` (501).
"""

from __future__ import annotations

from typing import Any

from sandbox.base import FakeError

JSON_TYPE = "application/json; charset=utf-8"


class XrpcError(FakeError):
    name = "InvalidRequest"
    content_type = JSON_TYPE

    def __init__(
        self, message: str, *, name: str | None = None, status: int | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message, status=status, headers=headers)
        if name is not None:
            self.name = name

    def body(self) -> Any:
        return {"error": self.name, "message": self.message}


class AuthenticationRequired(XrpcError):
    status = 401
    name = "AuthenticationRequired"


class ExpiredToken(XrpcError):
    status = 400
    name = "ExpiredToken"

    def __init__(self, message: str = "Token has expired"):
        super().__init__(message)


class InvalidToken(XrpcError):
    status = 400
    name = "InvalidToken"

    def __init__(self, message: str = "Token could not be verified"):
        super().__init__(message)


class InvalidRequest(XrpcError):
    status = 400
    name = "InvalidRequest"


class NotFound(XrpcError):
    status = 400
    name = "NotFound"


class RateLimitExceeded(XrpcError):
    status = 429
    name = "RateLimitExceeded"

    def __init__(self, headers: dict[str, str]):
        super().__init__("Rate Limit Exceeded", headers=headers)


class MethodNotImplemented(XrpcError):
    status = 501
    name = "MethodNotImplemented"

    def __init__(self, message: str = "Method Not Implemented"):
        super().__init__(message)
