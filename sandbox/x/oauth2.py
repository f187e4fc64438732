"""OAuth 2.0 with PKCE and the Account Activity API's webhooks, as X documents them.

- ``GET /i/oauth2/authorize`` (x.com): ``response_type=code``, ``client_id``, a registered
  ``redirect_uri``, ``scope``, ``state``, ``code_challenge`` + ``code_challenge_method`` (S256 or plain)
  → consent → ``redirect_uri?state&code`` (docs.x.com, "OAuth 2.0 Authorization Code Flow with PKCE").
- ``POST /2/oauth2/token``: a confidential client authenticates with HTTP Basic (client id and secret);
  ``grant_type=authorization_code``, ``code``, ``redirect_uri``, ``code_verifier`` → ``{token_type,
  expires_in, access_token, scope, refresh_token}`` (with ``offline.access``). ``POST /oauth2/token``
  with the API key and secret in Basic and ``grant_type=client_credentials`` → the app-only Bearer token.
- ``POST /2/webhooks {"url"}`` (app-only Bearer): X sends a CRC ``GET url?crc_token=…`` first and expects
  ``{"response_token": "sha256=" + base64(HMAC-SHA256(API key secret, crc_token))}``; ``GET /2/webhooks``
  lists them. ``POST /2/account_activity/webhooks/:id/subscriptions/all`` with the user's token
  subscribes that user's events; ``GET …/subscriptions/all/list`` (app-only) lists the subscribed users.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

import requests
from werkzeug.wrappers import Request, Response

from sandbox.base.consent import APPROVE, consent_page, error_page, redirect_back

from .auth import authenticate
from .exceptions import XProblem
from .models import XState

CODE_SECONDS = 30
ACCESS_SECONDS = 7200  # "access tokens ... stay valid for two hours" unless refreshed (offline.access)
SUBSCRIPTION = re.compile(r"^/2/account_activity/webhooks/([^/]+)/subscriptions/all(/list)?$")
PATHS = ("/i/oauth2/authorize", "/2/oauth2/token", "/oauth2/token", "/2/webhooks")


def handles(path: str) -> bool:
    return path.rstrip("/") in PATHS or SUBSCRIPTION.match(path) is not None


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


def dispatch(state: XState, request: Request) -> Response:
    path = request.path.rstrip("/")
    try:
        if path == "/i/oauth2/authorize":
            return _authorize(state, request)
        if path == "/2/oauth2/token":
            return _token(state, request)
        if path == "/oauth2/token":
            return _app_token(state, request)
        if path == "/2/webhooks":
            return _webhooks(state, request)
        match = SUBSCRIPTION.match(request.path)
        assert match is not None
        return _subscriptions(state, request, match.group(1), bool(match.group(2)))
    except XProblem as problem:
        return _json(problem.problem, problem.status)


def _authorize(state: XState, request: Request) -> Response:
    app = state.developer
    params = {**request.args, **request.form}
    if params.get("client_id") != app.client_id:
        return error_page("Something went wrong: you weren't able to give access to the App.")
    redirect_uri = str(params.get("redirect_uri") or "")
    if redirect_uri not in app.callback_urls:
        return error_page("Something went wrong: the redirect URI is not one of the App's callback URLs.")
    back = {"state": str(params["state"])} if params.get("state") else {}
    method = str(params.get("code_challenge_method") or "plain")
    if params.get("response_type") != "code" or not params.get("code_challenge") or method not in ("S256", "plain"):
        return redirect_back(redirect_uri, {"error": "invalid_request", **back})
    scopes = str(params.get("scope") or "").split()
    if request.method == "GET":
        users = [(u.id, f"@{u.username}") for u in state.users.values()]
        keys = (
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        )
        hidden: dict[str, str] = {k: str(params[k]) for k in keys if k in params}
        return consent_page(network="X", app_name="the App", scopes=scopes, users=users, hidden=hidden)
    if params.get("decision") != APPROVE:
        return redirect_back(redirect_uri, {"error": "access_denied", **back})
    user = str(params.get("sandbox_user") or "")
    if user not in state.users:
        return error_page("Sign in to X first.", 403)
    code = secrets.token_urlsafe(48)
    app.codes[code] = {"user": user, "redirect_uri": redirect_uri, "scope": " ".join(scopes),
                       "challenge": str(params["code_challenge"]), "method": method,
                       "expires": time.time() + CODE_SECONDS}  # fmt: skip
    return redirect_back(redirect_uri, {**back, "code": code})


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.get_data(as_text=True))) or dict(request.form)


def _token(state: XState, request: Request) -> Response:
    app = state.developer
    given = _basic(request)
    if given is None or given[0] != app.client_id or not hmac.compare_digest(given[1], app.client_secret):
        return _oauth_error("unauthorized_client", "Missing valid authorization header", 401)
    form = _form(request)
    if form.get("grant_type") == "refresh_token":
        return _refresh(state, form)
    if form.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type", "Grant type is not supported")
    grant = app.codes.pop(form.get("code", ""), None)  # a code works once
    if grant is None or grant["expires"] < time.time() or grant["redirect_uri"] != form.get("redirect_uri"):
        return _oauth_error("invalid_request", "Value passed for the authorization code was invalid.")
    verifier = form.get("code_verifier", "")
    expected = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant["method"] == "S256"
        else verifier
    )
    if not verifier or not hmac.compare_digest(expected, grant["challenge"]):
        return _oauth_error("invalid_request", "Value passed for the code verifier did not match the code challenge.")
    return _json(_issue(state, grant["user"], grant["scope"]))


def _issue(state: XState, user: str, scope: str) -> dict[str, Any]:
    """A user access token that works for ``ACCESS_SECONDS`` on the fake's clock, and with
    ``offline.access`` a refresh token (single use: the refresh grant rotates it)."""
    token = secrets.token_urlsafe(40)
    with state.lock:
        state.bearer_tokens[token] = user
        state.token_expiry[token] = state.clock() + ACCESS_SECONDS
    body: dict[str, Any] = {"token_type": "bearer", "expires_in": ACCESS_SECONDS, "access_token": token,
                            "scope": scope}  # fmt: skip
    if "offline.access" in scope.split():
        refresh = secrets.token_urlsafe(40)
        with state.lock:
            state.developer.refresh_tokens[refresh] = {"user": user, "scope": scope}
        body["refresh_token"] = refresh
    return body


def _refresh(state: XState, form: dict[str, str]) -> Response:
    """``grant_type=refresh_token``: a new access token and a new refresh token; the one used is spent."""
    with state.lock:
        grant = state.developer.refresh_tokens.pop(form.get("refresh_token", ""), None)
    if grant is None:
        return _oauth_error("invalid_request", "Value passed for the token was invalid.")
    return _json(_issue(state, grant["user"], grant["scope"]))


def _app_token(state: XState, request: Request) -> Response:
    app = state.developer
    given = _basic(request)
    if given is None or given[0] != app.consumer_key or not hmac.compare_digest(given[1], app.consumer_secret):
        return _json({"errors": [{"code": 99, "label": "authenticity_token_error",
                                  "message": "Unable to verify your credentials"}]}, 403)  # fmt: skip
    if _form(request).get("grant_type") != "client_credentials":
        return _json({"errors": [{"code": 170, "label": "forbidden_missing_parameter",
                                  "message": "Missing required parameter: grant_type"}]}, 403)  # fmt: skip
    token = "AAAA" + secrets.token_urlsafe(40)
    state.add_app_token(token)
    return _json({"token_type": "bearer", "access_token": token})


def crc_token_answer(consumer_secret: str, crc_token: str) -> str:
    return (
        "sha256=" + base64.b64encode(hmac.new(consumer_secret.encode(), crc_token.encode(), "sha256").digest()).decode()
    )


def _webhooks(state: XState, request: Request) -> Response:
    principal = authenticate(request, state)
    if principal.user_id is not None:
        detail = "Authenticating with OAuth 2.0 User Context is forbidden for this endpoint."
        raise XProblem(403, "Unsupported Authentication", detail)
    app = state.developer
    if request.method == "GET":
        items = list(app.webhooks.values())
        return _json({"data": items, "meta": {"result_count": len(items)}})
    body = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise XProblem(400, "Invalid Request", "One or more parameters to your request was invalid.")
    crc = secrets.token_urlsafe(24)
    try:
        answer = requests.get(url, params={"crc_token": crc}, timeout=10)
        token = answer.json().get("response_token") if answer.status_code == 200 else None
    except (requests.RequestException, ValueError, AttributeError):
        token = None
    if token != crc_token_answer(app.consumer_secret, crc):
        raise XProblem(400, "Invalid Request", "CRC check failed: the webhook URL did not answer the challenge.")
    hook: dict[str, Any] = {"id": str(1460000000000000000 + len(app.webhooks)), "url": url, "valid": True,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}  # fmt: skip
    app.webhooks[hook["id"]] = hook
    return _json({"data": hook})


def _subscriptions(state: XState, request: Request, webhook_id: str, listing: bool) -> Response:
    principal = authenticate(request, state)
    app = state.developer
    if webhook_id not in app.webhooks:
        raise XProblem(404, "Not Found Error", f"Could not find webhook with id: [{webhook_id}].")
    if listing:
        users = [{"user_id": u} for u in sorted(app.subscriptions.get(webhook_id, set()))]
        url = app.webhooks[webhook_id]["url"]
        return _json({"data": {"webhook_id": webhook_id, "webhook_url": url, "subscriptions": users}})
    if principal.user_id is None:
        raise XProblem(403, "Unsupported Authentication", "Authenticating with OAuth 2.0 Application-Only is "
                       "forbidden for this endpoint.")  # fmt: skip
    app.subscriptions.setdefault(webhook_id, set()).add(principal.user_id)
    return _json({"data": {"subscribed": True}})
