"""``GraphClient``: one account's Graph API calls through the shared ``plugin.http.HttpClient``.

Pinned to one Graph API version; sends the page token as a Bearer header (never in a URL, so it cannot
reach an access log), adds ``appsecret_proof``, and maps Graph error objects through ``errors.graph_error``.
A POST whose connection drops after it was sent is ``OutcomeUnknown`` (the shared client's rule): the
comment or message may exist, and posting again could answer the customer twice.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from plugin.connector import AccountContext
from plugin.errors import AuthError, RetriableError
from plugin.http import BearerAuth, HttpClient, json_body

from .credentials import APP_SECRET, PAGE_ACCESS_TOKEN
from .errors import graph_error, usage_percent

# The one place the Graph API version is pinned. Payload shapes follow this version.
GRAPH_VERSION = "v21.0"
DEFAULT_GRAPH_BASE = "https://graph.facebook.com"
DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds

# One HTTP client for the three Meta connectors: sessions are cached per account inside it.
GRAPH_HTTP = HttpClient("graph", error_hook=graph_error, timeout=DEFAULT_TIMEOUT, user_agent="horseshoe-meta/0.1")


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """``appsecret_proof``: hex HMAC-SHA256 of the access token keyed with the app secret."""
    return hmac.new(app_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256).hexdigest()


class GraphClient:
    """Requests to one account's Graph API with the page token, ``appsecret_proof`` and error mapping."""

    def __init__(self, account: AccountContext, *, http: HttpClient = GRAPH_HTTP) -> None:
        token = account.credentials.get(PAGE_ACCESS_TOKEN)
        if not token:
            raise AuthError(f"{account.network}: credential {PAGE_ACCESS_TOKEN!r} is missing", code="config")
        self._token = token
        self._secret = account.credentials.get(APP_SECRET) or None
        base = (account.api_base or DEFAULT_GRAPH_BASE).rstrip("/")
        self.base = f"{base}/{GRAPH_VERSION}"
        self._http = http
        self._key = (account.network, account.external_id, base)
        self._auth = BearerAuth(token)
        timeout = http.timeout
        # Setting ``timeout_seconds`` bounds the read wait (tests and slow links); connect stays short.
        read = account.settings.get("timeout_seconds")
        if isinstance(read, int | float) and not isinstance(read, bool) and read > 0:
            timeout = (min(timeout[0], float(read)), float(read))
        self._timeout = timeout
        self.last_usage: float | None = None  # highest usage % seen in the last response headers

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"GraphClient(base={self.base!r})"

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = {k: v for k, v in (params or {}).items() if v is not None}
        if self._secret:
            merged["appsecret_proof"] = appsecret_proof(self._secret, self._token)
        return merged

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None, json_payload: Any) -> Any:
        what = f"Graph {method} {path.split('?')[0]}"
        response = self._http.send(
            self._key,
            method,
            f"{self.base}/{path.lstrip('/')}",
            what=what,
            params=self._params(params),
            json=json_payload,
            auth=self._auth,
            timeout=self._timeout,
            secrets=(self._token, self._secret),
        )
        self.last_usage = usage_percent(response.headers)
        return json_body(response, what, mutating=method != "GET")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params, json_payload=None)

    def post(self, path: str, json_payload: Mapping[str, Any]) -> Any:
        return self._send("POST", path, params=None, json_payload=dict(json_payload))


def page_of(data: Any, where: str) -> tuple[list[dict[str, Any]], str | None]:
    """``{"data": [...], "paging": {"cursors": {"after"}, "next"}}`` -> (items, after cursor or None).

    The cursor counts only while ``paging.next`` exists: Graph keeps ``cursors`` on the last page too.
    """
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise RetriableError(f"{where}: Graph answered without a data list", code="bad_body")
    items = [item for item in data["data"] if isinstance(item, dict)]
    raw_paging = data.get("paging")
    paging: dict[str, Any] = raw_paging if isinstance(raw_paging, dict) else {}
    after = None
    if paging.get("next"):
        cursors = paging.get("cursors")
        if isinstance(cursors, dict) and isinstance(cursors.get("after"), str):
            after = cursors["after"]
    return items, after
