"""VK API answers -> horseshoe's error taxonomy (the ``HttpClient`` hook).

VK reports errors inside HTTP 200 as ``{"error": {"error_code", "error_msg"}}`` ("API errors" in the
VK docs); ``messages.send`` with ``peer_ids`` can also fail per peer inside a successful answer.
"""

from __future__ import annotations

from typing import Any

import requests

from plugin.errors import AuthError, FatalError, HorseshoeError, OriginalDeleted, RateLimited, RetriableError

RATE_CODES = {6, 9, 29}  # too many requests per second / flood control / rate limit reached
AUTH_CODES = {5, 27, 28}  # authorization failed / group or app token invalid
ACCESS_CODES = {15, 203}  # access denied
RETRY_CODES = {1, 10}  # unknown error / internal server error
# What answers a reply to something its author deleted (VK's error list): 210 "Access to wall's post
# denied", 211 "Access to wall's comment denied", and 15 "Access denied: post was not found" (a plain
# 15 without "not found" is a permission problem and stays AuthError).
GONE_CODES = {210, 211}
# The customer is gone: 18 "User was deleted or banned", 900 "Can't send messages for users from blacklist".
UNAVAILABLE_CODES = {18, 900}


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
    if code in GONE_CODES or (code == 15 and "not found" in msg.lower()):
        return OriginalDeleted(f"{text} (the post or comment this answers was deleted)")
    if code in UNAVAILABLE_CODES:
        return OriginalDeleted(text, unavailable=True)
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
