"""The HTTP client every connector (and sink) uses; see ``client.HttpClient``.

Import from here, not from the submodules: ``from plugin.http import HttpClient, Pacer, ...``.
"""

from __future__ import annotations

from .client import DEFAULT_TIMEOUT, BearerAuth, ErrorHook, HttpClient, json_body, status_error
from .headers import (
    MAX_RETRY_AFTER,
    generic_rate_limit_reset,
    header,
    json_header,
    meta_regain_seconds,
    meta_usage_items,
    parse_reset,
    parse_retry_after,
    retry_after_from_headers,
    retry_after_seconds,
    x_rate_limit_reset,
)
from .media import Media, check_url, fetch_media
from .meter import Meter, metering, record, response_hook
from .outcome import never_sent, transport_error
from .pacer import Pacer, Rate, fingerprint
from .pinned import PinnedAdapter, PinnedTransport, mount_pinned, pinned_session
from .redact import RedactingFilter, describe, install_log_filters, redact

install_log_filters()

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "BearerAuth",
    "ErrorHook",
    "HttpClient",
    "Media",
    "Meter",
    "Pacer",
    "PinnedAdapter",
    "PinnedTransport",
    "Rate",
    "RedactingFilter",
    "check_url",
    "describe",
    "fetch_media",
    "fingerprint",
    "generic_rate_limit_reset",
    "header",
    "install_log_filters",
    "json_body",
    "json_header",
    "meta_regain_seconds",
    "meta_usage_items",
    "metering",
    "mount_pinned",
    "never_sent",
    "parse_reset",
    "parse_retry_after",
    "pinned_session",
    "record",
    "redact",
    "response_hook",
    "retry_after_from_headers",
    "retry_after_seconds",
    "status_error",
    "transport_error",
    "x_rate_limit_reset",
]
