"""VK API answers -> horseshoe's error taxonomy (the ``HttpClient`` hook).

VK reports errors inside HTTP 200 as ``{"error": {"error_code", "error_msg"}}`` ("API errors" in the
VK docs); ``messages.send`` with ``peer_ids`` can also fail per peer inside a successful answer.
"""

from __future__ import annotations

from typing import Any

import requests

from plugin.errors import AuthError, FatalError, HorseshoeError, RateLimited, RetriableError

RATE_CODES = {6, 9, 29}  # too many requests per second / flood control / rate limit reached
AUTH_CODES = {5, 27, 28}  # authorization failed / group or app token invalid
ACCESS_CODES = {15, 203}  # access denied
RETRY_CODES = {1, 10}  # unknown error / internal server error


def vk_api_error(what: str, error: dict[str, Any]) -> HorseshoeError:
    """Translate VK's ``{"error_code", "error_msg"}`` into the horseshoe taxonomy."""
    code = error.get("error_code")
    msg = str(error.get("error_msg") or "unknown error")
    text = f"{what}: error {code}: {msg}"
    if code in RATE_CODES:
        # Error 6 is the per-second limit: one second is exactly the documented wait.
        return RateLimited(text, retry_after=1.0 if code == 6 else None, code=str(code))
    if code in RETRY_CODES:
        return RetriableError(text, code=str(code))
    if code in AUTH_CODES or code in ACCESS_CODES:
        return AuthError(text, code=str(code))
    if code == 901:
        return FatalError(
            f"{text} (the user has not allowed messages from the community; they must write to it first)",
            code="not_allowed",
        )
    if code == 902:
        return FatalError(text, code="privacy")
    return FatalError(text, code=str(code))


def vk_error(response: requests.Response, what: str) -> HorseshoeError | None:
    """The taxonomy error an answer stands for, or None for ``{"response": ...}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return vk_api_error(what, error)
    if response.status_code == 429:
        return RateLimited(f"{what}: HTTP 429", code="429")
    if response.status_code >= 500:
        return RetriableError(f"{what}: HTTP {response.status_code}", code="http")
    if not isinstance(body, dict) or "response" not in body:
        return FatalError(f"{what}: HTTP {response.status_code} without a response", code="http")
    return None
