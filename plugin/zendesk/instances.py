"""A Zendesk account (tenant) may run several Channel Framework instances, e.g. one per brand.

The sink connection's config holds them all::

    {"subdomain": "acme", "api_base": "...optional...",
     "instances": {"<instance_push_id>": {"token": "...", "accounts": [["x", "123"], ...]}}}

Each social account feeds exactly one instance: the last one whose admin UI selected it. The older
single-instance shape (``instance_push_id`` / ``zendesk_access_token`` at the top) reads as one
instance that takes every account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

AccountKey = tuple[str, str]  # (network, brand account external id)


@dataclass(frozen=True)
class Instance:
    push_id: str
    token: str = field(repr=False)
    accounts: frozenset[AccountKey] | None  # None = every account (legacy single instance)

    def client_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        base = {"subdomain": config["subdomain"], "instance_push_id": self.push_id, "zendesk_access_token": self.token}
        if config.get("api_base"):
            base["api_base"] = config["api_base"]
        return base


def instances(config: Mapping[str, Any]) -> list[Instance]:
    if "instances" in config:
        return [
            Instance(push_id, str(entry["token"]), frozenset((str(n), str(e)) for n, e in entry.get("accounts", [])))
            for push_id, entry in sorted(config["instances"].items())
        ]
    if config.get("instance_push_id"):
        return [Instance(str(config["instance_push_id"]), str(config["zendesk_access_token"]), None)]
    return []


def instance_for(config: Mapping[str, Any], key: AccountKey) -> Instance | None:
    found = instances(config)
    for instance in found:
        if instance.accounts is not None and key in instance.accounts:
            return instance
    return next((i for i in found if i.accounts is None), None)


def with_instance(
    config: Mapping[str, Any] | None, subdomain: str, push_id: str, token: str, api_base: str | None
) -> dict[str, Any]:
    """Add (or refresh the token of) an instance; its account selection is kept."""
    current = _normalized(config, subdomain, api_base)
    entry = current["instances"].get(push_id, {"accounts": []})
    current["instances"][push_id] = {**entry, "token": token}
    return current


def with_selection(config: Mapping[str, Any], push_id: str, accounts: list[AccountKey]) -> dict[str, Any]:
    """Give ``accounts`` to instance ``push_id``, taking them away from any other instance."""
    current = _normalized(config, str(config["subdomain"]), config.get("api_base"))
    if push_id not in current["instances"]:
        raise KeyError(push_id)
    chosen = {tuple(a) for a in accounts}
    for other_id, entry in current["instances"].items():
        if other_id != push_id:
            entry["accounts"] = [a for a in entry["accounts"] if tuple(a) not in chosen]
    current["instances"][push_id]["accounts"] = sorted([list(a) for a in chosen])
    return current


LEGACY_KEYS = frozenset({"instance_push_id", "zendesk_access_token"})


def _normalized(config: Mapping[str, Any] | None, subdomain: str, api_base: str | None) -> dict[str, Any]:
    """The config in the multi-instance shape; every other key (e.g. REST credentials) is kept."""
    result: dict[str, Any] = {k: v for k, v in (config or {}).items() if k not in LEGACY_KEYS}
    result.update(subdomain=subdomain, instances={})
    if api_base:
        result["api_base"] = api_base
    if config:
        for instance in instances(config):
            accounts = [] if instance.accounts is None else sorted([list(a) for a in instance.accounts])
            result["instances"][instance.push_id] = {"token": instance.token, "accounts": accounts}
    return result
