"""The push sink (``plugin.zendesk.push``) end to end against the Zendesk fake: what each kind of answer
becomes (errors, refusals, parents Zendesk does not know), batching by channel instance and by wave,
file links, internal notes and the admin check. Written for the survivors of ``python -m bench mutants
--module zendesk.push`` (issue 12)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import pytest

from plugin.errors import AuthError, RateLimited, RetriableError
from plugin.http.meter import metering
from plugin.models import Attachment, Labels, Mention
from plugin.pipeline import notices
from plugin.plugins import Registry, get_plugin_manager
from plugin.sink import DeliveryItem, DeliveryOutcome, Rating, SinkConnection
from plugin.store.statuses import DeliveryStatus
from plugin.zendesk.push import PARENT_WAIT_SECONDS, ZendeskPushClient, ZendeskSink, api_base
from sandbox.zendesk.models import IntegrationInstance
from tests.sandbox_zendesk.conftest import MANIFEST, SUBDOMAIN, Env
from tests.support.netplugin import make_mention


def _config(zd: Env, instance: IntegrationInstance, **extra: Any) -> dict[str, Any]:
    return {
        "subdomain": SUBDOMAIN,
        "api_base": zd.server.url,
        "instance_push_id": instance.instance_push_id,
        "zendesk_access_token": instance.zendesk_access_token,
        **extra,
    }


def _connection(config: dict[str, Any], fence: Any = None) -> SinkConnection:
    if fence is None:
        return SinkConnection(1, "acme", "zendesk", config)
    return SinkConnection(1, "acme", "zendesk", config, fence=fence)


def _deliver(sink: ZendeskSink, config: dict[str, Any], items: list[DeliveryItem]) -> dict[int, DeliveryOutcome]:
    return {o.delivery_id: o for o in sink.deliver(_connection(config), items)}


def _items(*mentions: Mention, parent_state: str | None = None) -> list[DeliveryItem]:
    return [DeliveryItem(n, m, Labels(), parent_state=parent_state) for n, m in enumerate(mentions, start=1)]


def _comments(zd: Env) -> list[list[str]]:
    """External ids of each ticket's comments, tickets and comments oldest first."""
    return [[c["external_id"] for c in t["comments"]] for t in zd.state.tickets_with_comments(SUBDOMAIN)]


def _attachments(zd: Env) -> dict[str | None, list[str]]:
    """The file URLs Zendesk imported, by the external id of the comment that brought them."""
    with zd.state.lock:
        return {c.external_id: list(c.attachments) for c in zd.state.account(SUBDOMAIN).comments.values()}


def _second_instance(zd: Env) -> IntegrationInstance:
    pending = zd.state.begin_install(SUBDOMAIN, "https://integration.example/manifest.json", MANIFEST)
    return zd.state.finish_install(pending.instance_push_id, "Second brand", '{"account": "second"}', None)


def test_the_api_base_wins_with_or_without_a_trailing_slash_and_defaults_to_the_subdomain(
    zd: Env, instance: IntegrationInstance
) -> None:
    assert api_base({"subdomain": "acme"}) == "https://acme.zendesk.com"
    assert api_base({"subdomain": "acme", "api_base": "https://proxy.example/zd/"}) == "https://proxy.example/zd"
    config = _config(zd, instance, api_base=zd.server.url + "/")
    [outcome] = ZendeskSink().deliver(_connection(config), _items(make_mention("s-1")))
    assert outcome.status == "delivered"
    assert _comments(zd) == [["testnet:s-1"]]


def test_the_client_repr_names_the_base_and_never_the_token(zd: Env, instance: IntegrationInstance) -> None:
    client = ZendeskPushClient(_config(zd, instance))
    assert repr(client) == f"ZendeskPushClient(base={zd.server.url!r})"
    assert instance.zendesk_access_token not in repr(client)


def test_a_delivered_batch_is_metered_once_and_a_second_push_is_already_imported(
    zd: Env, instance: IntegrationInstance
) -> None:
    config = _config(zd, instance)
    items = _items(make_mention("m-1", author="a1"), make_mention("m-2", author="a2"))
    with metering() as meter:
        outcomes = _deliver(ZendeskSink(), config, items)
    # One request for the batch, counted for the rate budget.
    assert (meter.calls, meter.statuses) == (1, [200])
    assert [(o.status, o.remote_id) for o in outcomes.values()] == [
        ("delivered", "testnet:m-1"),
        ("delivered", "testnet:m-2"),
    ]
    again = _deliver(ZendeskSink(), config, items)  # a crash after Zendesk took them: already_imported
    assert [o.status for o in again.values()] == ["delivered", "delivered"]
    assert _comments(zd) == [["testnet:m-1"], ["testnet:m-2"]]


def test_transport_errors_rate_limits_and_server_errors_are_retriable(zd: Env, instance: IntegrationInstance) -> None:
    config = _config(zd, instance)
    items = _items(make_mention("r-1"))
    zd.plan.configure(scripted=["reset"])
    with pytest.raises(RetriableError, match="zendesk unreachable"):
        ZendeskSink().deliver(_connection(config), items)
    zd.plan.configure(scripted=[429], retry_after=3)
    with pytest.raises(RateLimited) as limited:
        ZendeskSink().deliver(_connection(config), items)
    assert limited.value.retry_after == 3
    zd.plan.configure(scripted=[500])
    with pytest.raises(RetriableError, match="zendesk 500") as server:
        ZendeskSink().deliver(_connection(config), items)
    assert not isinstance(server.value, RateLimited)
    assert server.value.retry_after is None
    # An answer without the documented results list is retried, never read as "nothing delivered".
    zd.plan.configure(scripted=[200])
    with pytest.raises(RetriableError, match="not the documented JSON"):
        ZendeskSink().deliver(_connection(config), items)
    assert _comments(zd) == []
    assert [o.status for o in ZendeskSink().deliver(_connection(config), items)] == ["delivered"]


def test_a_refused_token_stops_the_delivery_with_zendesks_reason(zd: Env, instance: IntegrationInstance) -> None:
    wrong = _config(zd, instance, zendesk_access_token="wrong")
    with pytest.raises(AuthError) as refused:
        ZendeskSink().deliver(_connection(wrong), _items(make_mention("t-1"), make_mention("t-2")))
    assert str(refused.value) == "zendesk refused the push token (401): invalid_token"
    # A valid token of another instance may not push into this one: 403, the token again.
    other = _second_instance(zd)
    foreign = _config(zd, instance, zendesk_access_token=other.zendesk_access_token)
    with pytest.raises(AuthError, match=r"\(403\)"):
        ZendeskSink().deliver(_connection(foreign), _items(make_mention("t-3")))
    assert _comments(zd) == []


def test_a_request_level_refusal_of_one_item_fails_it_with_the_reason(zd: Env, instance: IntegrationInstance) -> None:
    zd.plan.configure(scripted=[400])
    [outcome] = ZendeskSink().deliver(_connection(_config(zd, instance)), _items(make_mention("q-1")))
    assert (outcome.delivery_id, outcome.status, outcome.error) == (1, "failed", "zendesk 400: HTTP 400")


def test_a_refused_request_is_bisected_so_only_the_refused_resource_fails(
    zd: Env, instance: IntegrationInstance
) -> None:
    # Zendesk refuses every request that still holds q-4 (422): [1-4] refused, [1,2] taken, [3,4] refused,
    # [3] taken, [4] refused on its own.
    zd.plan.configure(scripted=[422, "pass", 422, "pass", 422])
    items = _items(*(make_mention(f"q-{n}", author=f"a{n}") for n in range(1, 5)))
    outcomes = _deliver(ZendeskSink(), _config(zd, instance), items)
    assert [(o.delivery_id, o.status) for o in sorted(outcomes.values(), key=lambda o: o.delivery_id)] == [
        (1, "delivered"),
        (2, "delivered"),
        (3, "delivered"),
        (4, "failed"),
    ]
    assert outcomes[4].error == "zendesk 422: Record validation errors"


def test_an_id_over_zendesks_limit_fails_before_the_request_and_the_rest_goes(
    zd: Env, instance: IntegrationInstance
) -> None:
    items = _items(make_mention("x" * 300, author="a1"), make_mention("ok-1", author="a2"))
    outcomes = _deliver(ZendeskSink(), _config(zd, instance), items)
    assert outcomes[1].status == "failed"
    assert outcomes[1].error is not None and "external_id" in outcomes[1].error and "255" in outcomes[1].error
    assert "zendesk refused" not in outcomes[1].error  # never sent: refused by our own check
    assert outcomes[2].status == "delivered"
    assert _comments(zd) == [["testnet:ok-1"]]
    # Nothing sendable left: no request at all.
    with metering() as meter:
        [alone] = ZendeskSink().deliver(_connection(_config(zd, instance)), _items(make_mention("y" * 300)))
    assert alone.status == "failed" and meter.calls == 0


def test_a_reply_waits_for_a_pending_parent_outside_the_batch(zd: Env, instance: IntegrationInstance) -> None:
    reply = make_mention("w-2", parent="w-1")
    with metering() as meter:
        [outcome] = ZendeskSink().deliver(
            _connection(_config(zd, instance)), _items(reply, parent_state=DeliveryStatus.PENDING)
        )
    assert (outcome.status, outcome.error) == ("wait_parent", "parent not in Zendesk yet")
    assert outcome.retry_after == PARENT_WAIT_SECONDS
    assert meter.calls == 0 and _comments(zd) == []


def test_a_reply_follows_its_parent_from_the_same_batch_in_a_second_request(
    zd: Env, instance: IntegrationInstance
) -> None:
    parent = make_mention("b-1", author="a1")
    reply = make_mention("b-2", author="a2", parent="b-1", thread="b-1")
    # The reply comes first in the batch; its parent is still pending (in this very batch).
    items = [
        DeliveryItem(1, reply, Labels(), parent_state=DeliveryStatus.PENDING),
        DeliveryItem(2, parent, Labels()),
    ]
    zd.state.take_events(instance.instance_push_id)
    with metering() as meter:
        outcomes = _deliver(ZendeskSink(), _config(zd, instance), items)
    assert [outcomes[n].status for n in (1, 2)] == ["delivered", "delivered"]
    assert meter.calls == 2  # the parent's request, then the reply's
    assert _comments(zd) == [["testnet:b-1", "testnet:b-2"]]
    # The reply named its parent (Zendesk knew it by then), it was not merely threaded.
    [first, second] = zd.state.take_events(instance.instance_push_id)
    assert [e["type_id"] for e in first["data"]["resource_events"]] == ["comment_on_new_ticket"]
    assert [e["type_id"] for e in second["data"]["resource_events"]] == ["comment_on_existing_ticket"]


def test_a_reply_to_a_post_that_is_not_ours_threads_in_one_request(zd: Env, instance: IntegrationInstance) -> None:
    reply = make_mention("n-2", parent="stranger-post", thread="stranger-post")
    with metering() as meter:
        [outcome] = ZendeskSink().deliver(_connection(_config(zd, instance)), _items(reply))
    assert outcome.status == "delivered"
    assert meter.calls == 1  # never named a parent Zendesk does not know


def test_a_parent_zendesk_cannot_locate_is_given_up_for_the_thread(zd: Env, instance: IntegrationInstance) -> None:
    # Delivered by our books, unknown to Zendesk (e.g. an instance reinstalled since): pushed again by thread.
    reply = make_mention("o-2", parent="o-1", thread="o-1")
    with metering() as meter:
        [outcome] = ZendeskSink().deliver(
            _connection(_config(zd, instance)), _items(reply, parent_state=DeliveryStatus.DELIVERED)
        )
    assert (outcome.status, outcome.remote_id) == ("delivered", "testnet:o-2")
    assert meter.calls == 2
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert ticket["thread_id"] == "testnet:o-1"


def test_a_reply_halted_behind_a_refused_resource_is_retried_not_pushed_again(
    zd: Env, instance: IntegrationInstance
) -> None:
    config = _config(zd, instance)
    [parent] = ZendeskSink().deliver(_connection(config), _items(make_mention("h-1", author="a1")))
    assert parent.status == "delivered"
    refused = make_mention("h-2", author="a2").model_copy(
        update={"attachments": [Attachment(url="http://cdn.example/a.png", type="image")]}
    )
    reply = make_mention("h-3", author="a3", parent="h-1", thread="h-1")
    items = [DeliveryItem(1, refused, Labels()), DeliveryItem(2, reply, Labels(), parent_state="delivered")]
    with metering() as meter:
        outcomes = _deliver(ZendeskSink(), config, items)
    assert outcomes[1].status == "failed"
    assert outcomes[2].status == "retry" and (outcomes[2].error or "").startswith("zendesk halted")
    assert meter.calls == 1


def test_file_references_become_host_links_and_plain_urls_stay(zd: Env, instance: IntegrationInstance) -> None:
    seen: list[tuple[int, str, str, str]] = []

    def link(tenant: int, network: str, account: str, url: str) -> str:
        seen.append((tenant, network, account, url))
        return "https://files.example/signed/" + url.removeprefix("horseshoe-file:")

    sink = ZendeskSink()
    sink.file_links = link
    with_file = make_mention("f-1", author="a1").model_copy(
        update={"attachments": [Attachment(url="horseshoe-file:photo-1", type="image")]}
    )
    plain = make_mention("f-2", author="a2").model_copy(
        update={"attachments": [Attachment(url="https://cdn.example/b.png", type="image")]}
    )
    outcomes = _deliver(sink, _config(zd, instance), _items(with_file, plain))
    assert [o.status for o in outcomes.values()] == ["delivered", "delivered"]
    assert seen == [(1, "testnet", "brand", "horseshoe-file:photo-1")]  # the plain URL never asked for
    assert _attachments(zd) == {
        "testnet:f-1": ["https://files.example/signed/photo-1"],
        "testnet:f-2": ["https://cdn.example/b.png"],
    }


def test_without_file_links_a_file_reference_is_left_out(zd: Env, instance: IntegrationInstance) -> None:
    with_file = make_mention("g-1").model_copy(
        update={"attachments": [Attachment(url="horseshoe-file:photo-1", type="image")]}
    )
    [outcome] = ZendeskSink().deliver(_connection(_config(zd, instance)), _items(with_file))
    assert outcome.status == "delivered"
    assert _attachments(zd) == {"testnet:g-1": []}


def _two_instances(zd: Env, first: IntegrationInstance, second: IntegrationInstance) -> dict[str, Any]:
    return {
        "subdomain": SUBDOMAIN,
        "api_base": zd.server.url,
        "instances": {
            first.instance_push_id: {"token": first.zendesk_access_token, "accounts": [["testnet", "brand"]]},
            second.instance_push_id: {"token": second.zendesk_access_token, "accounts": [["testnet", "second"]]},
        },
    }


def test_each_account_goes_to_its_own_instance_and_an_unselected_one_waits(
    zd: Env, instance: IntegrationInstance
) -> None:
    second = _second_instance(zd)
    config = _two_instances(zd, instance, second)
    brand = make_mention("i-1", author="a1")
    other = make_mention("i-2", author="a2", account="second")
    nobody = make_mention("i-3", author="a3", account="unselected")
    items = _items(brand, other, nobody)
    sink = ZendeskSink()
    assert sink.calls_for(_connection(config), items) == 2
    assert sink.calls_for(_connection(config), items[:1]) == 1
    assert sink.calls_for(_connection(config), items[2:]) == 1  # no instance: still counted as one call
    outcomes = _deliver(sink, config, items)
    assert [outcomes[n].status for n in (1, 2)] == ["delivered", "delivered"]
    assert outcomes[3] == DeliveryOutcome(
        3, "retry", error="no Zendesk channel instance selects this account", retry_after=600
    )
    by_instance = {
        t["comments"][0]["external_id"]: t["integration_instance_id"] for t in zd.state.tickets_with_comments(SUBDOMAIN)
    }
    assert by_instance == {"testnet:i-1": instance.id, "testnet:i-2": second.id}


def _deleted_note(original: Mention) -> Mention:
    return notices.deletion_notice(original, datetime(2026, 11, 2, 9, 30, tzinfo=UTC))


def test_notes_become_internal_notes_on_the_conversations_ticket(zd: Env, instance: IntegrationInstance) -> None:
    config = _config(zd, instance, oauth_token=zd.oauth_token)
    original = make_mention("d-1", author="a1")
    [first] = ZendeskSink().deliver(_connection(config), _items(original))
    assert first.status == "delivered"
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    asked: list[tuple[int, str, str, str]] = []

    def ticket_of(tenant: int, network: str, thread: str, about: str) -> str | None:
        asked.append((tenant, network, thread, about))
        return str(ticket["id"]) if about == "d-1" else None

    sink = ZendeskSink()
    sink.ticket_of = ticket_of
    note = _deleted_note(original)
    lost = _deleted_note(make_mention("d-9"))  # another worker took this one over
    fresh = make_mention("d-2", author="a2")
    items = [DeliveryItem(1, note, Labels()), DeliveryItem(2, fresh, Labels()), DeliveryItem(3, lost, Labels())]

    def fence(ids: Collection[int]) -> set[int]:
        return set(ids) - {3}

    outcomes = {o.delivery_id: o for o in sink.deliver(_connection(config, fence), items)}
    assert outcomes[1] == DeliveryOutcome(1, "delivered", remote_id=f"ticket:{ticket['id']}:note")
    assert outcomes[2].status == "delivered"
    assert outcomes[3] == DeliveryOutcome(3, "retry", error="lease lost")
    assert [a[3] for a in asked] == ["d-1"]  # the lost one was never written
    tickets = zd.state.tickets_with_comments(SUBDOMAIN)
    assert [[(c["external_id"], c["public"]) for c in t["comments"]] for t in tickets] == [
        [("testnet:d-1", True), (None, False)],
        [("testnet:d-2", True)],
    ]


def test_without_a_ticket_lookup_a_note_is_pushed_like_a_message(zd: Env, instance: IntegrationInstance) -> None:
    config = _config(zd, instance, oauth_token=zd.oauth_token)
    original = make_mention("e-1", author="a1")
    note = _deleted_note(original)
    outcomes = _deliver(ZendeskSink(), config, _items(original, note))
    assert [o.status for o in outcomes.values()] == ["delivered", "delivered"]
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert [c["public"] for c in ticket["comments"]] == [True, True]


def test_the_check_names_each_instance_whose_token_fails(zd: Env, instance: IntegrationInstance) -> None:
    sink = ZendeskSink()
    assert sink.check(_connection(_config(zd, instance))) == []
    refused = sink.check(_connection(_config(zd, instance, zendesk_access_token="wrong")))
    assert refused == [
        f"zendesk: instance {instance.instance_push_id}: zendesk refused the push token (401): invalid_token"
    ]
    zd.plan.configure(scripted=[404])
    assert sink.check(_connection(_config(zd, instance))) == [
        f"zendesk: push token of instance {instance.instance_push_id} is not valid"
    ]
    assert sink.check(_connection({"subdomain": SUBDOMAIN, "api_base": zd.server.url})) == [
        "zendesk: no channel instance installed"
    ]


def test_the_plugin_registers_the_sink_by_its_name(zd: Env) -> None:
    registry = Registry(get_plugin_manager(load_entry_points=False))
    assert isinstance(registry.sink("zendesk"), ZendeskSink)
    [entry] = [e for e in registry.entries if e.kind == "sink" and e.name == "zendesk"]
    assert entry.display_name == "Zendesk (Channel Framework)"


def test_answers_off_zendesks_contract_are_retried_never_taken_as_delivered(
    zd: Env, instance: IntegrationInstance
) -> None:
    config = _config(zd, instance)
    item = _items(make_mention("k-1"))
    zd.plan.configure(scripted=[{"json": {"results": {"testnet:k-1": "success"}}}])
    with pytest.raises(RetriableError, match="no results list"):
        ZendeskSink().deliver(_connection(config), item)
    # A results list that leaves a resource out: that resource is tried again.
    zd.plan.configure(scripted=[{"json": {"results": []}}])
    assert ZendeskSink().deliver(_connection(config), item) == [
        DeliveryOutcome(1, "retry", error="no result for resource")
    ]
    # "Parent not found" for a resource that named no parent: nothing to re-thread, wait and try again.
    unknown_parent = {"code": "could_not_locate_parent_external_resource", "description": "?"}
    zd.plan.configure(
        scripted=[{"json": {"results": [{"external_resource_id": "testnet:k-1", "status": unknown_parent}]}}]
    )
    assert ZendeskSink().deliver(_connection(config), item) == [
        DeliveryOutcome(1, "wait_parent", error="zendesk could not locate the parent", retry_after=PARENT_WAIT_SECONDS)
    ]
    assert _comments(zd) == []


def test_a_refusal_that_is_not_zendesks_json_is_reported_cut_short(zd: Env, instance: IntegrationInstance) -> None:
    config = _config(zd, instance)
    item = _items(make_mention("j-1"))
    page = "<html><body>" + "proxy says no " * 40 + "</body></html>"  # e.g. a proxy's error page
    long_description = "d" * 400
    zd.plan.configure(
        scripted=[
            {"status": 404, "text": page, "content_type": "text/html"},
            {"status": 404, "json": {"description": long_description}},
            {"status": 404, "json": ["not", "an", "object", "x" * 400]},
        ]
    )
    [html] = ZendeskSink().deliver(_connection(config), item)
    assert (html.status, html.error) == ("failed", "zendesk 404: " + page[:200])
    [described] = ZendeskSink().deliver(_connection(config), item)
    assert described.error == "zendesk 404: " + "d" * 300
    [listed] = ZendeskSink().deliver(_connection(config), item)
    assert listed.error == "zendesk 404: " + str(["not", "an", "object", "x" * 400])[:300]


def test_a_rating_lands_on_the_ticket_and_its_solve_is_read_back(zd: Env, instance: IntegrationInstance) -> None:
    config = _config(zd, instance, oauth_token=zd.oauth_token)
    sink = ZendeskSink()
    [delivered] = sink.deliver(_connection(config), _items(make_mention("v-1")))
    assert delivered.status == "delivered"
    [ticket] = zd.state.tickets_with_comments(SUBDOMAIN)
    zd.state.set_ticket_status(SUBDOMAIN, ticket["id"], "solved")
    batch = sink.fetch_resolutions(_connection(config), None, [str(ticket["id"])])
    assert batch is not None
    assert [r.ticket for r in batch.solved] == [str(ticket["id"])]
    done = sink.record_rating(_connection(config), Rating(str(ticket["id"]), 1, "testnet", "1/5, please follow up"))
    assert done == f"ticket #{ticket['id']} tagged csat_1 with an internal note, reopened"
    [rated] = zd.state.tickets_with_comments(SUBDOMAIN)
    assert "csat_1" in rated["tags"] and rated["status"] == "open"
