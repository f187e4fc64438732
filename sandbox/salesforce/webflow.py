"""The OAuth 2.0 web server flow of a connected app (help.salesforce.com, "OAuth 2.0 Web Server Flow for
Web App Integration").

``GET /services/oauth2/authorize?response_type=code&client_id&redirect_uri&state&scope
[&code_challenge]``: ``redirect_uri`` must be one of the connected app's callback URLs, else an error page
(``redirect_uri_mismatch``); the signed-in user approves and is redirected with ``code`` and ``state``.
``POST /services/oauth2/token`` with ``grant_type=authorization_code``, ``code``, ``client_id``,
``client_secret``, the same ``redirect_uri`` (and ``code_verifier`` when a challenge was sent) answers
an access token, a refresh token (scope ``refresh_token``) and the org's ``instance_url``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.base.consent import APPROVE, consent_page, error_page, redirect_back

from .exceptions import OAuthError
from .models import SalesforceState, Session

CODE_SECONDS = 900


def authorize(state: SalesforceState, request: Request) -> Response:
    params = {**request.args, **request.form}
    app = state.apps.get(str(params.get("client_id") or ""))
    if app is None:
        return error_page("error=invalid_client_id: client identifier invalid")
    redirect_uri = str(params.get("redirect_uri") or "")
    if redirect_uri not in app.callback_urls:
        return error_page("error=redirect_uri_mismatch: redirect_uri must match configuration")
    back = {"state": str(params["state"])} if params.get("state") else {}
    if params.get("response_type") != "code":
        return redirect_back(redirect_uri, {"error": "unsupported_response_type", **back})
    scopes = str(params.get("scope") or "api").split()
    if request.method == "GET":
        users = [(u.username, u.username) for u in state.users.values() if u.org_id == app.org_id]
        keys = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge")
        hidden: dict[str, str] = {k: str(params[k]) for k in keys if k in params}
        return consent_page(network="Salesforce", app_name=app.name, scopes=scopes, users=users, hidden=hidden)
    if params.get("decision") != APPROVE:
        denied = {"error": "access_denied", "error_description": "end-user denied authorization"}
        return redirect_back(redirect_uri, {**denied, **back})
    user = state.users.get(str(params.get("sandbox_user") or "").lower())
    if user is None or user.org_id != app.org_id:
        return error_page("Log in to Salesforce first.", 403)
    code = "aPrx" + secrets.token_urlsafe(32)
    with state.lock:
        state.auth_codes[code] = {
            "user": user.username, "client_id": app.consumer_key, "redirect_uri": redirect_uri,
            "challenge": params.get("code_challenge"), "refresh": "refresh_token" in scopes,
            "expires": time.time() + CODE_SECONDS,
        }  # fmt: skip
    return redirect_back(redirect_uri, {"code": code, **back})


def code_grant(state: SalesforceState, form: dict[str, str]) -> tuple[Session, str, str | None]:
    """(session, client secret, refresh token or None) for an ``authorization_code`` grant."""
    app = state.apps.get(form.get("client_id", ""))
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(form.get("client_secret", "").encode(), app.consumer_secret.encode()):
        raise OAuthError("invalid_client", "invalid client credentials")
    with state.lock:
        grant: dict[str, Any] | None = state.auth_codes.pop(form.get("code", ""), None)  # a code works once
    if (
        grant is None
        or grant["client_id"] != app.consumer_key
        or grant["redirect_uri"] != form.get("redirect_uri")
        or grant["expires"] < time.time()
    ):
        raise OAuthError("invalid_grant", "invalid authorization code")
    if grant["challenge"]:
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(digest, str(grant["challenge"])):
            raise OAuthError("invalid_grant", "invalid code verifier")
    user = state.users[grant["user"].lower()]
    refresh = state.issue_refresh_token(user.username, app.consumer_key) if grant["refresh"] else None
    return state.open_session(user, app.consumer_key), app.consumer_secret, refresh
