"""Login endpoints of the fake Salesforce: the OAuth 2.0 token, revoke and introspect endpoints and SOAP
``login``.

Token introspection (``POST /services/oauth2/introspect``: ``token``, ``token_type_hint``, ``client_id``,
``client_secret``; "OAuth 2.0 Token Introspection Flow") answers a connected app about the tokens issued
to it: ``{"active": true, "exp", "iat", "nbf", "client_id", "username", "sub", "scope", "token_type"}``,
an access token's ``exp`` being its issue time plus the org's session timeout, or ``{"active": false}``
for an expired, revoked or unknown token.

OAuth errors are ``{"error", "error_description"}``; SOAP login faults are a SOAP Fault (see auth.py).
"""

from __future__ import annotations

import hmac

from werkzeug.wrappers import Request, Response

from . import auth, webflow
from .exceptions import OAuthError, SoapLoginFault
from .models import SalesforceState
from .wire import json_body as _json


class LoginHandlers:
    """Mixin of ``Handlers``: these endpoints answer before (and without) a session."""

    state: SalesforceState

    def do_oauth_token(self, request: Request) -> Response:
        form = {k: v for k, v in request.form.items()}
        grant = form.get("grant_type", "")
        site = request.host_url.rstrip("/")
        try:
            if grant == "password":
                session, secret = auth.password_grant(self.state, form)
            elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                session, secret = auth.jwt_grant(self.state, form, site)
            elif grant == "refresh_token":
                session, secret = auth.refresh_grant(self.state, form)
            elif grant == "authorization_code":
                session, secret, refresh = webflow.code_grant(self.state, form)
                return _json(auth.token_response(self.state, session, site, secret, refresh_token=refresh))
            else:
                raise OAuthError("unsupported_grant_type", "grant type not supported")
        except OAuthError as err:
            return _json({"error": err.error, "error_description": err.description}, err.status)
        return _json(auth.token_response(self.state, session, site, secret))

    def do_oauth_authorize(self, request: Request) -> Response:
        return webflow.authorize(self.state, request)

    def do_oauth_revoke(self, request: Request) -> Response:
        token = request.form.get("token", "")
        with self.state.lock:
            if self.state.sessions.pop(token, None) is None and self.state.refresh_tokens.pop(token, None) is None:
                return _json({"error": "unsupported_token_type", "error_description": "this token type is not "
                              "supported"}, 400)  # fmt: skip
        return Response(status=200)

    def do_oauth_introspect(self, request: Request) -> Response:
        form = {k: v for k, v in request.form.items()}
        app = self.state.apps.get(form.get("client_id", ""))
        secret = form.get("client_secret", "")
        if app is None or not secret or not hmac.compare_digest(secret.encode(), app.consumer_secret.encode()):
            return _json({"error": "invalid_client", "error_description": "invalid client credentials"}, 401)
        token = form.get("token", "")
        if not token:
            return _json({"error": "invalid_request", "error_description": "token is required"}, 400)
        with self.state.lock:
            session = self.state.session_for(token)
            refresh = self.state.refresh_tokens.get(token)
        if session is not None and session.consumer_key == app.consumer_key:
            user = self.state.user_by_id(session.user_id)
            issued = int(session.issued.timestamp())
            expires = int((session.issued + self.state.session_ttl).timestamp())
            kind, user_id = "access_token", session.user_id
        elif refresh is not None and refresh[1] == app.consumer_key:
            user, kind, user_id = self.state.user_by_id(refresh[0]), "refresh_token", refresh[0]
            issued, expires = int(self.state.clock().timestamp()), None  # no expiry unless a policy sets one
        else:
            return _json({"active": False})
        assert user is not None
        body = {"active": True, "scope": "api refresh_token", "client_id": app.consumer_key,
                "username": user.username, "sub": f"https://login.salesforce.com/id/{user.org_id}/{user_id}",
                "token_type": kind, "iat": issued, "nbf": issued}  # fmt: skip
        if expires is not None:
            body["exp"] = expires
        return _json(body)

    def do_soap_login(self, request: Request, version: str, org_id: str | None = None) -> Response:
        try:
            session, user = auth.soap_login(self.state, request.get_data())
        except SoapLoginFault as fault:
            return Response(auth.soap_fault(fault), status=500, content_type="text/xml;charset=UTF-8")
        body = auth.soap_login_response(session, user, request.host_url, version)
        return Response(body, status=200, content_type="text/xml;charset=UTF-8")
