"""Zendesk sink: delivers mentions through the Channel Framework push endpoint.

Batches up to ``max_batch`` resources per ``POST /api/v2/any_channel/push.json`` and maps every
per-resource result code (Zendesk docs, "Push Channel framework content to Zendesk Support"):
success / already_imported -> delivered; could_not_locate_parent_external_resource -> pushed again
threaded by thread_id; processing_error -> failed at once with Zendesk's description (the resource
itself is refused: sending it again cannot succeed, so twelve retries would only hide the reason from
the admin); halted (not processed because an earlier resource failed) and codes Zendesk may add later
-> retried. A request-level 4xx is bisected so one bad resource cannot block the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import Any

import requests

from plugin.connector import FILE_REFERENCE
from plugin.errors import AuthError, FatalError, RateLimited, RetriableError
from plugin.http import record, retry_after_seconds
from plugin.models import Attachment
from plugin.pipeline import notices
from plugin.sink import DeliveryItem, DeliveryOutcome, Rating, ResolutionBatch, Sink, SinkConnection
from plugin.store.statuses import DeliveryStatus
from plugin.zendesk import notes as zendesk_notes
from plugin.zendesk import ratings
from plugin.zendesk.instances import Instance, instance_for, instances
from plugin.zendesk.resolutions import read_solved
from plugin.zendesk.resources import external_resource, id_problem, namespaced, parent_known

log = logging.getLogger(__name__)
PUSH_PATH = "/api/v2/any_channel/push.json"
VALIDATE_PATH = "/api/v2/any_channel/validate_token.json"
PARENT_WAIT_SECONDS = 5.0


def api_base(config: dict[str, Any] | Any) -> str:
    base = config.get("api_base")
    if base:
        return str(base).rstrip("/")
    return f"https://{config['subdomain']}.zendesk.com"


class ZendeskPushClient:
    def __init__(self, config: Any, session: requests.Session | None = None, timeout: float = 30.0):
        self.base = api_base(config)
        self.instance_push_id = str(config["instance_push_id"])
        self._token = str(config["zendesk_access_token"])
        self.session = session or requests.Session()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ZendeskPushClient(base={self.base!r})"

    def _post(self, path: str, body: dict[str, Any]) -> requests.Response:
        try:
            response = self.session.post(
                self.base + path,
                json=body,
                headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            # Pushing twice is harmless (already_imported), so every transport error is retriable.
            raise RetriableError(f"zendesk unreachable: {exc.__class__.__name__}") from exc
        record(response)  # X-Rate-Limit-Remaining settles the shared rate budget (plugin.ratebudget)
        if response.status_code == 429:
            raise RateLimited("zendesk rate limit", retry_after=retry_after_seconds(response))
        if response.status_code >= 500:
            raise RetriableError(
                f"zendesk {response.status_code}", retry_after=retry_after_seconds(response, default=None)
            )
        if response.status_code in (401, 403):
            raise AuthError(f"zendesk refused the push token ({response.status_code}): {_reason(response)}")
        return response

    def validate_token(self) -> bool:
        response = self._post(VALIDATE_PATH, {"instance_push_id": self.instance_push_id})
        return response.status_code == 200

    def push(self, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self._post(PUSH_PATH, {"instance_push_id": self.instance_push_id, "external_resources": resources})
        if response.status_code >= 400:
            raise FatalError(f"zendesk {response.status_code}: {_reason(response)}", code=str(response.status_code))
        try:
            results = response.json()["results"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RetriableError("zendesk push answer was not the documented JSON") from exc
        if not isinstance(results, list):
            raise RetriableError("zendesk push answer has no results list")
        return results


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("description") or body.get("error") or body)[:300]
    return str(body)[:300]


class ZendeskSink(Sink):
    name = "zendesk"
    display_name = "Zendesk (Channel Framework)"
    max_batch = 100

    # (tenant id, network, account, attachment URL) -> a URL Zendesk can import: a connector's
    # ``horseshoe-file:`` reference becomes a signed host link (set at start-up by the plugin).
    file_links: Callable[[int, str, str, str], str] | None = None
    # Which ticket holds a conversation (set at start-up): horseshoe's notes go there as internal notes.
    ticket_of: zendesk_notes.TicketOf | None = None

    def _with_file_links(self, tenant_id: int, item: DeliveryItem) -> DeliveryItem:
        mention = item.mention
        if self.file_links is None or not any(a.url.startswith(FILE_REFERENCE) for a in mention.attachments):
            return item
        link = self.file_links
        files = [
            Attachment(url=link(tenant_id, mention.network, mention.account, a.url), type=a.type)
            for a in mention.attachments
        ]
        return replace(item, mention=mention.model_copy(update={"attachments": files}))

    def calls_for(self, connection: SinkConnection, items: list[DeliveryItem]) -> int:
        """One push per channel instance the batch reaches (a second one when replies follow their
        parents in the same batch, settled afterwards by the rate budget)."""
        found = {instance_for(connection.config, (i.mention.network, i.mention.account)) for i in items}
        return max(1, len({instance.push_id for instance in found if instance is not None}))

    def call_key(self, connection: SinkConnection, item: DeliveryItem) -> Hashable:
        """Its channel instance: each instance's mentions go in pushes of their own (``deliver``)."""
        instance = instance_for(connection.config, (item.mention.network, item.mention.account))
        return None if instance is None else instance.push_id

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        items = [self._with_file_links(connection.tenant_id, item) for item in items]
        outcomes: dict[int, DeliveryOutcome] = {}
        items = self._internal_notes(connection, items, outcomes)
        by_instance: dict[str, tuple[Instance, list[DeliveryItem]]] = {}
        for item in items:
            instance = instance_for(connection.config, (item.mention.network, item.mention.account))
            if instance is None:
                # No Zendesk channel selects this account (yet): keep it, look again later.
                outcomes[item.delivery_id] = DeliveryOutcome(
                    item.delivery_id, "retry", error="no Zendesk channel instance selects this account", retry_after=600
                )
                continue
            by_instance.setdefault(instance.push_id, (instance, []))[1].append(item)
        for instance, group in by_instance.values():
            client = ZendeskPushClient(instance.client_config(connection.config))
            self._deliver_to(client, group, outcomes)
        return list(outcomes.values())

    def _internal_notes(
        self, connection: SinkConnection, items: list[DeliveryItem], outcomes: dict[int, DeliveryOutcome]
    ) -> list[DeliveryItem]:
        """horseshoe's notes become internal notes where the tenant has REST credentials
        (plugin/zendesk/notes.py); returns what is left to push."""
        notes = [i for i in items if notices.is_notice(i.mention)]
        if not notes or self.ticket_of is None:
            return items
        held = connection.fence([i.delivery_id for i in notes])  # another worker may have taken some over
        for item in notes:
            if item.delivery_id not in held:
                outcomes[item.delivery_id] = DeliveryOutcome(item.delivery_id, "retry", error="lease lost")
        written, to_push = zendesk_notes.write(
            connection.config, connection.tenant_id, [i for i in notes if i.delivery_id in held], self.ticket_of
        )
        outcomes.update({o.delivery_id: o for o in written})
        return [i for i in items if not notices.is_notice(i.mention)] + to_push

    def _deliver_to(
        self, client: ZendeskPushClient, items: list[DeliveryItem], outcomes: dict[int, DeliveryOutcome]
    ) -> None:
        in_batch = {namespaced(i.mention.network, i.mention.external_id) for i in items}
        waves: list[list[DeliveryItem]] = [[], []]
        for item in items:
            parent = namespaced(item.mention.network, item.mention.parent_id) if item.mention.parent_id else None
            if item.parent_state == DeliveryStatus.PENDING and parent not in in_batch:
                outcomes[item.delivery_id] = DeliveryOutcome(
                    item.delivery_id, "wait_parent", error="parent not in Zendesk yet", retry_after=PARENT_WAIT_SECONDS
                )
            else:
                # Children of an item in this batch go in the second request, after their parent.
                waves[1 if parent in in_batch else 0].append(item)
        for wave in waves:
            if wave:
                self._push(client, wave, outcomes, retry_unthreaded=True, arriving=in_batch)

    def _push(
        self,
        client: ZendeskPushClient,
        items: list[DeliveryItem],
        outcomes: dict[int, DeliveryOutcome],
        *,
        retry_unthreaded: bool,
        arriving: frozenset[str] | set[str] = frozenset(),
        use_parent: bool = True,
    ) -> None:
        resources = []
        sendable = []
        for item in items:
            # A parent still pending went in an earlier wave of this batch or is waited for (see above).
            threaded = parent_known(item.mention, item.parent_state, arriving)
            resource = external_resource(item.mention, item.labels, use_parent=use_parent and threaded)
            problem = id_problem(resource)
            if problem is not None:
                outcomes[item.delivery_id] = DeliveryOutcome(item.delivery_id, "failed", error=problem)
                continue
            resources.append(resource)
            sendable.append(item)
        if not sendable:
            return
        items = sendable
        try:
            results = client.push(resources)
        except AuthError:
            raise  # the token, not a resource, is refused: the worker keeps every item for later
        except FatalError as exc:
            if len(items) == 1:
                outcomes[items[0].delivery_id] = DeliveryOutcome(items[0].delivery_id, "failed", error=str(exc))
                return
            middle = len(items) // 2  # bisect: isolate the resource Zendesk refuses
            for half in (items[:middle], items[middle:]):
                self._push(
                    client, half, outcomes, retry_unthreaded=retry_unthreaded, arriving=arriving, use_parent=use_parent
                )
            return
        by_id = {str(r.get("external_resource_id")): r.get("status") or {} for r in results if isinstance(r, dict)}
        orphans: list[DeliveryItem] = []
        for item, resource in zip(items, resources, strict=True):
            status = by_id.get(resource["external_id"])
            code = status.get("code") if isinstance(status, dict) else None
            description = status.get("description") if isinstance(status, dict) else None
            if code in ("success", "already_imported"):
                outcomes[item.delivery_id] = DeliveryOutcome(
                    item.delivery_id, "delivered", remote_id=resource["external_id"]
                )
            elif code == "could_not_locate_parent_external_resource" and retry_unthreaded and "parent_id" in resource:
                orphans.append(item)
            elif code == "could_not_locate_parent_external_resource":
                outcomes[item.delivery_id] = DeliveryOutcome(
                    item.delivery_id,
                    "wait_parent",
                    error="zendesk could not locate the parent",
                    retry_after=PARENT_WAIT_SECONDS,
                )
            elif code is None:
                outcomes[item.delivery_id] = DeliveryOutcome(item.delivery_id, "retry", error="no result for resource")
            elif code == "processing_error":
                outcomes[item.delivery_id] = DeliveryOutcome(
                    item.delivery_id, "failed", error=f"zendesk refused the resource: {description or code}"
                )
            else:
                # halted and codes Zendesk may add later: retried, capped by the worker.
                outcomes[item.delivery_id] = DeliveryOutcome(
                    item.delivery_id, "retry", error=f"zendesk {code}: {description or ''}".strip()
                )
        if orphans:
            # The parent is unknown to Zendesk (e.g. a post we never saw): keep the conversation
            # together by thread instead of waiting for a parent that will never come.
            self._push(client, orphans, outcomes, retry_unthreaded=False, use_parent=False)

    def record_rating(self, connection: SinkConnection, rating: Rating) -> str | None:
        return ratings.record(connection.config, rating)

    def fetch_resolutions(
        self, connection: SinkConnection, cursor: str | None, open_tickets: list[str]
    ) -> ResolutionBatch | None:
        """Solved/closed tickets from the incremental ticket event export (needs REST credentials)."""
        return read_solved(connection.config, cursor)

    def check(self, connection: SinkConnection) -> list[str]:
        problems = []
        for instance in instances(connection.config):
            try:
                if not ZendeskPushClient(instance.client_config(connection.config)).validate_token():
                    problems.append(f"zendesk: push token of instance {instance.push_id} is not valid")
            except (RetriableError, AuthError) as exc:
                problems.append(f"zendesk: instance {instance.push_id}: {exc}")
        return problems or ([] if instances(connection.config) else ["zendesk: no channel instance installed"])
