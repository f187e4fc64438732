"""Fixtures: one HTTPS fake Salesforce per test session, state reset and re-seeded for every test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce

from sandbox.runner import RunningFake
from sandbox.salesforce import (
    DuplicateRule,
    SalesforceState,
    sandbox_session,
)
from sandbox.salesforce.models import Org, User
from tests.support.fakes import OnFake, fake_fixture, quiet

# simple-salesforce resolves ``sf.Contact`` etc. dynamically (typed as a Union with the bulk handlers), so
# tests hold the client as Any rather than fight its annotations.
Client = Any

USERNAME = "agent@brand.example"
PASSWORD = "correct-horse"
TOKEN = "TOKEN123"
CONSUMER_KEY = "3MVG9-test-consumer"
CONSUMER_SECRET = "test-consumer-secret"


@dataclass
class Env(OnFake):
    org: Org
    user: User
    private_key_pem: bytes

    @property
    def base(self) -> str:
        return self.url

    def session(self) -> requests.Session:
        return sandbox_session(self.base, self.cert)

    def login(self) -> Client:
        return Salesforce(username=USERNAME, password=PASSWORD, security_token=TOKEN, session=self.session())

    def direct(self, token: str | None = None) -> Client:
        # A plain session works too (``trust_env = False`` keeps REQUESTS_CA_BUNDLE from overriding
        # ``verify``); sandbox_session() would do the same through its adapter.
        http = requests.Session()
        http.trust_env = False
        http.verify = self.cert
        token = token or self.state.open_session(self.user).token
        return Salesforce(instance_url=self.base, session_id=token, session=http)


def content(info: pytest.ExceptionInfo[Any]) -> Any:
    """The decoded error body simple-salesforce attached to the exception it raised."""
    return info.value.content


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


running = fake_fixture("salesforce", scope="session", state=SalesforceState())


@pytest.fixture
def env(running: RunningFake, rsa_key: rsa.RSAPrivateKey) -> Env:
    quiet(running, seed=0)
    app = running.app
    org = app.state.create_org("Brand Org")
    user = app.state.create_user(USERNAME, PASSWORD, TOKEN, org_id=org.id)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app.state.register_app(CONSUMER_KEY, CONSUMER_SECRET, public_key_pem=public_pem, org_id=org.id)
    private_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Env(running, org, user, private_pem)


@pytest.fixture
def sf(env: Env) -> Client:
    return env.login()


@pytest.fixture
def contact_dupe_rule(env: Env) -> DuplicateRule:
    rule = DuplicateRule("Contact", ["Email"], "Standard_Contact_Duplicate_Rule")
    env.state.add_duplicate_rule(rule)
    return rule
