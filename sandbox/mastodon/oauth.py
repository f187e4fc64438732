"""Mastodon's app registration and OAuth 2.0 (docs.joinmastodon.org/methods/apps, /methods/oauth).

``POST /api/v1/apps`` registers a client (``client_name``, ``redirect_uris``, ``scopes``) and answers
its ``client_id`` / ``client_secret``; ``GET /oauth/authorize`` shows the signed-in user the consent
page and redirects to the registered URI with ``code`` and ``state``; ``POST /oauth/token`` exchanges
the code (single-use, for the same client and redirect URI) for a Bearer ``access_token``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from sandbox.base.consent import APPROVE, consent_page, error_page, redirect_back

from .exceptions import MastodonError, Unprocessable
from .models import MastodonState
from .responses import _params, json_response

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_SECONDS = 600


def _uris(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value or "").split() if v]


def create_app(state: MastodonState, request: Request, viewer: str | None) -> Response:
    params = _params(request)
    name = str(params.get("client_name") or "").strip()
    if not name:
        raise Unprocessable("Validation failed: Application name can't be blank")
    uris = _uris(params.get("redirect_uris") or params.get("redirect_uris[]"))
    if not uris or any(u != OOB and not (urlsplit(u).scheme and urlsplit(u).netloc) for u in uris):
        raise Unprocessable("Validation failed: Redirect URI must be an absolute URI.")
    scopes = str(params.get("scopes") or "read")
    app: dict[str, Any] = {
        "id": str(len(state.oauth_apps) + 1),
        "name": name,
        "website": params.get("website"),
        "scopes": scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "client_id": secrets.token_urlsafe(32),
        "client_secret": secrets.token_urlsafe(32),
        "client_secret_expires_at": 0,
        "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
    }
    with state.lock:
        state.oauth_apps[app["client_id"]] = app
    return json_response(app)


def _checked_request(state: MastodonState, params: dict[str, Any]) -> tuple[dict[str, Any], str] | Response:
    app = state.oauth_apps.get(str(params.get("client_id") or ""))
    if app is None:
        return error_page("The client application is not known to this instance.")
    redirect_uri = str(params.get("redirect_uri") or "")
    if redirect_uri not in app["redirect_uris"]:
        return error_page("The redirect uri included is not valid.")
    return app, redirect_uri


def authorize(state: MastodonState, request: Request, viewer: str | None) -> Response:
    params = _params(request)
    checked = _checked_request(state, params)
    if isinstance(checked, Response):
        return checked
    app, redirect_uri = checked
    back = {"state": str(params["state"])} if params.get("state") else {}
    scopes = str(params.get("scope") or "read").split()
    if params.get("response_type") != "code":
        return redirect_back(redirect_uri, {"error": "unsupported_response_type", **back})
    if not set(scopes) <= set(app["scopes"]):
        return redirect_back(redirect_uri, {"error": "invalid_scope", **back})
    if request.method == "GET":
        users = [(a["id"], f"@{a['acct']}") for a in state.accounts.values() if "@" not in a["acct"]]
        hidden: dict[str, str] = {
            k: str(params[k]) for k in ("response_type", "client_id", "redirect_uri", "scope", "state") if k in params
        }
        return consent_page(network=state.domain, app_name=app["name"], scopes=scopes, users=users, hidden=hidden)
    if params.get("decision") != APPROVE:
        description = "The resource owner or authorization server denied the request."
        return redirect_back(redirect_uri, {"error": "access_denied", "error_description": description, **back})
    user = str(params.get("sandbox_user") or "")
    if user not in state.accounts:
        return error_page("Sign in first.", 403)
    code = secrets.token_urlsafe(32)
    with state.lock:
        state.oauth_codes[code] = {
            "client_id": app["client_id"], "redirect_uri": redirect_uri, "account_id": user,
            "scope": " ".join(scopes), "expires": time.time() + CODE_SECONDS,
        }  # fmt: skip
    return redirect_back(redirect_uri, {"code": code, **back})


class OAuthError(MastodonError):
    """Doorkeeper's token endpoint errors: ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(description, status=status)
        self.error = error

    def body(self) -> Any:
        return {"error": self.error, "error_description": self.message}


def token(state: MastodonState, request: Request, viewer: str | None) -> Response:
    params = _params(request)
    app = state.oauth_apps.get(str(params.get("client_id") or ""))
    if app is None or not secrets.compare_digest(str(params.get("client_secret") or ""), app["client_secret"]):
        raise OAuthError(
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or "
            "unsupported authentication method.",
            401,
        )
    if params.get("grant_type") != "authorization_code":
        raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported.", 400)
    with state.lock:
        grant = state.oauth_codes.pop(str(params.get("code") or ""), None)  # a code works once
    if (
        grant is None
        or grant["client_id"] != app["client_id"]
        or grant["redirect_uri"] != params.get("redirect_uri")
        or grant["expires"] < time.time()
    ):
        raise OAuthError(
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection "
            "URI used in the authorization request, or was issued to another client.",
            400,
        )
    access = state.issue_token(grant["account_id"])
    return json_response(
        {"access_token": access, "token_type": "Bearer", "scope": grant["scope"], "created_at": int(time.time())}
    )
