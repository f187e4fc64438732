"""atproto SDK exceptions -> horseshoe's error taxonomy, network failures by the shared sent/not-sent rule."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from atproto_client import exceptions as at_exc

from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.http import transport_error

# httpx failures that happen before the request is written: connecting, or waiting for a pooled connection.
HTTPX_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# What a call through the SDK can raise: its own errors, and httpx's transport errors that it lets
# escape unwrapped (e.g. RemoteProtocolError, "Server disconnected without sending a response").
SDK_ERRORS = (at_exc.AtProtocolError, httpx.TransportError)


_AUTH_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired"}
def _error_name(exc: at_exc.RequestErrorBase) -> str | None:
    content = exc.response.content if exc.response is not None else None
    return getattr(content, "error", None)


def _error_message(exc: at_exc.RequestErrorBase) -> str:
    content = exc.response.content if exc.response is not None else None
    message = getattr(content, "message", None) or getattr(content, "error", None)
    return str(message) if message else str(exc)


def is_auth_failure(exc: Exception) -> bool:
    if isinstance(exc, at_exc.UnauthorizedError):
        return exc.response is None or exc.response.status_code == 401 or _error_name(exc) in _AUTH_ERRORS
    return isinstance(exc, at_exc.BadRequestError) and _error_name(exc) in _AUTH_ERRORS


def translate_error(exc: Exception, *, posting: bool) -> Exception:
    """atproto SDK exceptions → horseshoe's taxonomy."""
    if isinstance(exc, at_exc.RateLimitExceededError):
        retry_after = exc.retry_after
        if retry_after is None and exc.reset_at is not None:
            retry_after = max((exc.reset_at - datetime.now(UTC)).total_seconds(), 1.0)
        return RateLimited(
            f"Bluesky rate limit ({exc.policy or 'unknown policy'})", retry_after=retry_after, code="rate_limited"
        )
    if isinstance(exc, httpx.TransportError) or (isinstance(exc, at_exc.NetworkError) and exc.response is None):
        # The SDK speaks httpx, so its before-sending failures are named here; the rule is the shared one.
        return transport_error(exc, mutating=posting, what="Bluesky", never_sent_types=HTTPX_NEVER_SENT)
    if isinstance(exc, at_exc.RequestErrorBase) and exc.response is not None:
        status = exc.response.status_code
        message = _error_message(exc)
        if status == 504 and posting:
            return OutcomeUnknown("Bluesky's gateway timed out during the write")
        if status >= 500 and status not in (501,):
            return RetriableError(f"Bluesky server error {status}: {message}", code="server_error")
        if status in (401, 403) or _error_name(exc) in _AUTH_ERRORS:
            return AuthError(f"Bluesky refused the session: {message}", code="unauthorized")
        if status == 501 or _error_name(exc) in ("MethodNotImplemented", "XRPCNotSupported"):
            return FatalError(f"Bluesky does not serve this method: {message}", code="unsupported")
        code = "not_found" if _error_name(exc) == "NotFound" or "not found" in message.lower() else "rejected"
        return FatalError(f"Bluesky rejected the request: {message}", code=code)
    if isinstance(exc, at_exc.ModelError):
        return FatalError(f"Bluesky answered an unexpected shape: {exc}", code="bad_response")
    return exc

