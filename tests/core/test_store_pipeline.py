"""The inbox: stored once, committed first, edits and deletes marked; routing creates deliveries."""

from __future__ import annotations

from sqlalchemy import select

from plugin.pipeline import inbound as pipeline
from plugin.runtime import Runtime
from plugin.store import tables as t
from tests.support.netplugin import make_mention


def test_duplicate_mentions_are_a_no_op(rt: Runtime, tenant: tuple[int, int]) -> None:
    _tenant_id, account_id = tenant
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    page = [make_mention("1"), make_mention("2")]
    first = pipeline.ingest(rt, account, page)
    second = pipeline.ingest(rt, account, page)
    assert len(first.new) == 2 and first.duplicates == 0
    assert second.new == [] and second.duplicates == 2
    assert rt.store.counts()["mentions"] == 2


def test_same_external_id_in_two_tenants_is_two_mentions(rt: Runtime, tenant: tuple[int, int]) -> None:
    _, account_id = tenant
    other = rt.store.ensure_tenant("globex")
    other_account = rt.store.upsert_account(other, "testnet", "brand", {"secret": "x"})
    for acc in (account_id, other_account):
        pipeline.ingest(rt, rt.store.account(acc)[0], [make_mention("1")])  # type: ignore[index]
    assert rt.store.counts()["mentions"] == 2


def test_edit_and_delete_are_marked_not_lost(rt: Runtime, tenant: tuple[int, int]) -> None:
    _, account_id = tenant
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention("1", text="first")])
    edited = make_mention("1", text="second").model_copy(update={"event": "edited"})
    deleted = make_mention("1").model_copy(update={"event": "deleted"})
    result = pipeline.ingest(rt, account, [edited, deleted])
    assert result.events == 2
    with rt.db.begin() as conn:
        row = conn.execute(select(t.mentions)).one()
    assert row.payload["text"] == "second"
    assert row.payload["extra"]["history"][0]["text"] == "first"
    assert row.deleted is True and row.edits == 1


def test_route_creates_one_delivery_per_connected_sink(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    rt.store.set_sink_connection(
        tenant_id, "zendesk", {"subdomain": "acme", "instance_push_id": "p", "zendesk_access_token": "t"}
    )
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention("1"), make_mention("own", author="brand")])
    assert pipeline.route(rt, "w1") == 2
    assert pipeline.route(rt, "w1") == 0  # resumable: nothing left in 'received'
    with rt.db.begin() as conn:
        statuses = dict(conn.execute(select(t.mentions.c.external_id, t.mentions.c.status)).all())
        deliveries = conn.execute(select(t.deliveries)).all()
    assert statuses == {"1": "routed", "own": "skipped"}  # our own post is not a ticket
    assert [(d.sink, d.status) for d in deliveries] == [("zendesk", "pending")]


def test_credentials_are_encrypted_at_rest(rt: Runtime, tenant: tuple[int, int]) -> None:
    with rt.db.begin() as conn:
        stored = conn.execute(select(t.accounts.c.credentials_enc)).scalar_one()
    assert "s3cret" not in stored
    assert rt.store.account(tenant[1])[1].credentials["secret"] == "s3cret"  # type: ignore[index]
    assert "s3cret" not in repr(rt.store.account(tenant[1]))


def test_signed_tokens_round_trip_and_reject_tampering(rt: Runtime) -> None:
    import pytest

    from plugin.errors import Unauthorized

    for payload in ({"a": 1}, {"t": "acme", "a": [1, 2, 3], "n": "x" * 7}, {}):
        token = rt.box.sign(payload)
        verified = rt.box.verify(token)
        # Every token also names its signing key and issue time (issue 10: keys rotate).
        assert {k: v for k, v in verified.items() if k not in ("kid", "iat")} == payload
        assert verified["kid"] and isinstance(verified["iat"], int)
        body, mac = token.split(".")
        with pytest.raises(Unauthorized):
            rt.box.verify(body + "x." + mac)
        with pytest.raises(Unauthorized):
            rt.box.verify(body + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"))


def test_zendesk_instance_edits_keep_other_connection_settings() -> None:
    from plugin.zendesk.instances import instances, with_instance, with_selection

    config = {"subdomain": "acme", "instance_push_id": "p1", "zendesk_access_token": "t1", "api_token": "rest"}
    config = with_instance(config, "acme", "p2", "t2", None)
    config = with_selection(config, "p2", [("x", "1")])
    assert config["api_token"] == "rest"
    assert "instance_push_id" not in config and "zendesk_access_token" not in config
    by_id = {i.push_id: i for i in instances(config)}
    assert set(by_id) == {"p1", "p2"} and by_id["p2"].accounts == frozenset({("x", "1")})


def test_a_crm_connected_later_receives_what_was_routed_before(rt: Runtime, tenant: tuple[int, int]) -> None:
    tenant_id, account_id = tenant
    account = rt.store.account(account_id)[0]  # type: ignore[index]
    pipeline.ingest(rt, account, [make_mention("early"), make_mention("own", author="brand")])
    pipeline.route(rt, "w1")  # no CRM connected yet: routed with no delivery
    config = {"subdomain": "acme", "instance_push_id": "p", "zendesk_access_token": "t"}
    rt.store.set_sink_connection(tenant_id, "zendesk", config)
    rt.store.set_sink_connection(tenant_id, "zendesk", config)  # again: still one delivery each
    with rt.db.begin() as conn:
        rows = conn.execute(
            select(t.mentions.c.external_id, t.deliveries.c.status).join(
                t.deliveries, t.deliveries.c.mention_id == t.mentions.c.id
            )
        ).all()
    assert [(r.external_id, r.status) for r in rows] == [("early", "pending")]  # our own post stays skipped
