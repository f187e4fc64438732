"""An empty Zendesk pull page keeps the cursor: a reset would send every undelivered item again
(found as a surviving mutant)."""

from __future__ import annotations

from flask.testing import FlaskClient

from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.web import create_app
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata, read_state
from tests.support.netplugin import make_mention


def _pull(client: FlaskClient, metadata: str, state: str) -> tuple[list[str], str]:
    answer = client.post("/zendesk/pull", data={"metadata": metadata, "state": state}).get_json()
    return [r["external_id"] for r in answer["external_resources"]], answer["state"]


def test_an_empty_pull_page_keeps_the_cursor(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(tenant_id, "zendesk", {"subdomain": "acme"})
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention("1"), make_mention("2")])
    pipeline.route(rt, "w")
    client = create_app(rt).test_client()
    metadata = issue_metadata(rt.box, InstanceMetadata(tenant="acme", account_ids=(account_id,), name="n"))
    first, state = _pull(client, metadata, "")
    assert first == ["testnet:1", "testnet:2"]
    empty, after_empty = _pull(client, metadata, state)
    assert empty == []
    assert read_state(rt.box, after_empty, "acme") == read_state(rt.box, state, "acme") > 0
    pipeline.ingest(rt, account, [make_mention("3")])
    pipeline.route(rt, "w")
    assert _pull(client, metadata, after_empty)[0] == ["testnet:3"]
