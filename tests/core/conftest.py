from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.plugins import get_plugin_manager
from plugin.runtime import Runtime, build_runtime
from tests.conftest import fast_settings
from tests.support.netplugin import TestNetPlugin


@pytest.fixture
def testnet() -> TestNetPlugin:
    return TestNetPlugin()


@pytest.fixture
def rt(
    request: pytest.FixtureRequest, tmp_path: object, any_database_url: str, testnet: TestNetPlugin
) -> Iterator[Runtime]:
    """A runtime with the testnet connector, over SQLite and (in CI) PostgreSQL; a test marked
    ``@pytest.mark.settings(lease_seconds=...)`` gets those settings."""
    marker = request.node.get_closest_marker("settings")
    overrides = dict(marker.kwargs) if marker is not None else {}
    pm = get_plugin_manager(extra_plugins=[("testnet", testnet)])
    runtime = build_runtime(fast_settings(str(tmp_path), any_database_url, **overrides), pm=pm)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def tenant(rt: Runtime) -> tuple[int, int]:
    """(tenant_id, account_id) of a tenant with one testnet account."""
    tenant_id = rt.store.ensure_tenant("acme")
    account_id = rt.store.upsert_account(tenant_id, "testnet", "brand", {"secret": "s3cret"}, handle="brand")
    return tenant_id, account_id
