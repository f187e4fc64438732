"""Opening a simple-salesforce client from a sink connection's (decrypted) config.

Three ways to authenticate, as an org admin sets them up (``config["auth"]``):

* ``"password"``: ``username``, ``password``, ``security_token`` (SOAP ``login``; with ``client_id`` /
  ``consumer_key`` + ``consumer_secret`` the OAuth username-password flow instead);
* ``"jwt"``: ``username``, ``consumer_key``, ``private_key`` (PEM of the connected app's certificate key,
  OAuth 2.0 JWT bearer flow);
* ``"session"``: ``instance_url`` + ``session_id`` (no login; an expired session needs an admin);
* ``"oauth"``: ``consumer_key``, ``consumer_secret``, ``refresh_token`` and ``instance_url``, as the guided
  web server flow leaves them (plugin/salesforce/webflow.py): each login is a ``refresh_token`` grant,
  and an answer naming another instance than the one checked when connecting is refused.

``domain`` ("login", "test" or a My Domain prefix) picks the login host; ``login_url`` sends the login
hosts somewhere else entirely (a proxy, or the sandbox fake in tests) and ``ca_bundle`` names the
certificate authorities to trust (TLS-inspecting proxies; the fake's test certificate). The login URL,
a configured ``instance_url`` and the instance a login answers with are an admin's (or Salesforce's)
URLs, so they follow the egress rule of every such URL (``plugin/egress.py``): https on a public
address unless the operator allowed the host, checked when read and again on every connection, which
goes to the checked address (``plugin.http.PinnedAdapter``). We log in with
``SalesforceLogin`` ourselves and hand simple-salesforce only the session, so an expired session is
re-established exactly once by our code (see plugin/salesforce/api.py), not silently in a loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from plugin import egress
from plugin.errors import AuthError, BadInput, FatalError, RateLimited, RetriableError
from plugin.http import PinnedAdapter

DEFAULT_API_VERSION = "59.0"
AUTH_MODES = ("password", "jwt", "session", "oauth")


@dataclass(frozen=True)
class ConnectConfig:
    auth: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    instance_url: str | None = None
    session_id: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    domain: str = "login"
    login_url: str | None = None
    ca_bundle: str | None = None
    api_version: str = DEFAULT_API_VERSION
    timeout: float = 30.0

    @property
    def can_login(self) -> bool:
        return self.auth in ("password", "jwt", "oauth")


def _opt(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    return None if value in (None, "") else str(value)


def parse_config(config: Mapping[str, Any]) -> ConnectConfig:
    """Validate the connection settings; a missing setting is an admin's problem (FatalError)."""
    auth = str(config.get("auth") or ("session" if config.get("session_id") else "password"))
    if auth not in AUTH_MODES:
        raise FatalError(f"salesforce auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}", code="CONFIG")
    parsed = ConnectConfig(
        auth=auth,
        username=_opt(config, "username"),
        password=_opt(config, "password"),
        security_token=_opt(config, "security_token"),
        client_id=_opt(config, "client_id"),
        consumer_key=_opt(config, "consumer_key"),
        consumer_secret=_opt(config, "consumer_secret"),
        private_key=_opt(config, "private_key"),
        instance_url=_opt(config, "instance_url"),
        session_id=_opt(config, "session_id"),
        refresh_token=_opt(config, "refresh_token"),
        domain=_opt(config, "domain") or "login",
        login_url=_opt(config, "login_url"),
        ca_bundle=_opt(config, "ca_bundle"),
        api_version=_opt(config, "api_version") or DEFAULT_API_VERSION,
        timeout=float(config.get("timeout", 30.0)),
    )
    needed = {
        "password": ["username", "password"],
        "jwt": ["username", "consumer_key", "private_key"],
        "session": ["instance_url", "session_id"],
        "oauth": ["consumer_key", "consumer_secret", "refresh_token", "instance_url"],
    }[auth]
    missing = [name for name in needed if getattr(parsed, name) is None]
    if missing:
        raise FatalError(f"salesforce {auth} auth needs: {', '.join(missing)}", code="CONFIG")
    for name in ("login_url", "instance_url"):
        url = getattr(parsed, name)
        if url is not None:
            _egress_checked(url, f"salesforce {name}")
    return parsed


def _egress_checked(url: str, what: str) -> str:
    """``url`` under the egress rule; refused: FatalError (an admin must change the setting)."""
    try:
        return egress.check_url(url, what=what)
    except BadInput as exc:
        raise FatalError(str(exc), code="CONFIG") from None


class _Redirect(PinnedAdapter):
    """Sends requests to ``base_url`` (path kept) and pins ``verify`` so REQUESTS_CA_BUNDLE cannot override
    it; every connection under the egress rule, to the address it checked."""

    def __init__(self, base_url: str | None, verify: str | bool, timeout: float):
        super().__init__()
        self._target = urlsplit(base_url) if base_url else None
        self._verify = verify
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if self._target is not None:
            parts = urlsplit(request.url or "")
            request.url = urlunsplit(
                (self._target.scheme, self._target.netloc, parts.path, parts.query, parts.fragment)
            )
        kwargs["verify"] = self._verify
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout  # simple-salesforce passes none; never hang a worker
        return super().send(request, *args, **kwargs)


def http_session(cfg: ConnectConfig) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would resolve the names itself
    verify: str | bool = cfg.ca_bundle or True
    direct = _Redirect(None, verify, cfg.timeout)
    session.mount("https://", direct)
    session.mount("http://", direct)  # refused unless the host is allowed (the sandbox)
    if cfg.login_url:
        redirect = _Redirect(cfg.login_url, verify, cfg.timeout)
        for host in {cfg.domain, "login", "test"}:
            session.mount(f"https://{host}.salesforce.com", redirect)
    return session


def _auth_failed(exc: SalesforceAuthenticationFailed) -> AuthError | RetriableError:
    code = str(getattr(exc, "code", "") or "AUTH")
    if code == "429":
        # A throttled login host says nothing about the credentials: back off and log in again
        # (simple-salesforce keeps no Retry-After here, so the worker's exponential back-off applies).
        return RateLimited(f"salesforce login rate limited ({code})", code=code)
    if code.isdigit() and int(code) >= 500:
        # The login host itself failed (simple-salesforce reports the HTTP status as the code).
        return RetriableError(f"salesforce login unavailable ({code})", code=code)
    return AuthError(f"salesforce login failed ({code}): {getattr(exc, 'message', exc)}", code=code)


def login(cfg: ConnectConfig, session: requests.Session) -> tuple[str, str]:
    """A fresh ``(session_id, instance host)``; raises AuthError / RetriableError."""
    if cfg.auth == "oauth":
        return _refresh(cfg, session)
    try:
        if cfg.auth == "jwt":
            return SalesforceLogin(
                username=cfg.username,
                consumer_key=cfg.consumer_key,
                privatekey=cfg.private_key,
                domain=cfg.domain,
                sf_version=cfg.api_version,
                session=session,
            )
        if cfg.consumer_key and cfg.consumer_secret:
            return SalesforceLogin(
                # OAuth username-password flow: the token is appended to the password.
                username=cfg.username,
                password=(cfg.password or "") + (cfg.security_token or ""),
                consumer_key=cfg.consumer_key,
                consumer_secret=cfg.consumer_secret,
                domain=cfg.domain,
                sf_version=cfg.api_version,
                session=session,
            )
        return SalesforceLogin(
            username=cfg.username,
            password=cfg.password,
            security_token=cfg.security_token or "",
            client_id=cfg.client_id,
            domain=cfg.domain,
            sf_version=cfg.api_version,
            session=session,
        )
    except SalesforceAuthenticationFailed as exc:
        raise _auth_failed(exc) from None
    except requests.RequestException as exc:
        raise RetriableError(f"salesforce login unreachable: {exc.__class__.__name__}") from exc


def _refresh(cfg: ConnectConfig, session: requests.Session) -> tuple[str, str]:
    """A ``refresh_token`` grant at the login host: the connected app renews the session."""
    data = {"grant_type": "refresh_token", "client_id": cfg.consumer_key, "client_secret": cfg.consumer_secret,
            "refresh_token": cfg.refresh_token}  # fmt: skip
    try:
        answer = session.post(f"https://{cfg.domain}.salesforce.com/services/oauth2/token", data=data)
    except requests.RequestException as exc:
        raise RetriableError(f"salesforce login unreachable: {exc.__class__.__name__}") from exc
    if answer.status_code == 429 or answer.status_code >= 500:
        raise RetriableError(f"salesforce login unavailable ({answer.status_code})", code=str(answer.status_code))
    try:
        body = answer.json()
    except ValueError:
        raise RetriableError("salesforce login answered without JSON", code="bad_body") from None
    if answer.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        error = body.get("error_description") or body.get("error") if isinstance(body, dict) else answer.status_code
        raise AuthError(f"salesforce refused the refresh token ({error}); connect the org again", code="oauth")
    host = urlsplit(str(body.get("instance_url") or "")).netloc
    if host != urlsplit(cfg.instance_url or "").netloc:
        # The instance was checked against the egress rule when the org was connected; another is not.
        raise AuthError(f"salesforce answered another instance ({host}); connect the org again", code="instance")
    return str(body["access_token"]), host


def session_expiry(cfg: ConnectConfig, session: requests.Session, token: str) -> datetime | None:
    """When the session ``token`` expires, where Salesforce says: OAuth token introspection
    (``POST /services/oauth2/introspect`` with the connected app's key and secret) answers ``exp`` for
    a token issued to the app. Only the guided ``oauth`` connection holds the app's secret; other
    modes, and any failure here, leave it unknown (None): it is shown in the connection's health, and
    never stops a login (the session is renewed on its 401 anyway)."""
    if cfg.auth != "oauth" or not (cfg.consumer_key and cfg.consumer_secret):
        return None
    form = {"token": token, "token_type_hint": "access_token", "client_id": cfg.consumer_key,
            "client_secret": cfg.consumer_secret}  # fmt: skip
    try:
        answer = session.post(f"https://{cfg.domain}.salesforce.com/services/oauth2/introspect", data=form)
        body = answer.json() if answer.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    exp = body.get("exp") if isinstance(body, dict) and body.get("active") is True else None
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= 0:
        return None
    return datetime.fromtimestamp(exp, UTC)


def open_client(cfg: ConnectConfig) -> Salesforce:
    """A logged-in client (or one over the configured session id)."""
    session = http_session(cfg)
    if cfg.auth == "session":
        return Salesforce(
            instance_url=cfg.instance_url, session_id=cfg.session_id, version=cfg.api_version, session=session
        )
    session_id, instance = login(cfg, session)
    # The instance comes from the login answer (SOAP serverUrl, OAuth ``instance_url``): a login host
    # we do not control could name any host, so it is held to the same rule before it is used.
    _egress_checked(f"https://{instance}", "salesforce instance_url from the login answer")
    return Salesforce(instance=instance, session_id=session_id, version=cfg.api_version, session=session)
