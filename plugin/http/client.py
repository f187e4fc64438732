"""``HttpClient``: the one way connectors talk HTTP to a network.

One client per connector instance. For each call it:

1. takes the account's cached ``requests.Session`` (connection reuse; one per account so one
   account's broken pool or headers never leak into another's), which connects only where the egress
   rule allows and only to the address it checked (``pinned.py``: an ``api_base`` is an admin's URL);
2. sends with default (connect, read) timeouts, so no call can hang a worker;
3. turns a missing answer into RetriableError or OutcomeUnknown by the one sent/not-sent rule
   (``outcome.transport_error``); a 504 gateway timeout on a write is OutcomeUnknown too;
4. turns an error answer into the taxonomy: the connector's ``error_hook`` reads the network's own
   error body first; what it leaves is mapped by status (429 RateLimited with the header hints, 5xx
   RetriableError, 401/403 AuthError, other 4xx FatalError);
5. redacts secrets from every message it builds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.auth import AuthBase

from plugin.errors import AuthError, FatalError, HorseshoeError, OutcomeUnknown, RateLimited, RetriableError

from .headers import retry_after_from_headers
from .meter import record
from .outcome import transport_error
from .pinned import pinned_session
from .redact import redact

DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GATEWAY_TIMEOUT = 504

# Reads the network's own error body: (answer, what the call was) -> the error to raise, or None to
# fall back to the status. Called for every answer (VK and Telegram report errors inside HTTP 200).
ErrorHook = Callable[[requests.Response, str], HorseshoeError | None]


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` (OAuth 2.0 bearer tokens, RFC 6750 section 2.1).

    A header rather than a query parameter: a URL reaches access logs and exception texts.
    """

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # the token must never reach a log line
        return "BearerAuth(<redacted>)"


def status_error(response: requests.Response, what: str, *, secrets: Iterable[str | None] = ()) -> HorseshoeError:
    """The default mapping of an HTTP error status (used when the connector's hook says nothing)."""
    status = response.status_code
    reason = redact(f"{what}: HTTP {status} {response.reason or ''}".rstrip(), secrets)
    if status == 429:
        return RateLimited(reason, retry_after=retry_after_from_headers(response.headers), code="429")
    if status >= 500:
        return RetriableError(reason, retry_after=retry_after_from_headers(response.headers), code=f"http_{status}")
    if status in (401, 403):
        return AuthError(reason, code=str(status))
    return FatalError(reason, code=f"http_{status}")


def _no_cookies() -> DefaultCookiePolicy:
    # APIs authenticate every call explicitly; refusing cookies keeps a shared Session stateless,
    # which is what makes one Session per account safe to use from several worker threads.
    return DefaultCookiePolicy(allowed_domains=[])


class HttpClient:
    """Sessions, timeouts, the sent/not-sent rule and error mapping for one connector."""

    def __init__(
        self,
        name: str,
        *,
        error_hook: ErrorHook | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        user_agent: str = "horseshoe/0.1",
        session_factory: Callable[[], requests.Session] = pinned_session,
    ):
        self.name = name
        self.error_hook = error_hook
        self.timeout = timeout
        self._user_agent = user_agent
        self._session_factory = session_factory
        self._sessions: dict[Hashable, requests.Session] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpClient({self.name!r}, sessions={len(self._sessions)})"

    def session(self, account_key: Hashable) -> requests.Session:
        """The account's Session, created on first use (never keyed by a secret: use ``fingerprint``)."""
        with self._lock:
            session = self._sessions.get(account_key)
            if session is None:
                session = self._session_factory()
                session.headers["User-Agent"] = self._user_agent
                session.cookies.set_policy(_no_cookies())
                self._sessions[account_key] = session
            return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def send(
        self,
        account_key: Hashable,
        method: str,
        url: str,
        *,
        what: str,
        mutating: bool | None = None,
        timeout: tuple[float, float] | None = None,
        secrets: Iterable[str | None] = (),
        auth: AuthBase | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        check: bool = True,
        files: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One request; returns a successful response or raises a taxonomy error.

        ``what`` names the call in messages (e.g. ``"facebook POST /{id}/comments"``); ``mutating``
        defaults to "not a GET/HEAD"; ``secrets`` are masked from every message (they are also found
        by shape: tokens in query strings, Authorization headers, ``/bot<token>/`` paths).
        ``check=False`` returns error answers too, for a caller that reads them itself (then it must
        call ``check``/map them: an unchecked 4xx is not a success).
        """
        secrets = tuple(secrets)
        writes = method.upper() in MUTATING_METHODS if mutating is None else mutating
        try:
            response = self.session(account_key).request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                files=files,
                headers=dict(headers) if headers else None,
                auth=auth,
                timeout=timeout or self.timeout,
                stream=stream,
            )
        except requests.RequestException as exc:
            # The original's text holds the URL (so maybe a token): its redacted text travels in ours
            # instead of the chained original.
            raise transport_error(exc, mutating=writes, what=what, secrets=secrets) from None
        record(response)  # the host's rate budget settles with what the network said (plugin.http.meter)
        if writes and response.status_code == GATEWAY_TIMEOUT:
            # A gateway gave up waiting for the network's backend, which may still have done the write:
            # the same situation as a read timeout after sending, whatever the network's error body says.
            raise OutcomeUnknown(redact(f"{what}: HTTP 504 from a gateway; the write may have taken effect", secrets))
        if check:
            self.check(response, what, secrets=secrets)
        return response

    def check(self, response: requests.Response, what: str, *, secrets: Iterable[str | None] = ()) -> None:
        """Raise the taxonomy error an answer stands for (the hook first, then the status)."""
        if self.error_hook is not None:
            found = self.error_hook(response, what)
            if found is not None:
                raise found
        if response.status_code >= 400:
            raise status_error(response, what, secrets=secrets)


def json_body(response: requests.Response, what: str, *, mutating: bool) -> Any:
    """The answer's JSON. Unreadable: a read is retried; a write did happen, we just cannot tell what."""
    try:
        return response.json()
    except ValueError as exc:
        if mutating:
            raise OutcomeUnknown(f"{what}: HTTP {response.status_code} with an unreadable body") from exc
        raise RetriableError(f"{what}: unreadable JSON body", code="bad_body") from exc
