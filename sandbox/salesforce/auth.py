"""Login paths: OAuth 2.0 token endpoint (password, JWT bearer, refresh) and the SOAP ``login()`` call.

OAuth: POST ``/services/oauth2/token`` (form-encoded); errors are ``{"error", "error_description"}`` with
HTTP 400. JWT bearer: the assertion is an RS256 JWS whose ``iss`` is the connected app's consumer key,
``sub`` the username, ``aud`` the login URL (https://login.salesforce.com, https://test.salesforce.com
or the site itself) and ``exp`` a near-future epoch; it is verified with the certificate / public key
registered on the connected app. SOAP: ``POST /services/Soap/u/{version}`` with a partner ``login``
envelope; the reply carries ``serverUrl`` and ``sessionId`` (LoginResult), failures a SOAP fault with
``sf:exceptionCode``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .exceptions import OAuthError, SoapLoginFault
from .models import SalesforceState, Session, User

AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_PARTNER_NS = "urn:partner.soap.sforce.com"
_BAD_LOGIN = "Invalid username, password, security token; or user locked out."


def token_response(state: SalesforceState, session: Session, instance_url: str, secret: str,
                   *, refresh_token: str | None = None) -> dict[str, Any]:  # fmt: skip
    user = state.user_by_id(session.user_id)
    assert user is not None
    identity = f"https://login.salesforce.com/id/{user.org_id}/{user.id}"
    issued_at = str(int(session.issued.timestamp() * 1000))
    # signature = base64(HMAC-SHA256(client secret, id + issued_at)), as the token endpoint documents.
    signature = base64.b64encode(
        hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body: dict[str, Any] = {
        "access_token": session.token,
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        "scope": "api",
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    return body


def _check_password(user: User | None, supplied: str) -> bool:
    if user is None:
        return False
    candidates = [user.password + user.security_token]
    if not user.security_token:
        candidates.append(user.password)
    return any(hmac.compare_digest(supplied.encode(), c.encode()) for c in candidates)


def password_grant(state: SalesforceState, form: dict[str, str]) -> tuple[Session, str]:
    app = state.apps.get(form.get("client_id", ""))
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(form.get("client_secret", "").encode(), app.consumer_secret.encode()):
        raise OAuthError("invalid_client", "invalid client credentials")
    user = state.users.get(form.get("username", "").lower())
    if user is None or user.org_id != app.org_id or not _check_password(user, form.get("password", "")):
        raise OAuthError("invalid_grant", "authentication failure")
    return state.open_session(user, app.consumer_key), app.consumer_secret


def refresh_grant(state: SalesforceState, form: dict[str, str]) -> tuple[Session, str]:
    app = state.apps.get(form.get("client_id", ""))
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if "client_secret" in form and not hmac.compare_digest(
        form["client_secret"].encode(), app.consumer_secret.encode()
    ):
        raise OAuthError("invalid_client", "invalid client credentials")
    entry = state.refresh_tokens.get(form.get("refresh_token", ""))
    if entry is None or entry[1] != app.consumer_key:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    user = state.user_by_id(entry[0])
    if user is None:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    return state.open_session(user, app.consumer_key), app.consumer_secret


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Accept what an admin uploads to a connected app: an X.509 certificate, or a bare public key."""
    if b"CERTIFICATE" in pem:
        key: Any = x509.load_pem_x509_certificate(pem).public_key()
    else:
        key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("connected app key must be RSA")
    return key


def jwt_grant(state: SalesforceState, form: dict[str, str], site_url: str) -> tuple[Session, str]:
    assertion = form.get("assertion", "")
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as err:
        raise OAuthError("invalid_grant", "invalid assertion") from err
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion")
    app = state.apps.get(str(claims.get("iss", "")))
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if app.public_key_pem is None:
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        _public_key(app.public_key_pem).verify(
            signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as err:
        raise OAuthError("invalid_grant", "invalid assertion") from err
    if str(claims.get("aud", "")).rstrip("/") not in (*AUDIENCES, site_url.rstrip("/")):
        raise OAuthError("invalid_grant", "audience is invalid")
    try:
        exp = float(claims.get("exp", 0))
    except (TypeError, ValueError) as err:
        raise OAuthError("invalid_grant", "invalid assertion") from err
    # Salesforce requires exp within 3 minutes of the request (allowing a little clock skew).
    now = state.clock().timestamp()
    if exp < now or exp > now + 180 + 60:
        raise OAuthError("invalid_grant", "expired authorization code")
    user = state.users.get(str(claims.get("sub", "")).lower())
    if user is None or user.org_id != app.org_id:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    if app.preauthorized is not None and user.username.lower() not in {u.lower() for u in app.preauthorized}:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return state.open_session(user, app.consumer_key), app.consumer_secret


# -- SOAP login --------------------------------------------------------------------------------------


def soap_login(state: SalesforceState, body: bytes) -> tuple[Session, User]:
    try:
        root = ET.fromstring(body)  # noqa: S314 - local fake, input comes from the test's own client
    except ET.ParseError as err:
        raise SoapLoginFault("INVALID_LOGIN", _BAD_LOGIN) from err
    username = root.findtext(f".//{{{_PARTNER_NS}}}username") or ""
    password = root.findtext(f".//{{{_PARTNER_NS}}}password") or ""
    org_scope = root.findtext(f".//{{{_PARTNER_NS}}}organizationId")
    user = state.users.get(username.lower())
    ok = _check_password(user, password)
    if user is not None and org_scope is not None:
        ok = ok or (user.password == password and org_scope[:15] == user.org_id[:15])
    if not ok or user is None:
        raise SoapLoginFault("INVALID_LOGIN", _BAD_LOGIN)
    return state.open_session(user), user


def soap_login_response(session: Session, user: User, site_url: str, version: str) -> str:
    base = site_url.rstrip("/")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{user.org_id}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{user.org_id}</serverUrl>"
        f"<sessionId>{escape(session.token)}</sessionId><userId>{user.id}</userId>"
        f"<userInfo><organizationId>{user.org_id}</organizationId><userEmail>{escape(user.email)}</userEmail>"
        f"<userId>{user.id}</userId><userName>{escape(user.username)}</userName></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def soap_fault(fault: SoapLoginFault) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{fault.code}</faultcode><faultstring>{fault.code}: {escape(fault.message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{fault.code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(fault.message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
