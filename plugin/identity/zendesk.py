"""Zendesk identity adapter (zenpy): batched look-ups, native identities, merge with snapshot.

Look-ups: one Search API query per distinct email / phone (Zendesk search has no OR across values),
then ``GET /api/v2/users/show_many.json?ids=...&include=identities`` (100 ids a call) for every user
found or already linked: roles, identities and fields for all of them in one request.

The Channel Framework finds its author by an ``any_channel`` identity that only Zendesk itself can
create (the Identities API refuses that type). So a link (1) adds the network's native identity
(``twitter``/``facebook``) where Zendesk has one, and (2) merges the end-user the Channel Framework
created for the author into the target: the merge moves the ``any_channel`` identity, so every later
push lands on the target. Merges cannot be undone in Zendesk; a snapshot is taken first.

REST credentials come from the Zendesk sink connection: ``api_email`` + ``api_token`` or
``oauth_token`` (the Channel Framework push token is not valid for the REST API).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from zenpy import Zenpy

from plugin.identity.adapter import IdentityAdapter, LinkResult, LookupKeys, MergeResult, NotReversible
from plugin.identity.scoring import Candidate, normalize_email, normalize_phone
from plugin.models import SocialProfile
from plugin.zendesk.rest import CountingSession, has_rest_credentials

# has_rest_credentials lived here before the REST client moved to plugin/zendesk/rest.py.
__all__ = ["CountingSession", "ZendeskIdentityAdapter", "has_rest_credentials"]

log = logging.getLogger(__name__)
SHOW_MANY = 100
NATIVE_IDENTITY = {"x": "twitter", "facebook": "facebook"}


class ZendeskIdentityAdapter(IdentityAdapter):
    sink = "zendesk"
    merge_reversible = False

    def __init__(self, config: Mapping[str, Any], timeout: float = 30.0):
        subdomain = str(config["subdomain"])
        api_base = str(config.get("api_base") or "").rstrip("/")
        canonical = f"https://{subdomain}.zendesk.com"
        self.session = CountingSession(canonical, api_base) if api_base and api_base != canonical else CountingSession()
        self.base = canonical
        credentials: dict[str, Any] = (
            {"oauth_token": str(config["oauth_token"])}
            if config.get("oauth_token")
            else {"email": str(config["api_email"]), "token": str(config["api_token"])}
        )
        self.client = Zenpy(subdomain=subdomain, session=self.session, timeout=timeout, **credentials)
        # Zenpy replaces the session's auth/headers but keeps our object.
        self.session = self.client.users.session
        self._users: dict[str, dict[str, Any]] = {}
        self._identities: dict[str, list[dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"ZendeskIdentityAdapter(base={self.base!r})"

    def calls(self) -> int:
        return int(getattr(self.session, "count", 0))

    # ------------------------------------------------------------------ look-ups
    def _search_user_ids(self, query: str) -> list[str]:
        return [str(u.id) for u in self.client.search(query, type="user")]

    def _show_many(self, ids: Iterable[str]) -> None:
        wanted = sorted({i for i in ids if i not in self._users}, key=int)
        for start in range(0, len(wanted), SHOW_MANY):
            chunk = wanted[start : start + SHOW_MANY]
            response = self.session.get(
                f"{self.base}/api/v2/users/show_many.json",
                params={"ids": ",".join(chunk), "include": "identities"},
            )
            response.raise_for_status()
            body = response.json()
            for user in body.get("users") or []:
                self._users[str(user["id"])] = user
                self._identities.setdefault(str(user["id"]), [])
            for identity in body.get("identities") or []:
                self._identities.setdefault(str(identity["user_id"]), []).append(identity)

    def _candidate(self, user_id: str) -> Candidate:
        user = self._users[user_id]
        identities = self._identities.get(user_id, [])
        emails = {normalize_email(i["value"]) for i in identities if i.get("type") == "email"}
        emails.add(normalize_email(user.get("email")))
        phones = {normalize_phone(i["value"]) for i in identities if i.get("type") == "phone_number"}
        phones.add(normalize_phone(user.get("phone")))
        urls = {str(v) for v in (user.get("user_fields") or {}).values() if isinstance(v, str)}
        for text in (user.get("details") or "", user.get("notes") or ""):
            urls.update(w for w in str(text).split() if ("." in w and "/" in w) or w.startswith("http"))
        return Candidate(
            record_id=user_id,
            record_type="user",
            name=str(user.get("name") or ""),
            staff=user.get("role") != "end-user",
            active=bool(user.get("active", True)),
            emails=frozenset(e for e in emails if e),
            phones=frozenset(p for p in phones if p),
            identities=frozenset((str(i["type"]), str(i["value"])) for i in identities),
            urls=frozenset(urls),
        )

    def lookup(self, keys: LookupKeys) -> list[Candidate]:
        ids = set(keys.record_ids)
        for email in sorted(keys.emails):
            ids.update(self._search_user_ids(f'email:"{email}"'))
        for phone in sorted(keys.phones):
            ids.update(self._search_user_ids(f'phone:"{phone}"'))
        self._show_many(ids)
        return [self._candidate(i) for i in sorted(ids, key=int) if i in self._users]

    # ------------------------------------------------------------------ link / merge / undo
    def link(self, profile: SocialProfile, record_id: str) -> LinkResult:
        type_ = NATIVE_IDENTITY.get(profile.network)
        if type_ is None:
            return LinkResult(actions=[])
        value = profile.handle.lstrip("@").lower() if type_ == "twitter" and profile.handle else profile.external_id
        known = self._identities.get(record_id)  # loaded by this batch's show_many: no second read
        if known is None:
            response = self.session.get(f"{self.base}/api/v2/users/{int(record_id)}/identities.json")
            response.raise_for_status()
            known = response.json().get("identities") or []
        if any((i["type"], str(i["value"]).lower()) == (type_, value.lower()) for i in known):
            return LinkResult(actions=[])
        response = self.session.post(
            f"{self.base}/api/v2/users/{int(record_id)}/identities.json",
            json={"identity": {"type": type_, "value": value}},
        )
        if response.status_code == 422:
            # Already on another user (e.g. the Channel Framework user, merged next): not an error.
            log.info("zendesk kept identity %s on another user", type_)
            return LinkResult(actions=[])
        response.raise_for_status()
        created = response.json()["identity"]
        return LinkResult(
            actions=[{"kind": "identity_added", "user_id": record_id, "identity_id": str(created["id"]), "type": type_}]
        )

    def duplicates_of(self, profiles: Iterable[SocialProfile], target_ids: Mapping[str, str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for profile in profiles:
            key = f"{profile.network}:{profile.external_id}"
            users = self._search_user_ids(f'"{key}"')  # search by the any_channel identity value
            self._show_many(users)
            found[key] = sorted(
                (
                    u
                    for u in users
                    if u != target_ids[key]
                    and u in self._users
                    and any(i.get("type") == "any_channel" and i.get("value") == key for i in self._identities[u])
                ),
                key=int,
            )
        return found

    def identity_gone(self, user_id: str, value: str | None) -> bool:
        """Whether Zendesk confirms the user (or, with ``value``, that identity of it) no longer exists."""
        response = self.session.get(f"{self.base}/api/v2/users/{int(user_id)}/identities.json")
        if response.status_code == 404:
            return True
        response.raise_for_status()
        if value is None:
            return False
        return all(str(i.get("value")) != value for i in response.json().get("identities") or [])

    def snapshot(self, user_id: str) -> dict[str, Any]:
        self._users.pop(user_id, None)
        self._show_many([user_id])
        user = self._users.get(user_id, {})
        tickets = sorted(int(t.id) for t in self.client.search(type="ticket", requester_id=int(user_id)))
        return {
            "user_id": user_id,
            "fields": {
                k: user.get(k) for k in ("name", "email", "phone", "role", "tags", "external_id", "user_fields")
            },
            "identities": [
                {k: i.get(k) for k in ("id", "type", "value", "verified", "primary", "subtype_name")}
                for i in self._identities.get(user_id, [])
            ],
            "tickets_moved": tickets,
        }

    def merge(self, source_id: str, target_id: str) -> MergeResult:
        # Merges cannot be undone: read the target fresh (a cached role may be stale) and refuse
        # unless Zendesk says it is an end user right now.
        self._users.pop(target_id, None)
        self._show_many([target_id])
        target = self._users.get(target_id)
        if target is None or target.get("role") != "end-user":
            raise ValueError(f"user {target_id} is not an end user now; staff are never merge targets")
        snap = self.snapshot(source_id)
        if snap["fields"].get("role") not in (None, "end-user"):
            raise ValueError(f"user {source_id} is staff; staff are never merged")
        self.client.users.merge(int(source_id), int(target_id))
        self._users.pop(source_id, None)
        self._users.pop(target_id, None)
        return MergeResult(merged=[source_id], snapshots=[snap], reversible=False)

    def undo(self, action: Mapping[str, Any]) -> dict[str, Any]:
        if action.get("kind") == "merge":
            raise NotReversible("Zendesk merges cannot be undone; the merge audit keeps the snapshot taken before it")
        if action.get("kind") == "identity_added":
            response = self.session.delete(
                f"{self.base}/api/v2/users/{int(action['user_id'])}/identities/{int(action['identity_id'])}.json"
            )
            response.raise_for_status()
            return {"kind": "identity_removed", "user_id": action["user_id"], "identity_id": action["identity_id"]}
        raise ValueError(f"unknown action {action.get('kind')!r}")
