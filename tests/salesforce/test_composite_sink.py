"""Round trips per inbound batch (issue 11: Salesforce's chain of dependent calls set the latency
floor): a batch of new customers is one Composite call of look-ups and one of writes, counted by the
fake; a write call cut off mid-way, or rolled back, never leaves a record twice."""

from __future__ import annotations

import pytest

from plugin.errors import RetriableError
from plugin.http.meter import metering
from plugin.salesforce.sink import SalesforceSink
from sandbox.salesforce import DuplicateRule
from tests.support.netplugin import make_mention

from .conftest import SfEnv, connection, item

CUSTOMERS = 40
LOGIN = "POST /services/Soap/u/<version>"


def _api_calls(sfenv: SfEnv) -> int:
    return sum(n for key, n in sfenv.state.calls.items() if key != LOGIN)


def _assert_one_of_each(sfenv: SfEnv, count: int) -> None:
    posts, personas = sfenv.records("SocialPost"), sfenv.records("SocialPersona")
    contacts, cases = sfenv.records("Contact"), sfenv.records("Case")
    assert (len(posts), len(personas), len(contacts), len(cases)) == (count,) * 4
    persona_of = {p["Id"]: p for p in personas}
    case_of = {c["Id"]: c for c in cases}
    for post in posts:  # every post on its author's persona, Contact and own Case
        persona = persona_of[post["PersonaId"]]
        assert post["WhoId"] == persona["ParentId"] == case_of[post["ParentId"]]["ContactId"]


def test_a_batch_of_new_customers_costs_two_calls(sink: SalesforceSink, sfenv: SfEnv) -> None:
    conn = connection(sfenv)
    sink.deliver(conn, [item(make_mention("warm", author="someone"))])  # logs in
    before, used = _api_calls(sfenv), sfenv.org.api_used
    items = [item(make_mention(f"m{i}", author=f"u{i}")) for i in range(CUSTOMERS)]
    with metering() as meter:  # what the host's rate budget is settled with
        outcomes = sink.deliver(conn, items)
    assert {o.status for o in outcomes} == {"delivered"}
    assert _api_calls(sfenv) - before == 2  # the look-ups, then every record in one write
    assert meter.calls == sfenv.org.api_used - used == sink.calls_for(conn, items) == 2
    assert sfenv.state.calls["POST /services/data/v<version>/composite"] >= 2
    _assert_one_of_each(sfenv, CUSTOMERS + 1)
    by_id = {p["Id"]: p for p in sfenv.records("SocialPost")}
    assert sorted(by_id[o.remote_id]["R6PostId"] for o in outcomes) == sorted(f"testnet:m{i}" for i in range(CUSTOMERS))
    # The same customers again with new posts: their personas and open Cases are found (two more
    # look-ups, dependent on the first), nothing new but the posts.
    before = _api_calls(sfenv)
    again = sink.deliver(conn, [item(make_mention(f"n{i}", author=f"u{i}")) for i in range(CUSTOMERS)])
    assert {o.status for o in again} == {"delivered"}
    assert _api_calls(sfenv) - before <= 4
    assert len(sfenv.records("Case")) == CUSTOMERS + 1 and len(sfenv.records("Contact")) == CUSTOMERS + 1


def test_a_write_call_cut_off_mid_way_creates_nothing_twice(sink: SalesforceSink, sfenv: SfEnv) -> None:
    conn = connection(sfenv)
    items = [item(make_mention(f"m{i}", author=f"u{i}")) for i in range(5)]
    # Salesforce runs the write call to its end, then the connection dies before the answer arrives.
    sfenv.plan.configure(scripted=["pass", "drop_after"], paths=("/services/data/",), methods=("POST",))
    with pytest.raises(RetriableError):
        sink.deliver(conn, items)
    _assert_one_of_each(sfenv, 5)  # all written, together
    sfenv.plan.configure(scripted=[], paths=(), methods=())
    retried = sink.deliver(conn, items)  # the worker retries the batch
    assert {o.status for o in retried} == {"delivered"}
    _assert_one_of_each(sfenv, 5)
    assert {o.remote_id for o in retried} == {p["Id"] for p in sfenv.records("SocialPost")}


def test_a_rolled_back_write_call_leaves_no_orphan_and_fails_only_its_delivery(
    sink: SalesforceSink, sfenv: SfEnv
) -> None:
    sfenv.admin().Contact.create({"FirstName": "Someone", "LastName": "u1"})
    sfenv.state.add_duplicate_rule(
        DuplicateRule("Contact", ["LastName"], "Same last name", action="block"), org_id=sfenv.org.id
    )
    conn = connection(sfenv)
    items = [item(make_mention(f"m{i}", author=f"u{i}")) for i in range(3)]
    writes_before = sfenv.state.calls["POST /services/data/v<version>/composite/sobjects"]
    outcomes = {o.delivery_id: o for o in sink.deliver(conn, items)}
    status = {i.mention.external_id: outcomes[i.delivery_id].status for i in items}
    assert status == {"m0": "delivered", "m1": "failed", "m2": "delivered"}
    assert "DUPLICATES_DETECTED" in (outcomes[items[1].delivery_id].error or "")
    # The Composite call was rolled back whole, then written record by record: u0 and u2 got one
    # Contact each (the rolled-back attempt left none behind), u1 none.
    assert sorted(c["LastName"] for c in sfenv.records("Contact")) == ["u0", "u1", "u2"]
    assert len(sfenv.records("SocialPersona")) == len(sfenv.records("Case")) == len(sfenv.records("SocialPost")) == 2
    assert sfenv.state.calls["POST /services/data/v<version>/composite/sobjects"] - writes_before == 4
