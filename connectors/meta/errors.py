"""Graph error objects and usage headers -> horseshoe's error taxonomy (the ``HttpClient`` hook).

Codes from "Graph API > Handling Errors" and "Rate Limits". Usage headers (``X-App-Usage``,
``X-Page-Usage``, ``X-Business-Use-Case-Usage``) give how long until Meta lets us call again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from plugin.errors import AuthError, FatalError, HorseshoeError, OriginalDeleted, RateLimited, RetriableError
from plugin.http import header, meta_regain_seconds, meta_usage_items, parse_retry_after

RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80001, 80002, 80006})  # 8000x = BUC pages/IG/messenger
AUTH_CODES = frozenset({102, 190})  # session / access token expired, revoked or invalid
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})  # "API Unknown" / "API Service": temporary, retry
POLICY_BLOCK_CODE = 368  # "temporarily blocked for policies violations: wait and retry"
DUPLICATE_POST_CODE = 506
# Messenger Send API: "(#10) This message is sent outside of allowed window." (code 10, subcode 2018278)
OUTSIDE_WINDOW_SUBCODE = 2018278
# Private replies: "(#10900) Activity already replied to" (one private reply per comment).
ALREADY_REPLIED_CODE = 10900
POLICY_BLOCK_RETRY_SECONDS = 3600.0
# "Unsupported post request. Object with ID '...' does not exist, cannot be loaded due to missing
# permissions, or does not support this operation." (code 100, subcode 33, GraphMethodException): what
# Graph answers a comment on a post or comment its author deleted.
MISSING_OBJECT_SUBCODE = 33
# Send API: "(#551) This person isn't available right now." (the customer deleted or deactivated the
# account, or blocked the Page) and "(#100) No matching user found" (subcode 2018001).
UNAVAILABLE_CODE = 551
NO_MATCHING_USER_SUBCODE = 2018001


class MissingObject(FatalError):
    """Graph's code 100 / subcode 33: the object does not exist (deleted) or is not visible to us.
    Its ``code`` stays "100", so readers that treat any code 100 as "not visible" keep working."""


class RecipientUnavailable(FatalError):
    """Send API: the customer can no longer be messaged (code 551, or 100/2018001)."""


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds until Meta lets us call again (None when the headers do not say).

    ``estimated_time_to_regain_access`` (minutes, in the usage headers) is Meta's own estimate for the
    throttled object; a plain ``Retry-After`` counts too, and the larger of the two wins: calling
    early only extends the throttle.
    """
    hints = [meta_regain_seconds(headers), parse_retry_after(header(headers, "Retry-After"))]
    found = [hint for hint in hints if hint is not None]
    return max(found) if found else None


def usage_percent(headers: Mapping[str, str]) -> float | None:
    """The highest ``call_count``/``total_cputime``/``total_time`` percentage in the usage headers."""
    values = [
        float(item[key])
        for item in meta_usage_items(headers)
        for key in ("call_count", "total_cputime", "total_time")
        if isinstance(item.get(key), int | float) and not isinstance(item.get(key), bool)
    ]
    return max(values) if values else None


@dataclass(frozen=True)
class GraphErrorInfo:
    status: int
    message: str
    type: str | None
    code: int | None
    subcode: int | None
    is_transient: bool
    fbtrace_id: str | None


def error_info(response: requests.Response) -> GraphErrorInfo:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphErrorInfo(response.status_code, f"HTTP {response.status_code}", None, None, None, False, None)

    def as_int(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    message = error.get("message")
    return GraphErrorInfo(
        status=response.status_code,
        message=message if isinstance(message, str) else f"HTTP {response.status_code}",
        type=error.get("type") if isinstance(error.get("type"), str) else None,
        code=as_int(error.get("code")),
        subcode=as_int(error.get("error_subcode")),
        is_transient=error.get("is_transient") is True,
        fbtrace_id=error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None,
    )


def graph_error(response: requests.Response, what: str = "Graph") -> HorseshoeError | None:
    """The taxonomy error a Graph answer stands for, or None for a success (the HttpClient hook).

    Graph's own message, code and fbtrace_id say more than ``what``, so the message is Graph's."""
    if response.status_code < 400:
        return None
    info = error_info(response)
    text = f"{info.message} (code {info.code}, subcode {info.subcode}, fbtrace_id {info.fbtrace_id})"
    code = str(info.code) if info.code is not None else str(info.status)
    if info.status == 429 or info.code in RATE_LIMIT_CODES:
        return RateLimited(text, retry_after=retry_after_from_headers(response.headers), code=code)
    if info.code == POLICY_BLOCK_CODE:
        # Meta: "Temporarily blocked for policies violations. Wait and retry the operation."
        hint = retry_after_from_headers(response.headers)
        return RetriableError(text, retry_after=hint or POLICY_BLOCK_RETRY_SECONDS, code=code)
    if info.is_transient or info.code in TRANSIENT_CODES or info.status >= 500:
        return RetriableError(text, retry_after=retry_after_from_headers(response.headers), code=code)
    if info.code == 10 and info.subcode == OUTSIDE_WINDOW_SUBCODE:
        return FatalError(text, code="window_closed")
    if info.code == ALREADY_REPLIED_CODE:
        return FatalError(text, code="already_replied")
    if info.code == 100 and info.subcode == MISSING_OBJECT_SUBCODE:
        return MissingObject(text, code=code)
    if info.code == UNAVAILABLE_CODE or (info.code == 100 and info.subcode == NO_MATCHING_USER_SUBCODE):
        return RecipientUnavailable(text, code=code)
    if info.code in AUTH_CODES or (info.type == "OAuthException" and info.code is None):
        return AuthError(text, code=code)
    if info.code in PERMISSION_CODES:
        return AuthError(text, code=code)
    if info.code == DUPLICATE_POST_CODE:
        return FatalError(text, code="duplicate")
    if info.status in (401, 403):
        return AuthError(text, code=code)
    return FatalError(text, code=code)


def raise_for_graph_error(response: requests.Response) -> None:
    """Raise what ``graph_error`` maps a failed Graph answer to."""
    error = graph_error(response)
    if error is not None:
        raise error


@contextmanager
def gone_as_deleted(network: str, target: str) -> Iterator[None]:
    """Around a reply's Graph calls: "object does not exist" on what the reply answers, or "this
    person isn't available" for a message, means the original is gone (``OriginalDeleted``: the host
    holds the reply and notes it on the ticket/case) rather than a generic failure."""
    try:
        yield
    except MissingObject as exc:
        raise OriginalDeleted(f"{network} object {target} no longer exists (deleted by its author): {exc}") from exc
    except RecipientUnavailable as exc:
        message = f"the {network} customer can no longer be messaged ({target}): {exc}"
        raise OriginalDeleted(message, unavailable=True) from exc
