"""Small HTTP helpers shared by connectors and sinks."""

from __future__ import annotations

import email.utils
import time

import requests


def retry_after_seconds(response: requests.Response, default: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), else ``default``."""
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, parsed.timestamp() - time.time())
