"""The few REST calls the Salesforce sink makes, with Salesforce's errors turned into ours.

* SOQL ``query`` (all pages), sObject Collections create/update (``composite/sobjects``, at most 200
  records per request, ``allOrNone: false`` so one bad record never blocks the others) and
  ``describe`` — REST API Developer Guide, "sObject Collections" and "Query".
* Composite (``composite``, REST API Developer Guide, "Send Multiple Requests Using Composite"): "a
  series of REST API requests in a single call ... The entire series of requests counts as a single
  call toward your API limits", up to 25 subrequests of which at most 5 Query or sObject Collections
  operations. ``queries`` sends independent look-ups five to a call; ``plugin.salesforce.writes``
  chains a batch's creates with references (``@{contacts[0].id}``) under ``allOrNone``.
* ``Sforce-Limit-Info: api-usage=used/limit`` comes back on every response (REST API Developer Guide,
  "Limit Info Header"); once usage passes ``max_api_share`` of the daily allocation we stop with
  ``RateLimited`` until the next UTC day (or ``limit_wait_seconds``), leaving the rest for the org.
* ``INVALID_SESSION_ID`` (401): log in again once, then ``AuthError``. 5xx / transport errors:
  ``RetriableError``. Other 4xx: ``FatalError`` with the Salesforce ``errorCode``.
* Rate limits come in two kinds that must not be confused. The org's rolling 24-hour allocation
  exhausted (``REQUEST_LIMIT_EXCEEDED`` "TotalRequests Limit exceeded", REST API Developer Guide,
  "API Request Limits and Allocations") pauses that org: ``RateLimited`` with code
  ``DAILY_LIMIT_EXCEEDED`` and a long wait, reported by ``check`` for the admin. Anything momentary
  (HTTP 429, concurrent-request limits) is retried after the server's ``Retry-After`` when it gives
  one, else after the worker's exponential backoff — never parked for an hour on a guess.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from requests.structures import CaseInsensitiveDict
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from plugin.errors import AuthError, FatalError, RateLimited, RetriableError
from plugin.http import record, retry_after_seconds
from plugin.salesforce.connect import ConnectConfig, open_client, session_expiry

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_COLLECTION = 200  # sObject Collections: "up to 200 records" per request
MAX_COMPOSITE_HEAVY = 5  # Composite: "Up to 5 of these subrequests can be sObject Collections or query operations"
MAX_IN_CHARS = 6000  # keep each SOQL IN list well inside the GET URL length limit (~16 KB)
DEFAULT_MAX_API_SHARE = 0.8
# How long an org whose daily allocation is exhausted is left alone before one call looks again. The
# allocation is a rolling 24-hour window, so capacity comes back gradually, not at midnight.
DAILY_LIMIT_PAUSE_SECONDS = 3600.0
# Per-record statusCodes worth another try (SOAP API Developer Guide, "StatusCode"): lock
# contention and transient platform trouble.
RETRIABLE_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"}
)


def error_parts(content: Any) -> tuple[str, str]:
    """``(errorCode, message)`` from a REST error body (a JSON array of {message, errorCode})."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        code = str(first.get("errorCode") or first.get("statusCode") or first.get("error") or "UNKNOWN")
        message = str(first.get("message") or first.get("error_description") or "")
        return code, message[:500]
    return "UNKNOWN", str(content)[:300]


def soql_quote(value: str) -> str:
    """A SOQL string literal (SOQL and SOSL Reference, "Quoted String Escape Sequences")."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def in_chunks(values: list[str], max_chars: int = MAX_IN_CHARS) -> Iterator[list[str]]:
    """Split values for ``IN (...)`` lists so no single query URL grows too long."""
    chunk: list[str] = []
    size = 0
    for value in values:
        length = len(value) + 4
        if chunk and size + length > max_chars:
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += length
    if chunk:
        yield chunk


def next_utc_day(now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (tomorrow - now).total_seconds())


class SalesforceApi:
    """One org's client. ``calls`` counts the REST requests made through it (for budgets and tests)."""

    def __init__(self, cfg: ConnectConfig, *, max_api_share: float = DEFAULT_MAX_API_SHARE,
                 limit_wait_seconds: float | None = None):  # fmt: skip
        self.cfg = cfg
        self.max_api_share = max_api_share
        self.limit_wait_seconds = limit_wait_seconds
        self._client: Salesforce | None = None
        self.session_expires_at: datetime | None = None
        self.calls = 0
        self.usage: tuple[int, int] | None = None
        self._blocked_until: float | None = None  # monotonic time the share guard lifts
        # Per thread (one client per tenant is shared by the process's threads: the Salesforce delivery
        # lane, the upkeep lane's agent-reply polls and resolutions):
        # the headers of its last response (simple-salesforce's exceptions do not keep them), and
        # the requests it sent (``sent_here``).
        self._local = threading.local()
        self._login = threading.Lock()

    def __repr__(self) -> str:
        return f"SalesforceApi(auth={self.cfg.auth!r})"

    @property
    def sent_here(self) -> int:
        """Requests this thread sent through this client so far."""
        return int(getattr(self._local, "sent", 0))

    @property
    def client(self) -> Salesforce:
        if self._client is not None:
            return self._client
        with self._login:  # two threads needing a session at once log in once
            return self._open()

    def _open(self) -> Salesforce:
        if self._client is None:
            client = open_client(self.cfg)
            # Where Salesforce says (oauth connections), when this session expires: the connection's
            # health shows it; the 401 at its end logs in again (``call``), this only informs.
            self.session_expires_at = session_expiry(self.cfg, client.session, client.session_id)
            client.session.hooks["response"].append(self._remember_headers)
            self._client = client
        return self._client

    def relogin(self) -> None:
        """Forget the session: the next call logs in again (the streaming client was told 401)."""
        if not self.cfg.can_login:
            raise AuthError("salesforce refused the configured session; connect the org again", code="401")
        self._client = None

    def _remember_headers(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.headers = response.headers
        record(response)  # Sforce-Limit-Info settles the org's shared rate budget (plugin.ratebudget)

    # -- call plumbing ---------------------------------------------------------------------------
    def guard(self) -> None:
        """Refuse to spend more of the org's daily allocation than our share.

        The usage figure only refreshes with a call, so once the wait is over one call is let
        through to read it again (otherwise a cached figure would block the client for good).
        """
        if self.usage is None:
            return
        used, limit = self.usage
        if not (limit > 0 and used >= self.max_api_share * limit):
            self._blocked_until = None
            return
        now = time.monotonic()
        if self._blocked_until is not None and now >= self._blocked_until:
            self.usage, self._blocked_until = None, None  # stale: the next answer refreshes it
            return
        wait = self.limit_wait_seconds if self.limit_wait_seconds is not None else next_utc_day()
        if self._blocked_until is None:
            self._blocked_until = now + wait
        raise RateLimited(
            f"salesforce API usage {used}/{limit} reached the configured share {self.max_api_share:.0%}",
            retry_after=max(0.0, self._blocked_until - now),
            code="API_SHARE_EXCEEDED",
        )

    def _record_usage(self) -> None:
        usage = self.client.api_usage.get("api-usage") if self._client is not None else None
        if usage is not None:
            self.usage = (int(usage[0]), int(usage[1]))

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        self.guard()
        relogged = False
        while True:
            self.calls += 1
            self._local.sent = self.sent_here + 1
            try:
                result = fn(self.client)
            except SalesforceExpiredSession as exc:
                code, message = error_parts(exc.content)
                if self.cfg.can_login and not relogged:
                    log.info("salesforce session expired during %s; logging in again", what)
                    self._client, relogged = None, True
                    continue
                raise AuthError(f"salesforce {code} during {what}: {message}", code=code) from None
            except SalesforceError as exc:
                raise translate(exc, what, getattr(self._local, "headers", CaseInsensitiveDict())) from None
            except requests.RequestException as exc:
                raise RetriableError(f"salesforce unreachable during {what}: {exc.__class__.__name__}") from exc
            self._record_usage()
            return result

    # -- the calls -------------------------------------------------------------------------------
    def query(self, soql: str) -> list[dict[str, Any]]:
        """All rows of a SOQL query (follows nextRecordsUrl; each page is one counted call)."""
        first = self.call("query", lambda sf: sf.query(soql))
        rows = list(first.get("records", []))
        page = first
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            url = str(page["nextRecordsUrl"])
            page = self.call("query", lambda sf, url=url: sf.query_more(url, identifier_is_url=True))  # type: ignore[misc]
            rows.extend(page.get("records", []))
        return rows

    def query_in(self, template: str, values: list[str]) -> list[dict[str, Any]]:
        """Run ``template`` (with one ``{values}`` slot) over ``values`` in URL-sized chunks."""
        rows: list[dict[str, Any]] = []
        unique = sorted(set(values))
        for chunk in in_chunks(unique):
            rows.extend(self.query(template.format(values=", ".join(soql_quote(v) for v in chunk))))
        return rows

    def collection(self, method: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create (POST) or update (PATCH) records, 200 per call; one result per record, in order."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(records), MAX_COLLECTION):
            chunk = records[start : start + MAX_COLLECTION]
            body = {"allOrNone": False, "records": chunk}
            answer = self.call(
                f"{method} composite/sobjects",
                lambda sf, body=body: sf.restful("composite/sobjects", method=method, json=body),  # type: ignore[misc]
            )
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise RetriableError("salesforce collections answer does not match the records sent")
            results.extend(answer)
        return results

    def composite(self, subrequests: list[dict[str, Any]], *, all_or_none: bool) -> list[dict[str, Any]]:
        """One Composite call; ``url`` of each subrequest is relative to ``/services/data/vXX.X/``.
        Returns the subrequest results in order (each ``body``, ``httpStatusCode``, ``referenceId``)."""

        def send(sf: Salesforce) -> Any:
            base = f"/services/data/v{sf.sf_version}/"
            body = {"allOrNone": all_or_none, "collateSubrequests": False,
                    "compositeRequest": [{**sub, "url": base + str(sub["url"])} for sub in subrequests]}  # fmt: skip
            return sf.restful("composite", method="POST", json=body)

        answer = self.call("composite", send)
        results = answer.get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise RetriableError("salesforce composite answer has no compositeResponse")
        if len(results) != len(subrequests):
            code, message = error_parts(results[0].get("body") if results and isinstance(results[0], dict) else None)
            if code == "LIMIT_EXCEEDED":  # our request broke a documented limit: no retry will pass
                raise FatalError(f"salesforce {code} during composite: {message}", code=code)
            raise RetriableError("salesforce composite answer does not match the subrequests sent")
        return results

    def queries(self, jobs: list[tuple[str, list[str]]]) -> list[list[dict[str, Any]]]:
        """``query_in`` for several independent look-ups at once: every job's URL-sized chunks go out as
        Query subrequests of Composite calls, five to a call (one plain query when there is only one)."""
        soqls: list[tuple[int, str]] = []
        for n, (template, values) in enumerate(jobs):
            for chunk in in_chunks(sorted(set(values))):
                soqls.append((n, template.format(values=", ".join(soql_quote(v) for v in chunk))))
        rows: list[list[dict[str, Any]]] = [[] for _ in jobs]
        if len(soqls) == 1:
            rows[soqls[0][0]] = self.query(soqls[0][1])
            return rows
        for start in range(0, len(soqls), MAX_COMPOSITE_HEAVY):
            group = soqls[start : start + MAX_COMPOSITE_HEAVY]
            subrequests = [{"method": "GET", "url": "query?" + urlencode({"q": soql}), "referenceId": f"q{i}"}
                           for i, (_, soql) in enumerate(group)]  # fmt: skip
            for (n, _), result in zip(group, self.composite(subrequests, all_or_none=False), strict=True):
                page = subresult(result, "query")
                rows[n].extend(page.get("records", []))
                while not page.get("done", True) and page.get("nextRecordsUrl"):
                    url = str(page["nextRecordsUrl"])
                    page = self.call("query", lambda sf, url=url: sf.query_more(url, identifier_is_url=True))  # type: ignore[misc]
                    rows[n].extend(page.get("records", []))
        return rows

    def describe(self, sobject: str) -> dict[str, Any]:
        answer = self.call(f"describe {sobject}", lambda sf: sf.restful(f"sobjects/{sobject}/describe"))
        return answer if isinstance(answer, dict) else {}


def is_daily_limit(code: str, message: str) -> bool:
    """The org's daily (rolling 24 h) allocation is spent, as opposed to a momentary limit."""
    return code == "REQUEST_LIMIT_EXCEEDED" and "totalrequests" in message.replace(" ", "").lower()


def translate(exc: SalesforceError, what: str, headers: Any = None) -> Exception:
    code, message = error_parts(exc.content)
    text = f"salesforce {code} during {what}: {message}"
    status = int(exc.status)
    if is_daily_limit(code, message):
        return RateLimited(
            f"{text} (the org's daily API allocation is used up: paused, an admin may raise the limit)",
            retry_after=DAILY_LIMIT_PAUSE_SECONDS,
            code="DAILY_LIMIT_EXCEEDED",
        )
    if code == "REQUEST_LIMIT_EXCEEDED" or status == 429:
        response = requests.Response()
        response.headers = CaseInsensitiveDict(headers or {})
        return RateLimited(text, retry_after=retry_after_seconds(response), code=code)
    if status >= 500 or code in RETRIABLE_CODES:
        return RetriableError(text, code=code)
    if status in (401, 403) or code in ("INSUFFICIENT_ACCESS", "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"):
        return AuthError(text, code=code)
    return FatalError(text, code=code)


def subresult(result: dict[str, Any], what: str) -> Any:
    """A Composite subrequest's body, or the error a direct call with that answer would raise."""
    status = int(result.get("httpStatusCode") or 0)
    if 200 <= status < 300:
        return result.get("body")
    # simple-salesforce keeps a failed call's parsed JSON body as ``content``: the same here.
    error = SalesforceError(f"composite/{result.get('referenceId')}", status, what, result.get("body"))  # type: ignore[arg-type]
    raise translate(error, what)


def record_error(result: dict[str, Any]) -> tuple[str, str]:
    """``(statusCode, "CODE: message (fields)")`` of a failed collections result."""
    errors = result.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN")
    fields = first.get("fields") or []
    suffix = f" (fields: {', '.join(map(str, fields))})" if fields else ""
    return code, f"{code}: {first.get('message', '')}{suffix}"
