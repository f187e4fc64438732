"""Small HTTP helpers shared by connectors and sinks."""

from __future__ import annotations

import email.utils
import math
import time

import requests

MAX_RETRY_AFTER = 86400.0


def retry_after_seconds(response: requests.Response, default: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), else ``default``."""
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # A server can say anything: nan/inf or years would stall or crash the scheduler.
        return min(max(0.0, seconds), MAX_RETRY_AFTER) if math.isfinite(seconds) else default
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return min(max(0.0, parsed.timestamp() - time.time()), MAX_RETRY_AFTER)
