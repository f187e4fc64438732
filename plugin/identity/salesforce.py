"""Salesforce identity adapter: SOQL ``IN`` look-ups, SocialPersona re-parenting, reversible links.

Reuses the sink's API wrapper (``sinks/salesforce_api.SalesforceApi``: call counting, API-share guard,
error translation). One batch of profiles costs at most a few queries, whatever its size (each
``IN`` list is split only when the URL would grow too long):

* ``Contact`` / ``Lead WHERE Email IN (...) OR Phone IN (...)`` (Contact also ``MobilePhone``);
* only when something matched: ``SocialPersona WHERE ExternalId IN (...)`` (records that already carry
  the profile, and the persona to re-parent when linking) and those parents by ``Id IN (...)``;
* ``User WHERE IsActive = true`` (cached per org for a few minutes): a Contact or Lead carrying an
  internal user's email is staff and never a target.

Link = ``PATCH SocialPersona/{id}`` with the new ``ParentId``; the previous parent is recorded so
``undo`` puts it back. Duplicate rules: the ``Sforce-Duplicate-Rule-Header`` (``allowSave=true``) is
sent only when the connection says ``identity_duplicates_allow_save: true``; otherwise a
``DUPLICATES_DETECTED`` answer surfaces as a ``FatalError`` with that code (the plugin turns it into a
suggestion or a clear error), never a silent bypass.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from plugin.identity.adapter import IdentityAdapter, LinkResult, LookupKeys, MergeResult, NotReversible
from plugin.identity.scoring import Candidate, normalize_email, normalize_phone
from plugin.models import SocialProfile
from plugin.salesforce import records as rec
from plugin.salesforce.api import DEFAULT_MAX_API_SHARE, SalesforceApi
from plugin.salesforce.connect import parse_config

PREFIX_TYPES = {"003": "Contact", "00Q": "Lead", "001": "Account"}
DUPLICATE_HEADER = "Sforce-Duplicate-Rule-Header"
_APIS: dict[str, SalesforceApi] = {}  # config digest -> client (the digest changes with the credentials)
_APIS_LOCK = threading.Lock()
STAFF_TTL = 300.0
_STAFF: dict[tuple[object, object], tuple[float, frozenset[str]]] = {}  # (login url, user) -> staff emails
BY_ID = {
    "Contact": "SELECT Id, Name, Email, Phone, MobilePhone FROM Contact WHERE Id IN ({values})",
    "Lead": "SELECT Id, Name, Email, Phone FROM Lead WHERE Id IN ({values})",
    "Account": "SELECT Id, Name, Phone FROM Account WHERE Id IN ({values})",
}


def phone_variants(phone: str) -> list[str]:
    """Spellings a phone field may hold (SOQL compares strings exactly): as given, digits, +digits,
    and the national form with the country code as a separate group."""
    digits = re.sub(r"\D", "", phone)
    variants = {phone, digits, "+" + digits}
    if len(digits) > 9:
        variants.add(f"+{digits[:-9]} {digits[-9:]}")
        variants.add(f"+{digits[:-9]} {digits[-9:-6]} {digits[-6:-3]} {digits[-3:]}")
    return sorted(variants)


class SalesforceIdentityAdapter(IdentityAdapter):
    sink = "salesforce"
    merge_reversible = True  # re-parenting is undone by re-parenting back

    def __init__(self, api: SalesforceApi, config: Mapping[str, Any]):
        self.api = api
        self.allow_save = config.get("identity_duplicates_allow_save") is True
        self._calls_before = api.calls  # the client is shared: count this adapter's calls only
        # (Provider, ExternalId) -> persona row, filled by lookup and link (per-batch cache).
        self._personas: dict[tuple[str, str], dict[str, Any]] = {}
        self._looked: set[tuple[str, str]] = set()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SalesforceIdentityAdapter:
        """An adapter on a logged-in client shared per connection config (no login per batch)."""
        digest = hashlib.sha256(json.dumps(dict(config), sort_keys=True, default=str).encode()).hexdigest()
        with _APIS_LOCK:
            api = _APIS.get(digest)
            if api is None:
                wait = config.get("limit_wait_seconds")
                api = SalesforceApi(
                    parse_config(dict(config)),
                    max_api_share=float(config.get("max_api_share", DEFAULT_MAX_API_SHARE)),
                    limit_wait_seconds=float(wait) if wait is not None else None,
                )
                _APIS[digest] = api
        return cls(api, config)

    def __repr__(self) -> str:
        return f"SalesforceIdentityAdapter(api={self.api!r})"

    def calls(self) -> int:
        return self.api.calls - self._calls_before

    # ------------------------------------------------------------------ look-ups
    def _load_personas(self, profiles: Iterable[tuple[str, str]]) -> None:
        wanted = {(rec.provider_of(network), author) for network, author in profiles} - self._looked
        if not wanted:
            return
        self._looked |= wanted  # a profile without a persona is not looked up twice either
        rows = self.api.query_in(
            "SELECT Id, ParentId, Provider, ExternalId FROM SocialPersona WHERE ExternalId IN ({values}) "
            "ORDER BY CreatedDate ASC",
            sorted({author for _, author in wanted}),
        )
        for row in rows:
            key = (str(row.get("Provider") or ""), str(row.get("ExternalId") or ""))
            if key in wanted:
                self._personas.setdefault(key, row)

    def lookup(self, keys: LookupKeys) -> list[Candidate]:
        values = sorted(keys.emails) + sorted({v for p in keys.phones for v in phone_variants(p)})
        records: dict[str, dict[str, Any]] = {}
        if values:
            contacts = self.api.query_in(
                "SELECT Id, Name, Email, Phone, MobilePhone FROM Contact "
                "WHERE Email IN ({values}) OR Phone IN ({values}) OR MobilePhone IN ({values})",
                values,
            )
            leads = self.api.query_in(
                "SELECT Id, Name, Email, Phone FROM Lead WHERE Email IN ({values}) OR Phone IN ({values})", values
            )
            for row in contacts + leads:
                records[str(row["Id"])] = row
        carried: dict[str, set[tuple[str, str]]] = {}  # parent id -> identities its personas carry
        if records or keys.record_ids:
            # Something to link to: the batch's personas (to re-parent them, and as evidence). A batch
            # where nobody matched costs just the two queries above.
            self._load_personas(keys.profiles)
            for (provider, external_id), row in self._personas.items():
                for network in rec.networks_of(provider) or [provider.lower()]:
                    carried.setdefault(str(row["ParentId"]), set()).add(("any_channel", f"{network}:{external_id}"))
        ids = sorted(set(carried) | set(keys.record_ids))
        by_type: dict[str, list[str]] = {}
        for record_id in ids:
            if record_id not in records:
                by_type.setdefault(PREFIX_TYPES.get(record_id[:3], ""), []).append(record_id)
        for sobject, wanted in sorted(by_type.items()):
            if sobject not in BY_ID:
                continue
            for row in self.api.query_in(BY_ID[sobject], wanted):
                records[str(row["Id"])] = row
        staff = self._staff_emails() if any(r.get("Email") for r in records.values()) else frozenset()
        candidates = []
        for record_id, row in sorted(records.items()):
            email = normalize_email(row.get("Email"))
            phones = {normalize_phone(row.get(f)) for f in ("Phone", "MobilePhone")}
            candidates.append(
                Candidate(
                    record_id=record_id,
                    record_type=PREFIX_TYPES.get(record_id[:3], str((row.get("attributes") or {}).get("type", ""))),
                    name=str(row.get("Name") or ""),
                    staff=email is not None and email in staff,
                    emails=frozenset([email] if email else []),
                    phones=frozenset(p for p in phones if p),
                    identities=frozenset(carried.get(record_id, set())),
                )
            )
        return candidates

    def _staff_emails(self) -> frozenset[str]:
        """Emails of the org's active users (agents, staff): a Contact/Lead with one is never a target.
        Read once per org and ``STAFF_TTL`` seconds, not once per batch: the list changes rarely."""
        # Keyed by the org's instance (known once logged in): session-auth configs carry no username.
        key = (str(self.api.client.sf_instance), self.api.cfg.username)
        cached = _STAFF.get(key)
        if cached is not None and time.monotonic() - cached[0] < STAFF_TTL:
            return cached[1]
        rows = self.api.query("SELECT Email FROM User WHERE IsActive = true")
        emails = frozenset(e for e in (normalize_email(r.get("Email")) for r in rows) if e)
        _STAFF[key] = (time.monotonic(), emails)
        return emails

    # ------------------------------------------------------------------ link / undo
    def _set_parent(self, persona_id: str, parent_id: str) -> None:
        headers = {DUPLICATE_HEADER: "allowSave=true"} if self.allow_save else {}
        self.api.call(
            "re-parent SocialPersona",
            lambda sf: sf.restful(
                f"sobjects/SocialPersona/{persona_id}", method="PATCH", json={"ParentId": parent_id}, headers=headers
            ),
        )

    def link(self, profile: SocialProfile, record_id: str) -> LinkResult:
        """Re-parent the profile's persona to ``record_id``. No persona yet: the sink creates it under the
        matched record when it delivers (it honours the Match), so there is nothing to change."""
        self._load_personas([(profile.network, profile.external_id)])
        persona = self._personas.get((rec.provider_of(profile.network), profile.external_id))
        if persona is None or str(persona["ParentId"]) == record_id:
            return LinkResult(actions=[])
        previous = str(persona["ParentId"])
        self._set_parent(str(persona["Id"]), record_id)
        persona["ParentId"] = record_id
        return LinkResult(
            actions=[{"kind": "reparent", "persona_id": str(persona["Id"]), "previous": previous, "new": record_id}]
        )

    def duplicates_of(self, profiles: Iterable[SocialProfile], target_ids: Mapping[str, str]) -> dict[str, list[str]]:
        # Personas are re-parented, never duplicated into a second record: nothing to merge.
        return {}

    def merge(self, source_id: str, target_id: str) -> MergeResult:
        raise NotReversible("salesforce identities are linked by re-parenting, never merged")

    def undo(self, action: Mapping[str, Any]) -> dict[str, Any]:
        if action.get("kind") != "reparent":
            raise ValueError(f"unknown action {action.get('kind')!r}")
        self._set_parent(str(action["persona_id"]), str(action["previous"]))
        return {"kind": "reparent", "persona_id": action["persona_id"], "parent": action["previous"]}
