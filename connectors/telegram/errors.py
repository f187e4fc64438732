"""Bot API answers -> horseshoe's error taxonomy (the ``HttpClient`` hook).

Every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters": {"retry_after", "migrate_to_chat_id"}}`` (Bot API, "Making requests"); the error code
mirrors the HTTP status. Descriptions are the only way to tell some 400/403 cases apart.
"""

from __future__ import annotations

from typing import Any

import requests

from plugin.errors import AuthError, FatalError, HorseshoeError, OriginalDeleted, RateLimited, RetriableError
from plugin.http import parse_retry_after


def telegram_error(response: requests.Response, what: str) -> HorseshoeError | None:
    """The taxonomy error an answer stands for, or None when ``ok`` is true."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if response.status_code >= 500 or response.status_code == 429:
            return RetriableError(f"{what}: HTTP {response.status_code}", code="http")
        return FatalError(f"{what}: HTTP {response.status_code} without a JSON body", code="http")
    if data.get("ok") is True:
        return None
    raw_code = data.get("error_code")
    code: int = raw_code if isinstance(raw_code, int) else response.status_code
    desc = str(data.get("description") or f"HTTP {response.status_code}")
    raw_params = data.get("parameters")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    lowered = desc.lower()
    if code == 429:
        retry = params.get("retry_after")  # the flood-control wait Telegram computed for this bot
        if not isinstance(retry, int | float) or isinstance(retry, bool):
            retry = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(f"{what}: {desc}", retry_after=retry, code="429")
    if code >= 500:
        return RetriableError(f"{what}: {desc}", code=str(code))
    if code in (401, 404) and not what.endswith(" getChat"):
        return AuthError(f"{what}: {desc} (check bot_token)", code=str(code))
    if code == 403:
        if "blocked by the user" in lowered:
            return FatalError(f"{what}: {desc}", code="blocked")
        if "initiate conversation" in lowered:
            return FatalError(
                f"{what}: the user has never started the bot, so it cannot write to them "
                f"first; ask them to open the bot and press Start ({desc})",
                code="not_started",
            )
        return FatalError(f"{what}: {desc}", code="forbidden")
    if code == 409:
        return FatalError(f"{what}: {desc}", code="conflict")
    if "migrate_to_chat_id" in params:
        return FatalError(f"{what}: group became supergroup {params['migrate_to_chat_id']}", code="migrated")
    if "message to be replied not found" in lowered or "message to reply not found" in lowered:
        # The customer deleted the message the reply quotes (Telegram tells bots nothing else about it).
        return OriginalDeleted(f"{what}: the message this answers was deleted ({desc})")
    if "chat not found" in lowered:
        return FatalError(f"{what}: {desc}", code="chat_not_found")
    return FatalError(f"{what}: {desc}", code=str(code))
