"""The OAuth 1.0a signer against X's "Creating a signature" worked example, and secret hygiene."""

from __future__ import annotations

import requests

from connectors.x.auth import (
    BearerAuth,
    OAuth1Auth,
    hmac_sha1_signature,
    percent_encode,
    read_credential,
    signature_base_string,
    user_credential,
    write_credential,
)

# The example request and keys from https://docs.x.com/fundamentals/authentication/oauth-1-0a/creating-a-signature
EXAMPLE_PARAMS = [
    ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
    ("include_entities", "true"),
    ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
    ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "1318622958"),
    ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
    ("oauth_version", "1.0"),
]
CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"


def test_percent_encoding_follows_rfc3986():
    assert percent_encode("Hello Ladies + Gentlemen, a signed OAuth request!") == (
        "Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21"
    )
    assert percent_encode("-._~") == "-._~"
    assert percent_encode("☃") == "%E2%98%83"


def test_signature_matches_documented_example():
    base = signature_base_string("post", "https://api.x.com/1.1/statuses/update.json", EXAMPLE_PARAMS)
    assert base.startswith("POST&https%3A%2F%2Fapi.x.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue")
    assert hmac_sha1_signature(base, CONSUMER_SECRET, TOKEN_SECRET) == "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="


def test_signature_matches_older_api_twitter_edition_of_the_page():
    base = signature_base_string("POST", "https://api.twitter.com/1.1/statuses/update.json", EXAMPLE_PARAMS)
    assert hmac_sha1_signature(base, CONSUMER_SECRET, TOKEN_SECRET) == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


def test_auth_header_signs_query_and_form_body_like_the_example():
    auth = OAuth1Auth(
        "xvz1evFS4wEEPTGEFPHBog",
        CONSUMER_SECRET,
        "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        TOKEN_SECRET,
        nonce=lambda: "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        timestamp=lambda: 1318622958,
    )
    request = requests.Request(
        "POST",
        "https://api.x.com/1.1/statuses/update.json?include_entities=true",
        data={"status": "Hello Ladies + Gentlemen, a signed OAuth request!"},
        auth=auth,
    ).prepare()
    header = request.headers["Authorization"]
    assert header.startswith("OAuth ")
    assert 'oauth_signature="Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D"' in header
    assert 'oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog"' in header


def test_default_port_is_dropped_and_others_kept():
    a = signature_base_string("GET", "HTTPS://API.X.COM:443/2/tweets", [])
    b = signature_base_string("GET", "https://api.x.com/2/tweets", [])
    assert a == b
    assert "127.0.0.1%3A8080" in signature_base_string("GET", "http://127.0.0.1:8080/2/tweets", [])


def test_secrets_never_in_repr():
    secret_creds = {
        "bearer_token": "SECRET-BEARER",
        "user_access_token": "SECRET-USER",
        "consumer_key": "ck",
        "consumer_secret": "SECRET-CS",
        "access_token": "at",
        "access_token_secret": "SECRET-ATS",
    }
    for cred in (read_credential(secret_creds), write_credential(secret_creds), user_credential(secret_creds)):
        assert cred is not None
        assert "SECRET" not in repr(cred) and "SECRET" not in repr(cred.auth)
        assert "SECRET" not in cred.token_id
    assert "SECRET" not in repr(BearerAuth("SECRET-X"))
    assert "SECRET" not in repr(OAuth1Auth("a", "SECRET-1", "b", "SECRET-2"))


def test_credential_choice():
    app_and_user = {"bearer_token": "app", "user_access_token": "user"}
    assert read_credential(app_and_user).user_context is False  # type: ignore[union-attr]
    assert write_credential(app_and_user).user_context is True  # type: ignore[union-attr]
    oauth1_only = {"consumer_key": "a", "consumer_secret": "b", "access_token": "c", "access_token_secret": "d"}
    cred = user_credential(oauth1_only)
    assert cred is not None and isinstance(cred.auth, OAuth1Auth)
    assert user_credential({"bearer_token": "app"}) is None
