from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from plugin.runtime import Runtime, build_runtime
from plugin.web import create_app
from tests.conftest import fast_settings
from tests.dashboard import dataset
from tests.security.conftest import ZENDESK, Tenant, install


@dataclass
class Loaded:
    rt: Runtime
    client: FlaskClient
    acme: Tenant
    globex: Tenant
    accounts: dict[str, int]


@pytest.fixture
def loaded(tmp_path: object, any_database_url: str) -> Iterator[Loaded]:
    """Two tenants; acme holds the fixed data set (an X and a Mastodon account), globex nothing."""
    rt = build_runtime(fast_settings(str(tmp_path), any_database_url, zendesk_api_base=ZENDESK))
    acme = install(rt, "acme", "1001")
    globex = install(rt, "globex", "2002")
    mastodon = rt.store.upsert_account(acme.id, "mastodon", "brand", {"access_token": "t"}, handle="brand")
    accounts = {"x": acme.account_id, "mastodon": mastodon}
    dataset.load(rt, acme.id, accounts)
    yield Loaded(rt, create_app(rt).test_client(), acme, globex, accounts)
    rt.db.dispose()
