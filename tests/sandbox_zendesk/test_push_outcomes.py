"""What the push sink makes of Zendesk's per-resource result codes, against the Zendesk fake."""

from __future__ import annotations

from plugin.models import Attachment, Labels
from plugin.sink import DeliveryItem, SinkConnection
from plugin.zendesk.push import ZendeskSink
from sandbox.zendesk.models import IntegrationInstance
from tests.sandbox_zendesk.conftest import SUBDOMAIN, Env
from tests.support.netplugin import make_mention


def _connection(zd: Env, instance: IntegrationInstance) -> SinkConnection:
    config = {
        "subdomain": SUBDOMAIN,
        "api_base": zd.server.url,
        "instance_push_id": instance.instance_push_id,
        "zendesk_access_token": instance.zendesk_access_token,
    }
    return SinkConnection(1, "acme", "zendesk", config)


def test_processing_error_fails_at_once_with_zendesk_reason(zd: Env, instance: IntegrationInstance) -> None:
    good = make_mention("p-1", author="a1")
    # Zendesk imports only https file URLs: the resource itself is refused, not the request.
    refused = make_mention("p-2", author="a2").model_copy(
        update={"attachments": [Attachment(url="http://cdn.example/a.png", type="image")]}
    )
    after = make_mention("p-3", author="a3")
    items = [DeliveryItem(n, m, Labels()) for n, m in enumerate((good, refused, after), start=1)]
    outcomes = {o.delivery_id: o for o in ZendeskSink().deliver(_connection(zd, instance), items)}
    assert outcomes[1].status == "delivered"
    # Failed on the first answer, with Zendesk's own description: no retry can change it.
    assert outcomes[2].status == "failed"
    assert outcomes[2].error is not None and "https" in outcomes[2].error and "file_urls" in outcomes[2].error
    # Halted only because of its neighbour: it is retried, and goes through on its own.
    assert outcomes[3].status == "retry" and "halted" in (outcomes[3].error or "")
    [again] = ZendeskSink().deliver(_connection(zd, instance), [items[2]])
    assert again.status == "delivered"
