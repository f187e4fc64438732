"""Fixtures: the HTTPS fake Salesforce (one per session, reset per test) and a horseshoe runtime
whose Salesforce sink connection points at it through the real config keys (``login_url``,
``ca_bundle``), with the testnet connector as the social network."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from simple_salesforce import Salesforce

from plugin.models import Labels, Match, Mention
from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from plugin.salesforce.sink import SalesforceSink
from plugin.sink import DeliveryItem, SinkConnection
from sandbox.runner import RunningFake
from sandbox.salesforce import SalesforceState, sandbox_session
from sandbox.salesforce.models import Org, User

# What an org admin adds to Case.Origin so Origin = provider is a valid value (the default picklist
# has only Phone, Email, Web): the same org the demo and the benchmarks use.
from sandbox.salesforce.org import PASSWORD, SOCIAL_ORIGINS, TOKEN, USERNAME
from sandbox.salesforce.schema import CASE_ORIGINS
from tests.conftest import fast_settings
from tests.support.fakes import OnFake, fake_fixture, quiet
from tests.support.netplugin import TestNetPlugin


@dataclass
class SfEnv(OnFake):
    org: Org
    user: User

    @property
    def base(self) -> str:
        return self.url

    def config(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "auth": "password", "username": USERNAME, "password": PASSWORD, "security_token": TOKEN,
            "login_url": self.base, "ca_bundle": self.cert,
        }  # fmt: skip
        values.update(overrides)
        return values

    def admin(self) -> Any:
        """An admin's own simple-salesforce client, to arrange and inspect the org."""
        return Salesforce(username=USERNAME, password=PASSWORD, security_token=TOKEN,
                          session=sandbox_session(self.base, self.cert))  # fmt: skip

    def records(self, sobject: str) -> list[dict[str, Any]]:
        return self.state.records(sobject, org_id=self.org.id)

    def at(self, when: datetime) -> Any:
        """Run fake-side actions as if at ``when`` (e.g. a Case closed 3 days ago)."""
        state = self.state
        original = state.clock

        class _At:
            def __enter__(self) -> None:
                state.clock = lambda: when

            def __exit__(self, *exc: object) -> None:
                state.clock = original

        return _At()

    def close_case(self, case_id: str, days_ago: float) -> None:
        with self.at(self.state.clock() - timedelta(days=days_ago)):
            self.admin().Case.update(case_id, {"Status": "Closed"})


running_sf = fake_fixture("salesforce", scope="session", state=SalesforceState())


@pytest.fixture
def sfenv(running_sf: RunningFake) -> SfEnv:
    quiet(running_sf, seed=0)
    app = running_sf.app
    org = app.state.create_org("Brand Org")
    user = app.state.create_user(USERNAME, PASSWORD, TOKEN, org_id=org.id)
    app.state.set_picklist("Case", "Origin", CASE_ORIGINS + SOCIAL_ORIGINS, restricted=True, org_id=org.id)
    return SfEnv(running_sf, org, user)


@pytest.fixture
def sink() -> SalesforceSink:
    return SalesforceSink()


def connection(env: SfEnv, **overrides: Any) -> SinkConnection:
    return SinkConnection(tenant_id=1, tenant_key="acme", sink="salesforce", config=env.config(**overrides))


_ids = iter(range(1, 10**9))


def item(mention: Mention, *, match: Match | None = None, parent_state: str | None = None,
         labels: Labels | None = None) -> DeliveryItem:  # fmt: skip
    return DeliveryItem(next(_ids), mention, labels or Labels(), parent_state=parent_state, match=match)


@pytest.fixture
def testnet() -> TestNetPlugin:
    return TestNetPlugin()


@pytest.fixture
def rt(request: pytest.FixtureRequest, tmp_path: object, testnet: TestNetPlugin) -> Iterator[Runtime]:
    marker = request.node.get_closest_marker("settings")  # e.g. @pytest.mark.settings(lease_seconds=60)
    overrides = {"lease_seconds": 0.2, **(marker.kwargs if marker is not None else {})}
    pm = get_plugin_manager(extra_plugins=[("testnet", testnet)])
    runtime = build_runtime(fast_settings(str(tmp_path), **overrides), pm=pm)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def tenant(rt: Runtime, sfenv: SfEnv) -> tuple[int, int]:
    """(tenant_id, account_id): tenant "acme" with a testnet brand account and Salesforce connected."""
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "s3cret"}, handle="brand")
    rt.store.set_sink_connection(tenant_id, "salesforce", sfenv.config(reply_poll_seconds=0))
    return tenant_id, account_id
