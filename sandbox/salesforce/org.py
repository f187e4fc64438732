"""A ready Salesforce org on the fake, as the demo and the benchmarks need it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..runner import start_fake
from ..server import RunningServer
from . import SalesforceApp, SalesforceState, sandbox_session
from .schema import CASE_ORIGINS

USERNAME = "integration@brand.example"
PASSWORD = "correct-horse"
TOKEN = "TOKEN123"
# Values an org admin adds to Case.Origin so that Origin = the social provider is valid.
SOCIAL_ORIGINS = ["Twitter", "Facebook", "Instagram", "Messenger", "Telegram", "VKontakte", "Other"]


@dataclass
class RunningOrg:
    app: SalesforceApp
    server: RunningServer
    cert: str
    org_id: str

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    @property
    def state(self) -> SalesforceState:
        return self.app.state

    def sink_config(self, **overrides: Any) -> dict[str, Any]:
        """A horseshoe Salesforce connection config (username-password flow) pointing at this org."""
        return {
            "auth": "password",
            "username": USERNAME,
            "password": PASSWORD,
            "security_token": TOKEN,
            "login_url": self.base,
            "ca_bundle": self.cert,
            **overrides,
        }

    def client(self) -> Any:
        """A plain simple-salesforce client logged in to the org (an admin's or a naive integration's)."""
        from simple_salesforce import Salesforce

        return Salesforce(
            username=USERNAME, password=PASSWORD, security_token=TOKEN, session=sandbox_session(self.base, self.cert)
        )

    def records(self, sobject: str) -> list[dict[str, Any]]:
        return self.state.records(sobject, org_id=self.org_id)

    def calls(self) -> int:
        return sum(self.state.calls.values())

    def stop(self) -> None:
        self.server.stop()


def start_org(name: str = "Brand Org") -> RunningOrg:
    fake = start_fake("salesforce", state=SalesforceState())
    app = fake.app
    org = app.state.create_org(name)
    app.state.create_user(USERNAME, PASSWORD, TOKEN, org_id=org.id)
    app.state.set_picklist("Case", "Origin", CASE_ORIGINS + SOCIAL_ORIGINS, restricted=True, org_id=org.id)
    # Setup > Change Data Capture > Social Post: agents' replies reach horseshoe by the change stream.
    app.state.changes.select_entities(org.id, ["SocialPost"])
    assert fake.cert is not None  # served over TLS, see sandbox.runner.TLS_FAKES
    return RunningOrg(app=app, server=fake.server, cert=fake.cert, org_id=org.id)
