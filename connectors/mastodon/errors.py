"""Mastodon.py exceptions -> horseshoe's error taxonomy, network failures by the shared sent/not-sent rule."""

from __future__ import annotations

import time

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from plugin.errors import AuthError, FatalError, OutcomeUnknown, RateLimited, RetriableError
from plugin.http import transport_error

# ---- error translation --------------------------------------------------------------------------------


def _cause(exc: BaseException) -> BaseException | None:
    return exc.__cause__ or exc.__context__


def translate_error(exc: Exception, api: Mastodon, *, posting: bool) -> Exception:
    """Mastodon.py exceptions → horseshoe's taxonomy (plugin/errors.py)."""
    if isinstance(exc, MastodonRatelimitError):
        reset = getattr(api, "ratelimit_reset", None)
        retry_after = max(float(reset) - time.time(), 1.0) if reset else None
        return RateLimited("Mastodon rate limit reached", retry_after=retry_after, code="rate_limited")
    if isinstance(exc, MastodonNetworkError):
        # Mastodon.py wraps the requests exception; the shared rule reads the chain. For a post, the
        # status may exist (read timeout, connection dropped after sending): the Idempotency-Key makes
        # a retry within the hour safe, but that is the worker's call, so it is OutcomeUnknown.
        return transport_error(_cause(exc) or exc, mutating=posting, what="Mastodon")
    if posting and _status(exc) == 504:
        return OutcomeUnknown("Mastodon's gateway timed out while the status was being posted")
    if isinstance(exc, MastodonServerError):
        return RetriableError(f"Mastodon server error: {_message(exc)}", code="server_error")
    if isinstance(exc, MastodonUnauthorizedError):
        return AuthError(f"Mastodon rejected the access token: {_message(exc)}", code="unauthorized")
    if isinstance(exc, MastodonNotFoundError):
        return FatalError(f"not found on Mastodon: {_message(exc)}", code="not_found")
    if isinstance(exc, MastodonAPIError):
        status = _status(exc)
        if status == 403:
            return AuthError(f"Mastodon refused the action: {_message(exc)}", code="forbidden")
        if status == 422:
            return FatalError(f"Mastodon rejected the status: {_message(exc)}", code="rejected")
        if status == 429:
            return RateLimited("Mastodon rate limit reached", code="rate_limited")
        if status is not None and status >= 500:
            return RetriableError(f"Mastodon server error: {_message(exc)}", code="server_error")
        return FatalError(f"Mastodon error: {_message(exc)}", code="api_error")
    return exc


def _status(exc: Exception) -> int | None:
    # Mastodon.py raises ('Mastodon API returned error', status, reason, error message).
    if len(exc.args) >= 2 and isinstance(exc.args[1], int):
        return exc.args[1]
    return None


def _message(exc: MastodonAPIError) -> str:
    if len(exc.args) >= 4 and exc.args[3]:
        return str(exc.args[3])
    if len(exc.args) >= 3 and exc.args[2]:
        return str(exc.args[2])
    return str(exc.args[0]) if exc.args else type(exc).__name__

