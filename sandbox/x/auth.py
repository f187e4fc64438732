"""Authentication as X checks it: Bearer tokens (app-only or OAuth 2.0 user) and OAuth 1.0a HMAC-SHA1.

The OAuth 1.0a check recomputes the RFC 5849 signature from the request as received, independently of
the connector's signer, so a signing bug on either side shows up as a 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, unquote

from werkzeug.wrappers import Request

from .exceptions import unauthorized
from .models import Principal, XState

APP_ONLY = "OAuth 2.0 Application-Only"
USER_OAUTH2 = "OAuth 2.0 User Context"
USER_OAUTH1 = "OAuth 1.0a User Context"


def _enc(value: str) -> str:
    return quote(value, safe="-._~")


def _oauth_header_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in value.split(","):
        key, sep, raw = part.strip().partition("=")
        if not sep or len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
            raise unauthorized()
        params[unquote(key)] = unquote(raw[1:-1])
    return params


def _oauth1(request: Request, header: str, state: XState) -> Principal:
    oauth = _oauth_header_params(header)
    signature = oauth.pop("oauth_signature", None)
    consumer_secret = state.oauth1_consumers.get(oauth.get("oauth_consumer_key", ""))
    token = state.oauth1_tokens.get(oauth.get("oauth_token", ""))
    if signature is None or consumer_secret is None or token is None:
        raise unauthorized()
    if oauth.get("oauth_signature_method") != "HMAC-SHA1":
        raise unauthorized()
    pairs = [*request.args.items(multi=True), *oauth.items()]
    if request.mimetype == "application/x-www-form-urlencoded":
        pairs.extend(request.form.items(multi=True))
    param_string = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in pairs))
    base_url = f"{request.scheme}://{request.host.lower()}{request.path}"
    base = "&".join((request.method.upper(), _enc(base_url), _enc(param_string)))
    key = f"{_enc(consumer_secret)}&{_enc(token[0])}"
    expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise unauthorized()
    return Principal(user_id=token[1], method=USER_OAUTH1, token=oauth["oauth_token"])


def authenticate(request: Request, state: XState) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme == "Bearer" and value:
        with state.lock:
            if value not in state.bearer_tokens:
                raise unauthorized()
            if state.token_expiry.get(value, float("inf")) <= state.clock():
                raise unauthorized()  # an OAuth 2.0 user token lives 2 hours, then only a refresh helps
            user_id = state.bearer_tokens[value]
        return Principal(user_id=user_id, method=USER_OAUTH2 if user_id else APP_ONLY, token=value)
    if scheme == "OAuth" and value:
        return _oauth1(request, value, state)
    raise unauthorized()
