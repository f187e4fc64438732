"""X API error answers -> horseshoe's error taxonomy.

X answers errors as problem JSON (``{"title", "detail", "type"}``, "Error handling" in the X API v2
docs) or, on older paths, as ``{"errors": [{"code", "message"}]}``. 429 carries ``Retry-After`` and/or
``x-rate-limit-reset``.
"""

from __future__ import annotations

import requests

from plugin.errors import AuthError, FatalError, HorseshoeError, OriginalDeleted, RateLimited, RetriableError
from plugin.http import retry_after_from_headers

# 403 problem types that mean "these credentials may not do this" (an admin must act). Other 403s are
# content refusals (replying to a deleted post, duplicate text) that X sends as a plain "Forbidden" with
# type about:blank: those are FatalError, since new credentials would not help.
AUTH_PROBLEMS = ("unsupported-authentication", "client-forbidden", "oauth1-permissions", "not-authorized")


def problem(response: requests.Response) -> tuple[str, str, str]:
    """(title, detail, type) from X's problem JSON, or from the older ``errors`` array shape."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or str(response.status_code), "", ""
    if not isinstance(body, dict):
        return response.reason or str(response.status_code), "", ""
    title = str(body.get("title") or "")
    detail = str(body.get("detail") or "")
    kind = str(body.get("type") or "")
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        detail = detail or str(first.get("message") or first.get("detail") or "")
        title = title or str(first.get("title") or "")
        if not kind and first.get("code") is not None:
            kind = f"code-{first['code']}"
    if kind == "about:blank":
        kind = ""
    return title or response.reason or str(response.status_code), detail, kind


def x_error(response: requests.Response, endpoint: str, *, now: float | None = None) -> HorseshoeError | None:
    """The taxonomy error an X answer stands for, or None for a success."""
    status = response.status_code
    if status < 400:
        return None
    title, detail, kind = problem(response)
    message = f"X {endpoint} {status}: {title}" + (f" - {detail}" if detail and detail != title else "")
    if status == 429:
        retry_after = retry_after_from_headers(response.headers, now)
        return RateLimited(message, retry_after=retry_after, code=kind or "rate_limited")
    if status >= 500:
        hint = retry_after_from_headers(response.headers, now)
        return RetriableError(message, retry_after=hint, code=f"http_{status}")
    if status == 401:
        return AuthError(message, code=kind or "unauthorized")
    if status == 403 and any(p in kind for p in AUTH_PROBLEMS):
        return AuthError(message, code=kind)
    if status == 403 and "deleted or not visible" in f"{title} {detail}":
        # X's answer to a reply whose post is gone: the agent is told, the reply held (not a bug of ours).
        return OriginalDeleted(message)
    return FatalError(message, code=kind or f"http_{status}")
