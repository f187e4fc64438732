"""The Case status a reopened Case gets: the org's default open status, as Salesforce's default inbound
social post handler does (``SELECT MasterLabel FROM CaseStatus WHERE IsDefault = true``), unless the
connection sets ``reopen_status``.

The answer is cached per API client (one client per Salesforce connection, so per org) for an hour: it
changes only when an admin edits the Status picklist, and it is only asked for when a Case is reopened.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from plugin.salesforce.api import SalesforceApi

CACHE_SECONDS = 3600.0
# Only when the org has no usable CaseStatus rows (they are standard; a stripped-down org or a user
# without read access): the standard default value.
FALLBACK_STATUS = "New"

_cache: weakref.WeakKeyDictionary[SalesforceApi, tuple[float, str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def reopen_status(api: SalesforceApi, config: Mapping[str, Any]) -> str:
    configured = config.get("reopen_status")
    if configured:
        return str(configured)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(api)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    status = _query_default(api)
    with _lock:
        _cache[api] = (now, status)
    return status


def _query_default(api: SalesforceApi) -> str:
    rows = api.query("SELECT MasterLabel FROM CaseStatus WHERE IsDefault = true AND IsClosed = false LIMIT 1")
    if not rows:
        # The default is a closed status (possible, if odd): reopen with the first open one instead.
        rows = api.query("SELECT MasterLabel FROM CaseStatus WHERE IsClosed = false ORDER BY SortOrder ASC LIMIT 1")
    return str(rows[0]["MasterLabel"]) if rows else FALLBACK_STATUS
