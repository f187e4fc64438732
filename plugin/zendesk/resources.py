"""Builds Channel Framework external_resources from mentions, using mappings/zendesk.yaml."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from mappings import load_mapping
from plugin.mapping import context_of, evaluate
from plugin.models import Labels, Mention
from plugin.store.statuses import DeliveryStatus

NAMESPACE_SEPARATOR = ":"


def namespaced(network: str, external_id: str) -> str:
    return f"{network}{NAMESPACE_SEPARATOR}{external_id}"


def split_namespaced(value: str) -> tuple[str, str]:
    """``"x:123"`` -> ``("x", "123")``; raises ValueError for an id we did not issue."""
    network, sep, external_id = value.partition(NAMESPACE_SEPARATOR)
    if not sep or not network or not external_id:
        raise ValueError(f"not a horseshoe external id: {value!r}")
    return network, external_id


def parent_known(mention: Mention, parent_state: str | None, arriving: Collection[str]) -> bool:
    """The one parent-vs-thread rule, for push and pull alike (Channel framework, "Conversation
    threads"): a resource names its ``parent_id`` only when Zendesk already has the parent (its
    delivery is ``delivered``) or receives it earlier in the same request or pull page (``arriving``
    holds namespaced external ids); otherwise it threads by ``thread_id``, so it is never refused
    for naming a parent Zendesk does not know."""
    if not mention.parent_id:
        return False
    return parent_state == DeliveryStatus.DELIVERED or namespaced(mention.network, mention.parent_id) in arriving


def external_resource(mention: Mention, labels: Labels | None, *, use_parent: bool) -> dict[str, Any]:
    """One external_resource. ``use_parent``: thread by parent_id (Zendesk knows it) or by thread_id."""
    mapping = load_mapping("zendesk")
    context = context_of(mention, labels)
    resource: dict[str, Any] = {k: v for k, v in evaluate(mapping["resource"], context).items() if v is not None}
    threading = evaluate(mapping["threading"], context)
    if use_parent and threading.get("parent_id"):
        resource["parent_id"] = threading["parent_id"]
    elif threading.get("thread_id"):
        resource["thread_id"] = threading["thread_id"]
    resource["author"] = {k: v for k, v in evaluate(mapping["author"], context).items() if v is not None}
    display = []
    for entry in evaluate(mapping.get("display_info", []), context):
        entry["data"] = {k: v for k, v in entry.get("data", {}).items() if v not in (None, [], "")}
        display.append(entry)
    if display:
        resource["display_info"] = display
    fields = [f for f in evaluate(mapping.get("fields", []), context) if f.get("value") not in (None, "", [])]
    if fields:
        resource["fields"] = fields
    files = [a.url for a in mention.attachments][:10]  # Zendesk imports at most 10 file_urls
    if files:
        resource["file_urls"] = files
    return resource


# Zendesk's documented limits for the id fields of an external_resource.
ID_LIMITS = {"external_id": 255, "parent_id": 511, "thread_id": 255}
AUTHOR_ID_LIMIT = 255


def id_problem(resource: dict[str, Any]) -> str | None:
    """Why Zendesk would refuse this resource's ids, or None. Ids are never cut: cut ids can collide."""
    for field, limit in ID_LIMITS.items():
        value = resource.get(field)
        if isinstance(value, str) and len(value) > limit:
            return f"{field} has {len(value)} characters; Zendesk allows {limit}"
    author_id = resource.get("author", {}).get("external_id")
    if isinstance(author_id, str) and len(author_id) > AUTHOR_ID_LIMIT:
        return f"author.external_id has {len(author_id)} characters; Zendesk allows {AUTHOR_ID_LIMIT}"
    return None
