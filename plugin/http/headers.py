"""How long a server asks us to wait, read from its response headers.

Every network says it differently; each parser here reads one documented header and returns seconds
from now (clamped to ``[0, MAX_RETRY_AFTER]``), or None when the header is absent or unreadable. A
garbled header is treated as absent, never as an error: it only removes a hint.

- ``Retry-After``: delta-seconds or an HTTP date (RFC 9110 section 10.2.3);
- X ``x-rate-limit-reset``: the epoch second the window resets;
- Meta ``X-Business-Use-Case-Usage`` / ``X-App-Usage`` / ``X-Page-Usage`` / ``X-Ad-Account-Usage``:
  JSON whose ``estimated_time_to_regain_access`` is in minutes;
- generic ``X-RateLimit-Reset`` / ``RateLimit-Reset``: delta-seconds (IETF draft), an epoch second
  (GitHub style) or an ISO 8601 time (Mastodon).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests

MAX_RETRY_AFTER = 86400.0
# A reset value above this is an epoch second, below it a delta (no window lasts 30 years).
_EPOCH_THRESHOLD = 1_000_000_000

META_USAGE_HEADERS = ("X-Page-Usage", "X-App-Usage", "X-Ad-Account-Usage")
META_BUC_HEADER = "X-Business-Use-Case-Usage"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works on a plain dict (requests' headers already are)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, found in headers.items():
        if key.lower() == lowered:
            return found
    return None


def _clamp(seconds: float) -> float | None:
    # A server can say anything: nan/inf or years would stall or crash the scheduler.
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return _clamp(float(text))
    except ValueError:
        pass  # not a number: try the HTTP-date form below
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return _clamp(parsed.timestamp() - (time.time() if now is None else now))


def parse_reset(value: str | None, now: float | None = None) -> float | None:
    """A rate-limit reset value as seconds from now: delta-seconds, epoch seconds or ISO 8601."""
    if not value or not value.strip():
        return None
    text = value.strip()
    current = time.time() if now is None else now
    try:
        number = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        stamp = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        return _clamp(stamp - current)
    return _clamp(number - current if number > _EPOCH_THRESHOLD else number)


def x_rate_limit_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """X: ``x-rate-limit-reset`` is the epoch second the endpoint's 15-minute window resets."""
    value = header(headers, "x-rate-limit-reset")
    if not value or not value.strip().isdigit():
        return None
    return _clamp(float(value) - (time.time() if now is None else now))


def generic_rate_limit_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``RateLimit-Reset`` (IETF draft) or ``X-RateLimit-Reset`` (GitHub, Mastodon and many others)."""
    for name in ("RateLimit-Reset", "X-RateLimit-Reset"):
        found = parse_reset(header(headers, name), now)
        if found is not None:
            return found
    return None


def json_header(headers: Mapping[str, str], name: str) -> Any:
    raw = header(headers, name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None  # a garbled usage header gives no hint


def _regain_minutes(value: Any) -> float | None:
    if isinstance(value, dict):
        minutes = value.get("estimated_time_to_regain_access")
        if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
            return float(minutes)
    return None


def meta_usage_items(headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every usage object in Meta's headers: BUC is ``{"<id>": [{...}, ...]}``, the others are flat."""
    items: list[dict[str, Any]] = []
    buc = json_header(headers, META_BUC_HEADER)
    if isinstance(buc, dict):
        for entries in buc.values():
            items.extend(item for item in (entries if isinstance(entries, list) else []) if isinstance(item, dict))
    for name in META_USAGE_HEADERS:
        flat = json_header(headers, name)
        if isinstance(flat, dict):
            items.append(flat)
    return items


def meta_regain_seconds(headers: Mapping[str, str]) -> float | None:
    """The largest ``estimated_time_to_regain_access`` (minutes) in Meta's usage headers, in seconds."""
    minutes = [m for m in (_regain_minutes(item) for item in meta_usage_items(headers)) if m is not None]
    return _clamp(max(minutes) * 60.0) if minutes else None


def retry_after_from_headers(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The server's wait hint: ``Retry-After`` when given (the most direct answer), else the largest
    of the documented rate-limit estimates (X reset, Meta regain time, generic reset)."""
    direct = parse_retry_after(header(headers, "Retry-After"), now)
    if direct is not None:
        return direct
    found = (x_rate_limit_reset(headers, now), meta_regain_seconds(headers), generic_rate_limit_reset(headers, now))
    hints = [hint for hint in found if hint is not None]
    return max(hints) if hints else None


def retry_after_seconds(response: requests.Response, default: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), else ``default``."""
    found = parse_retry_after(response.headers.get("Retry-After"))
    return default if found is None else found
