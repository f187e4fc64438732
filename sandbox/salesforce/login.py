"""Login endpoints of the fake Salesforce: the OAuth 2.0 token and revoke endpoints and SOAP ``login``.

OAuth errors are ``{"error", "error_description"}``; SOAP login faults are a SOAP Fault (see auth.py).
"""

from __future__ import annotations

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

    def do_soap_login(self, request: Request, version: str, org_id: str | None = None) -> Response:
        try:
            session, user = auth.soap_login(self.state, request.get_data())
        except SoapLoginFault as fault:
            return Response(auth.soap_fault(fault), status=500, content_type="text/xml;charset=UTF-8")
        body = auth.soap_login_response(session, user, request.host_url, version)
        return Response(body, status=200, content_type="text/xml;charset=UTF-8")
