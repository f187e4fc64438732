"""Facebook Login for a Page's admin, and the Page's app subscription, as the Graph API documents them.

- ``GET /{v}/dialog/oauth?client_id&redirect_uri&state&scope&response_type=code`` (www.facebook.com):
  the consent page; the redirect URI must be one of the app's "Valid OAuth Redirect URIs" (Strict Mode);
  approve → ``redirect_uri?code=…&state=…``, deny → ``error=access_denied&error_reason=user_denied``.
- ``GET /{v}/oauth/access_token``: ``code`` + ``client_id`` + ``client_secret`` + the same
  ``redirect_uri`` → a short-lived user token (a code works once); ``grant_type=fb_exchange_token`` → a
  long-lived one; ``grant_type=client_credentials`` → the app token (what checks an app secret).
- ``GET /debug_token?input_token=…`` with the app's token (``{app-id}|{app-secret}`` or one from
  ``client_credentials``): ``data.is_valid``, ``type`` (USER/PAGE), ``expires_at`` (0 = never: a Page token
  from a long-lived user token), ``data_access_expires_at`` (90 days after the person last logged in to
  the app), and for an invalidated token ``data.error`` with code 190 and its subcode
  (developers.facebook.com/docs/graph-api/reference/debug_token, "Access Token Guide");
- ``GET /me`` and ``GET /me/accounts`` with a user token: the user, and the Pages they manage with a Page
  token each and ``instagram_business_account{id,username}``.
- ``POST /{page-id}/subscribed_apps?subscribed_fields=…`` with that Page's token subscribes the app to
  the Page's webhooks; ``GET`` lists the subscription (developers.facebook.com/docs/graph-api/webhooks).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.base.consent import APPROVE, consent_page, error_page, redirect_back

from .exceptions import GraphError, invalid_param, invalid_token
from .login_state import DATA_ACCESS_SECONDS, Admin, MetaLogin
from .models import MetaState

CODE_SECONDS = 600


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _token(request: Request) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith(("Bearer ", "OAuth ")):
        return auth.split(" ", 1)[1].strip()
    return request.args.get("access_token", "")


def handles(login: MetaLogin, request: Request, parts: list[str]) -> bool:
    """Whether a (version-stripped) request is Facebook Login's, a user token's or the subscription edge's
    (``/me`` with a Page token stays the Page's, as on Graph)."""
    return (
        parts[:2] in (["dialog", "oauth"], ["oauth", "access_token"])
        or parts == ["debug_token"]
        or (parts[:1] == ["me"] and _token(request) in login.user_tokens)
        or (len(parts) == 2 and parts[1] == "subscribed_apps")
    )


def dispatch(state: MetaState, login: MetaLogin, request: Request, parts: list[str]) -> Response:
    try:
        if parts[:2] == ["dialog", "oauth"]:
            return _dialog(state, login, request)
        if parts[:2] == ["oauth", "access_token"]:
            return _json(_access_token(state, login, request))
        if parts == ["debug_token"]:
            return _json(_debug_token(state, login, request))
        if parts[:1] == ["me"]:
            return _json(_me(state, login, request, parts[1:]))
        return _json(_subscribed_apps(state, login, request, parts[0]))
    except GraphError as error:
        return error.response()


def _dialog(state: MetaState, login: MetaLogin, request: Request) -> Response:
    params = {**request.args, **request.form}
    if params.get("client_id") != login.app_id:
        return error_page("Invalid App ID: The provided app ID does not look like a valid app ID.")
    redirect_uri = str(params.get("redirect_uri") or "")
    if redirect_uri not in login.redirect_uris:
        return error_page(
            "URL blocked: This redirect failed because the redirect URI is not allowlisted in the app's client "
            "OAuth settings. Make sure that the client and web OAuth logins are on and add all your app domains "
            "as valid OAuth redirect URIs."
        )
    back = {"state": str(params["state"])} if params.get("state") else {}
    scopes = [s for s in str(params.get("scope") or "public_profile").replace(" ", ",").split(",") if s]
    if request.method == "GET":
        users = [(a.id, a.name) for a in login.admins.values()]
        hidden: dict[str, str] = {
            k: str(params[k]) for k in ("client_id", "redirect_uri", "state", "scope", "response_type") if k in params
        }
        return consent_page(
            network="Facebook", app_name=f"app {login.app_id}", scopes=scopes, users=users, hidden=hidden
        )
    if params.get("decision") != APPROVE:
        denied = {"error": "access_denied", "error_code": "200", "error_description": "Permissions error"}
        return redirect_back(redirect_uri, {**denied, "error_reason": "user_denied", **back})
    user = str(params.get("sandbox_user") or "")
    if user not in login.admins:
        return error_page("Log in to Facebook first.", 403)
    code = secrets.token_urlsafe(48)
    login.codes[code] = {"user": user, "redirect_uri": redirect_uri, "expires": login.clock() + CODE_SECONDS}
    login.data_access[user] = login.clock() + DATA_ACCESS_SECONDS  # logging in renews the data access
    return redirect_back(redirect_uri, {"code": code, **back})


def _check_client(state: MetaState, login: MetaLogin, params: dict[str, Any]) -> None:
    if params.get("client_id") != login.app_id:
        raise GraphError("Error validating application. Invalid application ID.", code=101)
    if not secrets.compare_digest(str(params.get("client_secret") or ""), state.app_secret):
        raise GraphError("Error validating client secret.", code=1)


def _issue(login: MetaLogin, user: str, long_lived: bool) -> dict[str, Any]:
    token = ("EAAL" if long_lived else "EAAS") + secrets.token_urlsafe(40)
    login.user_tokens[token] = (user, long_lived)
    login.issued[token] = login.clock()
    return {"access_token": token, "token_type": "bearer", "expires_in": 5183944 if long_lived else 5400}


def _access_token(state: MetaState, login: MetaLogin, request: Request) -> dict[str, Any]:
    params = dict(request.args)
    _check_client(state, login, params)
    grant_type = params.get("grant_type")
    if grant_type == "client_credentials":
        app_token = f"{login.app_id}|{secrets.token_urlsafe(16)}"
        login.app_tokens.add(app_token)
        return {"access_token": app_token, "token_type": "bearer"}
    if grant_type == "fb_exchange_token":
        given = str(params.get("fb_exchange_token") or "")
        if not given:
            raise invalid_param("Missing fb_exchange_token parameter")
        found = login.user_tokens.get(given)
        if found is None:
            raise invalid_token()
        _check_usable(login, given)  # an expired or invalidated token cannot be exchanged
        return _issue(login, found[0], True)
    grant = login.codes.pop(str(params.get("code") or ""), None)  # a code works once
    if grant is None or grant["expires"] < login.clock():
        raise GraphError("This authorization code has been used.", code=100, subcode=36009)
    if grant["redirect_uri"] != params.get("redirect_uri"):
        raise GraphError("Error validating verification code. Please make sure your redirect_uri is identical "
                         "to the one you used in the OAuth dialog request", code=100, subcode=36008)  # fmt: skip
    return _issue(login, grant["user"], False)


def _user(login: MetaLogin, request: Request) -> Admin:
    token = _token(request)
    found = login.user_tokens.get(token)
    if found is None:
        raise invalid_token()
    _check_usable(login, token)
    return login.admins[found[0]]


SUBCODE_MESSAGES = {
    458: "Error validating access token: The user has not authorized application {app}.",
    460: "Error validating access token: The session has been invalidated because the user changed their "
    "password or Facebook has changed the session for security reasons.",
    463: "Error validating access token: Session has expired. The current time is {now}.",
    467: "Error validating access token: The access token is invalid.",
}


def token_error(login: MetaLogin, token: str) -> GraphError | None:
    """Why Graph refuses ``token`` (code 190 with Meta's subcode), or None while it works."""
    subcode = login.invalid.get(token)
    if subcode is None:
        expires = login.expires_at(token)
        if not expires or expires > login.clock():
            return None
        subcode = 463
    message = SUBCODE_MESSAGES.get(subcode, "Error validating access token.")
    return GraphError(message.format(app=login.app_id, now=int(login.clock())), code=190, subcode=subcode)


def _check_usable(login: MetaLogin, token: str) -> None:
    error = token_error(login, token)
    if error is not None:
        raise error


def _is_app_token(state: MetaState, login: MetaLogin, token: str) -> bool:
    return token in login.app_tokens or secrets.compare_digest(token, f"{login.app_id}|{state.app_secret}")


def _debug_token(state: MetaState, login: MetaLogin, request: Request) -> dict[str, Any]:
    """``GET /debug_token``: what Meta knows of ``input_token``, asked with the app's token."""
    if not _is_app_token(state, login, _token(request)):
        raise GraphError("(#100) You must provide an app access token, or a user access token that is an owner "
                         "or developer of the app", code=100)  # fmt: skip
    given = request.args.get("input_token", "")
    if not given:
        raise invalid_param("The parameter input_token is required")
    expires = login.expires_at(given)
    page = state.page_for_token(given)
    if expires is None and page is None:
        return {"data": {"error": {"code": 190, "message": "Invalid OAuth access token."}, "is_valid": False,
                         "scopes": []}}  # fmt: skip
    user = login.user_tokens.get(given) or login.page_tokens.get(given)
    data: dict[str, Any] = {
        "app_id": login.app_id,
        "type": "USER" if given in login.user_tokens else "PAGE",
        "application": "Sandbox App",
        # A Page token pasted from a system user never expires and has no data access to lose.
        "expires_at": expires or 0,
        "data_access_expires_at": int(login.data_access.get(user[0], 0)) if user else 0,
        "is_valid": True,
        "scopes": ["pages_show_list", "pages_messaging", "pages_manage_metadata"],
    }
    if given in login.issued:
        data["issued_at"] = int(login.issued[given])
    if user:
        data["user_id"] = user[0]
    if page is not None:
        data["profile_id"] = page.id
    error = token_error(login, given)
    if error is not None:
        data["is_valid"] = False
        data["error"] = {"code": 190, "message": error.message, "subcode": error.subcode}
    return {"data": data}


def _me(state: MetaState, login: MetaLogin, request: Request, rest: list[str]) -> dict[str, Any]:
    admin = _user(login, request)
    if not rest:
        return {"id": admin.id, "name": admin.name}
    if rest != ["accounts"]:
        raise invalid_param(f"Tried accessing nonexisting field ({rest[0]}) on node type (User)")
    pages = []
    long_lived = login.user_tokens[_token(request)][1]
    for page_id in admin.page_ids:
        page = state.pages[page_id]
        login.page_tokens[page.token] = (admin.id, long_lived)
        item: dict[str, Any] = {"id": page.id, "name": page.name, "access_token": page.token, "category": "Brand",
                                "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]}  # fmt: skip
        if page.ig_id:
            item["instagram_business_account"] = {"id": page.ig_id, "username": page.ig_username}
        pages.append(item)
    return {"data": pages, "paging": {"cursors": {"before": "MAZDZD", "after": "MAZDZD"}}}


def _subscribed_apps(state: MetaState, login: MetaLogin, request: Request, page_id: str) -> dict[str, Any]:
    token = _token(request)
    page = state.page_for_token(token)
    if page is None:
        raise invalid_token()
    if page.id != page_id:
        raise GraphError("(#210) A page access token is required to request this resource.", code=210)
    if request.method == "POST":
        body = request.get_json(silent=True) if request.is_json else None
        given = body.get("subscribed_fields") if isinstance(body, dict) else None
        raw = str(given or request.args.get("subscribed_fields") or request.form.get("subscribed_fields") or "")
        wanted = [f for f in raw.split(",") if f]
        if not wanted:
            raise invalid_param("The parameter subscribed_fields is required.")
        login.subscriptions[page_id] = wanted
        return {"success": True}
    fields = login.subscriptions.get(page_id)
    return {"data": [] if fields is None else [{"id": login.app_id, "name": "App", "subscribed_fields": fields}]}
