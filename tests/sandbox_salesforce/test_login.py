"""Logins through the real simple-salesforce: SOAP username/password/token, OAuth password, JWT, session id."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed, SalesforceExpiredSession

from .conftest import CONSUMER_KEY, CONSUMER_SECRET, PASSWORD, TOKEN, USERNAME, Client, Env, content


def test_soap_login_with_security_token(env: Env) -> None:
    sf = env.login()
    assert sf.sf_instance == f"127.0.0.1:{env.server.port}"
    assert sf.session_id.startswith(env.org.id[:15] + "!")
    assert sf.query("SELECT Id, Username FROM User")["records"][0]["Username"] == USERNAME


def test_soap_login_wrong_password_is_invalid_login(env: Env) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=USERNAME, password="nope", security_token=TOKEN, session=env.session())
    assert info.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in info.value.auth_message


def test_oauth_password_grant(env: Env) -> None:
    sf: Client = Salesforce(username=USERNAME, password=PASSWORD + TOKEN, consumer_key=CONSUMER_KEY,
                    consumer_secret=CONSUMER_SECRET, session=env.session())  # fmt: skip
    assert sf.describe() is not None


def test_oauth_password_grant_bad_secret(env: Env) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=USERNAME, password=PASSWORD + TOKEN, consumer_key=CONSUMER_KEY,
                   consumer_secret="wrong", session=env.session())  # fmt: skip
    assert info.value.code == "invalid_client"


def test_jwt_bearer_login(env: Env) -> None:
    sf: Client = Salesforce(username=USERNAME, consumer_key=CONSUMER_KEY, privatekey=env.private_key_pem.decode(),
                    session=env.session())  # fmt: skip
    assert sf.auth_type == "jwt-bearer"
    assert sf.Contact.create({"LastName": "Jwt"})["success"] is True


def test_jwt_signed_with_unregistered_key_is_rejected(env: Env) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()  # fmt: skip
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=USERNAME, consumer_key=CONSUMER_KEY, privatekey=pem, session=env.session())
    assert (info.value.code, info.value.auth_message) == ("invalid_grant", "invalid assertion")


def test_jwt_unknown_user_and_unknown_issuer(env: Env) -> None:
    # simple-salesforce adds a self-authorize hint when it sees this exact error description.
    with pytest.raises(SalesforceAuthenticationFailed) as info, pytest.warns(UserWarning, match="self-authorize"):
        Salesforce(username="ghost@brand.example", consumer_key=CONSUMER_KEY,
                   privatekey=env.private_key_pem.decode(), session=env.session())  # fmt: skip
    assert info.value.auth_message == "user hasn't approved this consumer"
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=USERNAME, consumer_key="unknown-app", privatekey=env.private_key_pem.decode(),
                   session=env.session())  # fmt: skip
    assert info.value.code == "invalid_client_id"


def test_jwt_wrong_audience_and_expired(env: Env) -> None:
    session = env.session()
    now = int(env.state.clock().timestamp())
    for claims, expected in [
        ({"aud": "https://evil.example", "exp": now + 120}, "audience is invalid"),
        ({"aud": "https://login.salesforce.com", "exp": now - 10}, "expired authorization code"),
    ]:
        assertion = jwt.encode({"iss": CONSUMER_KEY, "sub": USERNAME, **claims}, env.private_key_pem,
                               algorithm="RS256")  # fmt: skip
        resp = session.post("https://login.salesforce.com/services/oauth2/token",
                            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                  "assertion": assertion})  # fmt: skip
        assert resp.status_code == 400
        assert resp.json() == {"error": "invalid_grant", "error_description": expected}


def test_refresh_token_grant(env: Env) -> None:
    refresh = env.state.issue_refresh_token(USERNAME, CONSUMER_KEY)
    resp = env.session().post(f"{env.base}/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh, "client_id": CONSUMER_KEY,
        "client_secret": CONSUMER_SECRET,
    })  # fmt: skip
    body = resp.json()
    assert resp.status_code == 200 and body["instance_url"] == env.base and body["token_type"] == "Bearer"
    sf = env.direct(body["access_token"])
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_session_id_injection_and_expiry(env: Env) -> None:
    sf = env.direct()
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    env.state.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT COUNT() FROM Contact")
    assert info.value.status == 401
    assert content(info) == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_session_timeout_follows_clock(env: Env) -> None:
    sf = env.direct()
    start = env.state.clock()
    env.state.clock = lambda: start + env.state.session_ttl + env.state.session_ttl
    with pytest.raises(SalesforceExpiredSession):
        sf.Contact.describe()


def test_password_client_logs_in_again_after_expiry(env: Env) -> None:
    sf = env.login()
    first = sf.session_id
    env.state.expire_sessions()
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0  # simple-salesforce re-logged in
    assert sf.session_id != first


def test_unknown_token_is_401(env: Env) -> None:
    with pytest.raises(SalesforceExpiredSession):
        env.direct("00Dbogus!token").describe()


def test_http_control_surface(env: Env) -> None:
    http = env.session()
    org = http.post(f"{env.base}/_sandbox/orgs", json={"name": "Second", "social_enabled": False}).json()
    user = http.post(f"{env.base}/_sandbox/users", json={"org_id": org["id"], "username": "two@x.example",
                                                         "password": "pw", "security_token": "T"}).json()  # fmt: skip
    assert user["org_id"] == org["id"]
    made = http.post(f"{env.base}/_sandbox/records/Contact", json={"org_id": org["id"],
                                                                   "fields": {"LastName": "Ctl"}}).json()  # fmt: skip
    assert made["id"].startswith("003")
    sf2: Client = Salesforce(username="two@x.example", password="pw", security_token="T", session=env.session())
    assert [r["LastName"] for r in sf2.query("SELECT LastName FROM Contact")["records"]] == ["Ctl"]
    listed = http.get(f"{env.base}/_sandbox/records/Contact", params={"org_id": org["id"]}).json()
    assert [r["Id"] for r in listed] == [made["id"]]
    assert http.post(f"{env.base}/_sandbox/sessions/expire", json={"org_id": org["id"]}).json()["expired"] == 1
    calls = http.get(f"{env.base}/_sandbox/calls").json()
    assert calls["GET /services/data/v<version>/query"] == 1
