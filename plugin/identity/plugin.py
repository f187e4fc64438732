"""The built-in ``horseshoe_resolve_identity`` (registered ``trylast``) and the actions around it.

The hook gets ``(profile, sink)``; the tenant is ``plugin.context.current_tenant()``. On the first
author of a routing batch that has no stored verdict, the plugin resolves the authors of the next
``WINDOW`` received mentions that have no verdict either, at once through the CRM adapter, stores each
verdict, and the other mentions are answered from the store: a batch costs a handful of CRM calls and
no mention is looked at twice, so routing stays linear however long the backlog.

Hooks run outside any DB transaction, so verdicts, links, suggestions and audit entries are written
right away. Zendesk merges of the user the Channel Framework created happen after the first delivery
(``horseshoe_delivered_batch``) or on the ``resources_created_from_external_ids`` event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from plugin.context import current_tenant
from plugin.errors import FatalError
from plugin.identity.adapter import IdentityAdapter, LookupKeys, NotReversible
from plugin.identity.lookups import PassLookups
from plugin.identity.salesforce import SalesforceIdentityAdapter
from plugin.identity.scoring import Decision, Facts, Policy, decide, extract_contacts, normalize_email, normalize_phone
from plugin.identity.zendesk import ZendeskIdentityAdapter, has_rest_credentials
from plugin.models import Match, Mention, SocialProfile
from plugin.runtime import Runtime
from plugin.sink import Delivered
from plugin.store.identity import IdentityLink, IdentityRepository, Verdict
from plugin.store.statuses import LinkStatus, Outcome

log = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("horseshoe")
SYSTEM = "horseshoe"
# Verdicts an agent or the law made: never revisited automatically.
SETTLED = frozenset(
    {LinkStatus.LINKED, LinkStatus.REJECTED, LinkStatus.FORGOTTEN, LinkStatus.UNDONE, LinkStatus.SUGGESTED}
)

# Zendesk callbacks this plugin acts on (after confirming with Zendesk: they are unsigned).
ZENDESK_EVENTS = ("destroy_user_identity", "resources_created_from_external_ids")

# Received mentions whose authors are resolved together: big enough that a backlog costs one CRM
# look-up per ~hundred authors, small enough that a batch's cost does not grow with the backlog.
WINDOW = 200

AdapterFactory = Callable[[dict[str, Any]], IdentityAdapter | None]


def zendesk_factory(config: dict[str, Any]) -> IdentityAdapter | None:
    return ZendeskIdentityAdapter(config) if has_rest_credentials(config) else None


def salesforce_factory(config: dict[str, Any]) -> IdentityAdapter | None:
    if config.get("identity") is False:
        return None  # the org opted out of identity resolution
    return SalesforceIdentityAdapter.from_config(config)


def default_factories() -> dict[str, AdapterFactory]:
    return {"zendesk": zendesk_factory, "salesforce": salesforce_factory}


class DuplicateBlocked(Exception):
    """The CRM's duplicate rules refused the change; never bypassed silently."""


@dataclass
class IdentityPlugin:
    """A default plugin (``DEFAULT_PLUGINS``), one instance per plugin manager; the runtime arrives
    through ``horseshoe_startup``."""

    factories: dict[str, AdapterFactory] = field(default_factory=default_factories)
    calls: int = 0  # CRM calls made by look-ups and links (throughput figure)
    # Linked authors whose Channel Framework user was looked for after a delivery (once per process;
    # the resources_created_from_external_ids callback covers users Zendesk creates later).
    _merge_checked: set[tuple[int, str, str]] = field(default_factory=set)
    _runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the identity plugin was used before horseshoe_startup")
        return self._runtime

    @property
    def _ids(self) -> IdentityRepository:
        return self.runtime.store.identity

    @property
    def store(self) -> IdentityRepository:
        return self._ids

    # ------------------------------------------------------------------ hooks
    @hookimpl
    def horseshoe_startup(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @hookimpl
    def horseshoe_crm_event(self, sink: str, tenant: str, event: dict[str, Any]) -> str | None:
        if sink != "zendesk" or event.get("type_id") not in ZENDESK_EVENTS:
            return None
        tenant_id = self.runtime.store.tenant_id(tenant)
        if tenant_id is None:
            return None
        try:
            return self.zendesk_event(tenant_id, event)
        except LookupError as exc:  # no REST credentials for this tenant: recorded by the host, nothing to do
            return f"not handled: {exc}"

    @hookimpl(trylast=True)
    def horseshoe_resolve_identity(self, profile: SocialProfile, sink: str) -> Match | None:
        tenant = current_tenant()
        if tenant is None or sink not in self.factories:
            return None
        key = (profile.network, profile.external_id)
        # Links, contacts and the adapter check are read for every author of the routing pass at once.
        look = PassLookups.for_profile(self, tenant.id, sink, key)
        link = look.link(key)
        stale = link is not None and link.status == LinkStatus.NEW
        needs_decision = link is None or (stale and link.fingerprint != look.fingerprint(profile))
        # Without an adapter (not connected, or Zendesk without REST credentials) there is nothing to
        # decide with, so no batch is built: it used to load the whole received backlog per mention.
        # Checked only when a decision is due, and never stored, so credentials added later apply.
        if needs_decision and look.has_adapter():
            self.resolve_batch(tenant.id, sink, profile)
            look.written()
            link = look.link(key)
        if link is None or link.status != LinkStatus.LINKED or not link.record_id:
            return None
        return Match(
            sink=sink,
            record_id=str(link.record_id),
            record_type=str(link.record_type or ""),
            confidence=float(link.confidence or 0.0),
            evidence=list(link.evidence or []),
        )

    @hookimpl
    def horseshoe_delivered_batch(self, deliveries: list[Delivered], sink: str, tenant: str) -> None:
        """After a Zendesk call: merge the users the Channel Framework created for linked authors, for
        every author of the call at once (two reads, not two per mention, on the delivery thread)."""
        if sink != "zendesk":
            return
        tenant_id = self.runtime.store.tenant_id(tenant)
        authors = {
            (d.mention.network, d.mention.author.external_id)
            for d in deliveries
            if d.outcome.status == Outcome.DELIVERED
        }
        keys = sorted(key for key in authors if (tenant_id or 0, *key) not in self._merge_checked)
        if tenant_id is None or not keys:
            return
        self.merge_pending(tenant_id, sink, only=keys)
        # Once an author is linked and looked at, later deliveries skip it (the callback covers the rest).
        linked = self._ids.links_for(tenant_id, "zendesk", keys)
        self._merge_checked.update(
            (tenant_id, *key) for key, link in linked.items() if link.status == LinkStatus.LINKED
        )

    # ------------------------------------------------------------------ resolution
    def _adapter(self, tenant_id: int, sink: str) -> IdentityAdapter | None:
        config = self.runtime.store.sink_connection(tenant_id, sink)
        factory = self.factories.get(sink)
        return factory(config) if config is not None and factory is not None else None

    def resolve_batch(self, tenant_id: int, sink: str, profile: SocialProfile) -> dict[tuple[str, str], Decision]:
        """Resolve ``profile`` together with the authors of the next ``WINDOW`` received mentions that
        have no verdict yet: one CRM look-up for many authors, and a bounded amount of work."""
        profiles: dict[tuple[str, str], SocialProfile] = {(profile.network, profile.external_id): profile}
        for payload in self._ids.unresolved_payloads(tenant_id, sink, WINDOW):
            mention = Mention.model_validate(payload)
            profiles.setdefault((mention.network, mention.author.external_id), profile_of(mention))
        return self.resolve(tenant_id, sink, list(profiles.values()))

    def facts_for(self, tenant_id: int, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Facts]:
        """Contacts each author wrote in their own messages (private ones count more)."""
        found: dict[tuple[str, str], dict[str, set[str]]] = {}
        for row in self._ids.mention_payloads(tenant_id, keys):
            key = (row.network, row.author_external_id)
            payload = row.payload
            emails, phones = extract_contacts(str(payload.get("text") or ""))
            where = "private" if payload.get("visibility") == "private" else "public"
            bucket = found.setdefault(key, {})
            bucket.setdefault(f"{where}_emails", set()).update(emails)
            bucket.setdefault(f"{where}_phones", set()).update(phones)
        return {
            key: Facts(**{name: frozenset(values) for name, values in bucket.items()}) for key, bucket in found.items()
        }

    def resolve(self, tenant_id: int, sink: str, profiles: list[SocialProfile]) -> dict[tuple[str, str], Decision]:
        """Decide for a batch of profiles with one batched CRM look-up, and store every verdict."""
        config = self.runtime.store.sink_connection(tenant_id, sink)
        factory = self.factories.get(sink)
        adapter = factory(config) if config is not None and factory is not None else None
        if adapter is None or config is None:
            return {}
        policy = Policy.from_sources(overrides=config)
        by_key = {(p.network, p.external_id): p for p in profiles}
        keys = sorted(by_key)
        links = self._ids.links_for(tenant_id, sink, keys)
        facts = self.facts_for(tenant_id, keys)
        to_look: list[tuple[str, str]] = []
        for key in keys:
            link = links.get(key)
            if link is not None and link.status in SETTLED:
                continue
            if link is not None and link.fingerprint == facts.get(key, Facts()).fingerprint(by_key[key]):
                continue  # "new customer", and nothing new to search with
            to_look.append(key)
        emails: set[str] = set()
        phones: set[str] = set()
        for key in to_look:
            profile, fact = by_key[key], facts.get(key, Facts())
            emails.update(fact.private_emails | fact.public_emails)
            phones.update(fact.private_phones | fact.public_phones)
            emails.update(e for e in [normalize_email(profile.email)] if e)
            phones.update(p for p in [normalize_phone(profile.phone)] if p)
        candidates = []
        if to_look and (emails or phones):
            before = adapter.calls()
            candidates = adapter.lookup(
                LookupKeys(emails=frozenset(emails), phones=frozenset(phones), profiles=frozenset(to_look))
            )
            self.calls += adapter.calls() - before
        decisions: dict[tuple[str, str], Decision] = {}
        # Every verdict (and suggestion audit) of the batch is stored in one transaction; an automatic
        # link first stores what was decided before it, so the audit log keeps the decisions' order,
        # and what was decided is stored even when a CRM call fails part-way.
        verdicts: list[Verdict] = []
        try:
            for key in to_look:
                profile, fact = by_key[key], facts.get(key, Facts())
                decisions[key] = decide(profile, fact, candidates, policy)
                verdicts.append(self._verdict(tenant_id, sink, profile, decisions[key], fact.fingerprint(profile),
                                              adapter, verdicts))  # fmt: skip
        finally:
            self._ids.upsert_links(tenant_id, sink, verdicts)
        return decisions

    def _verdict(self, tenant_id: int, sink: str, profile: SocialProfile, decision: Decision, fingerprint: str,
                 adapter: IdentityAdapter, earlier: list[Verdict]) -> Verdict:  # fmt: skip
        """The link row (and suggestion audit) to store for ``decision``; an automatic link is made in
        the CRM first, after storing the ``earlier`` verdicts of the batch (emptied)."""
        best = decision.best
        verdict = decision.verdict
        evidence = list(best.evidence) if best else []
        status = {"link": LinkStatus.LINKED, "suggest": LinkStatus.SUGGESTED, "new": LinkStatus.NEW}[verdict]
        # Linking first: if the CRM refuses (duplicate rules), the verdict becomes a suggestion.
        blocked = ""
        if status == LinkStatus.LINKED and best is not None:
            self._ids.upsert_links(tenant_id, sink, earlier)
            earlier.clear()
            try:
                self._link(tenant_id, sink, profile, best.record_id, SYSTEM,
                           f"automatic: confidence {best.confidence} at or above the auto-link threshold",
                           evidence, adapter, record_type=best.record_type)  # fmt: skip
            except DuplicateBlocked as exc:
                status, blocked = LinkStatus.SUGGESTED, str(exc)
        notes = list(decision.notes) + ([blocked] if blocked else [])
        audit = None
        if status == LinkStatus.SUGGESTED and best is not None:
            reason = f"confidence {best.confidence}: an agent decides" + ("; " + "; ".join(notes) if notes else "")
            audit = {"action": "suggest", "actor": SYSTEM, "record_id": best.record_id, "reason": reason,
                     "evidence": evidence}  # fmt: skip
        return Verdict(
            profile.network, profile.external_id,
            {
                "status": status,
                "record_id": best.record_id if best and status != LinkStatus.NEW else None,
                "record_type": best.record_type if best else None,
                "confidence": best.confidence if best else 0.0,
                "evidence": evidence + notes,
                "candidates": [
                    {"record_id": c.record_id, "record_type": c.record_type, "confidence": c.confidence,
                     "evidence": list(c.evidence)}
                    for c in decision.candidates
                ],
                "profile": profile.model_dump(mode="json", exclude_none=True),
                "fingerprint": fingerprint,
            },
            audit,
        )  # fmt: skip

    # ------------------------------------------------------------------ writes
    def adapter_for(self, tenant_id: int, sink: str) -> IdentityAdapter:
        config = self.runtime.store.sink_connection(tenant_id, sink)
        factory = self.factories.get(sink)
        adapter = factory(config) if config is not None and factory is not None else None
        if adapter is None:
            raise LookupError(f"{sink} is not connected with REST credentials for this tenant")
        return adapter

    def _link(self, tenant_id: int, sink: str, profile: SocialProfile, record_id: str, actor: str, reason: str,
              evidence: list[str], adapter: IdentityAdapter | None = None, record_type: str = "") -> int:  # fmt: skip
        adapter = adapter or self.adapter_for(tenant_id, sink)
        before = adapter.calls()
        try:
            result = adapter.link(profile, record_id)
        except FatalError as exc:
            if exc.code == "DUPLICATES_DETECTED":
                raise DuplicateBlocked(f"{sink} duplicate rules refused linking to {record_id}: {exc}") from exc
            raise
        finally:
            self.calls += adapter.calls() - before
        audit_id = self._ids.audit(
            tenant_id, sink, "link", actor, profile.network, profile.external_id,
            record_id=record_id, reason=reason, evidence=evidence,
            details={"actions": result.actions, "record_type": record_type}, reversible=bool(result.actions),
        )  # fmt: skip
        return audit_id

    def merge_pending(self, tenant_id: int, sink: str, only: list[tuple[str, str]] | None = None,
                      adapter: IdentityAdapter | None = None) -> int:  # fmt: skip
        """Merge the records the CRM created on its own for linked authors into their targets."""
        # With ``only`` (after each delivery), read just those profiles' links: reading every linked
        # profile of the tenant per delivered mention made delivery cost grow with the customer base.
        found = (
            self._ids.links(tenant_id, LinkStatus.LINKED) if only is None
            else list(self._ids.links_for(tenant_id, sink, only).values())
        )  # fmt: skip
        links = [
            link for link in found
            if link.sink == sink and link.status == LinkStatus.LINKED and not link.merged
            and (only is None or (link.network, link.author_external_id) in only)
        ]  # fmt: skip
        if not links:
            return 0
        adapter = adapter or self.adapter_for(tenant_id, sink)
        profiles = {f"{lk.network}:{lk.author_external_id}": lk for lk in links}
        duplicates = adapter.duplicates_of(
            [SocialProfile(network=lk.network, external_id=lk.author_external_id) for lk in links],
            {key: str(lk.record_id) for key, lk in profiles.items()},
        )
        merged = 0
        for key, sources in sorted(duplicates.items()):
            link = profiles[key]
            for source in sources:
                try:
                    result = adapter.merge(source, str(link.record_id))
                except ValueError as exc:
                    self._ids.audit(
                        tenant_id, sink, "merge_refused", SYSTEM, link.network,
                        link.author_external_id, record_id=str(link.record_id), reason=str(exc),
                        evidence=list(link.evidence or []),
                    )  # fmt: skip
                    continue
                self._ids.audit(
                    tenant_id, sink, "merge", SYSTEM, link.network, link.author_external_id,
                    record_id=str(link.record_id),
                    reason=f"the CRM's own record {source} for this profile merged into the linked record",
                    evidence=list(link.evidence or []),
                    details={"action": {"kind": "merge", "source": source}, "snapshots": result.snapshots},
                    reversible=result.reversible,
                )  # fmt: skip
                merged += 1
            if sources:
                self._ids.upsert_link(tenant_id, sink, link.network, link.author_external_id, merged=True)
        return merged

    # ------------------------------------------------------------------ agent decisions
    def suggestions(self, tenant_id: int) -> list[IdentityLink]:
        return self._ids.links(tenant_id, LinkStatus.SUGGESTED)

    def decide_suggestion(self, link_id: int, accept: bool, actor: str, record_id: str | None = None,
                          tenant_id: int | None = None) -> IdentityLink:  # fmt: skip
        """Accept (link, and merge in Zendesk) or reject a suggestion; ``tenant_id`` confines the caller."""
        link = self._ids.link(link_id)
        if link is None or link.status != LinkStatus.SUGGESTED or tenant_id not in (None, link.tenant_id):
            raise LookupError(f"no open suggestion {link_id}")
        tenant, sink = int(link.tenant_id), str(link.sink)
        target = record_id or str(link.record_id)
        candidates = {str(c["record_id"]): c for c in link.candidates or []}
        if accept and target not in candidates:
            raise ValueError(f"record {target} was not among the candidates")
        evidence = list(candidates.get(target, {}).get("evidence") or link.evidence or [])
        if accept:
            raw = link.profile or {"network": link.network, "external_id": link.author_external_id}
            record_type = str(candidates[target].get("record_type") or link.record_type or "")
            try:
                self._link(tenant, sink, SocialProfile(**raw), target, actor, "accepted suggestion", evidence,
                           record_type=record_type)  # fmt: skip
            except DuplicateBlocked as exc:
                raise ValueError(str(exc)) from exc
            self._ids.upsert_link(tenant, sink, link.network, link.author_external_id,
                           status=LinkStatus.LINKED, record_id=target, record_type=record_type)  # fmt: skip
        else:
            self._ids.upsert_link(tenant, sink, link.network, link.author_external_id, status=LinkStatus.REJECTED)
        self._ids.audit(
            tenant, sink, "accept" if accept else "reject", actor, link.network,
            link.author_external_id, record_id=target,
            reason=f"agent {'accepted' if accept else 'rejected'} the suggestion", evidence=evidence,
        )  # fmt: skip
        if accept and sink == "zendesk":
            self.merge_pending(tenant, sink, only=[(link.network, link.author_external_id)])
        decided = self._ids.link(link_id)
        if decided is None:  # forgotten meanwhile (right to be forgotten wins)
            raise LookupError(f"suggestion {link_id} is gone")
        return decided

    def undo(self, audit_id: int, actor: str, tenant_id: int | None = None) -> dict[str, Any]:
        entry = self._ids.audit_entry(audit_id)
        if entry is None or (tenant_id is not None and entry.tenant_id != tenant_id):
            raise LookupError(f"no audit entry {audit_id}")
        if entry.undone_by:
            raise ValueError(f"audit entry {audit_id} was already undone by {entry.undone_by}")
        tenant, sink = int(entry.tenant_id), str(entry.sink)
        details = entry.details or {}
        if entry.action == "merge":
            raise NotReversible(
                f"{sink} merges cannot be undone (audit {audit_id}); the snapshot taken before it is in the audit"
            )
        if entry.action != "link":
            raise ValueError(f"only links can be undone, audit {audit_id} is a {entry.action}")
        adapter = self.adapter_for(tenant, sink)
        done = [adapter.undo(action) for action in details.get("actions", [])]
        self._ids.upsert_link(tenant, sink, entry.network, entry.author_external_id, status=LinkStatus.UNDONE)
        new_id = self._ids.audit(
            tenant, sink, "undo", actor, entry.network, entry.author_external_id,
            record_id=entry.record_id, reason=f"undo of audit {audit_id}", details={"undone": done},
        )  # fmt: skip
        self._ids.mark_undone(audit_id, new_id)
        return {"audit_id": new_id, "undone": done}

    # ------------------------------------------------------------------ privacy
    def forget(self, tenant_id: int, network: str, author: str, actor: str, why: str) -> dict[str, int]:
        """Right to be forgotten for one social profile: our profile data, evidence and links go."""
        result = self._ids.forget(tenant_id, network, author)
        for sink in sorted(self.factories):
            self._ids.audit(tenant_id, sink, "forget", actor, network, author, record_id=None, reason=why)
        return result

    def forget_record(self, tenant_id: int, sink: str, record_id: str, actor: str, why: str) -> list[tuple[str, str]]:
        """A CRM record was destroyed (Zendesk ``destroy_user_identity``): forget every profile on it."""
        profiles = self._ids.profiles_linked_to(tenant_id, sink, record_id)
        for network, author in profiles:
            self.forget(tenant_id, network, author, actor, why)
        return profiles

    # ------------------------------------------------------------------ Zendesk event callbacks
    def zendesk_event(self, tenant_id: int, event: dict[str, Any]) -> str:
        """``destroy_user_identity``: forget the profiles on it, once Zendesk confirms the identity is gone
        (callbacks are unsigned). ``resources_created_from_external_ids``: the Channel Framework may have
        created end users for linked authors: merge them into their targets."""
        kind = event.get("type_id")
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        assert isinstance(data, dict)
        if kind == "resources_created_from_external_ids":
            return f"merged {self.merge_pending(tenant_id, 'zendesk')}"
        if kind != "destroy_user_identity":
            return "ignored"
        user_id = str(data.get("user_id") or "")
        identity = data.get("identity") if isinstance(data.get("identity"), dict) else {}
        assert isinstance(identity, dict)
        value = str(identity.get("value") or data.get("value") or "")
        if not user_id.isdigit():
            return "ignored: no user_id"
        adapter = self.adapter_for(tenant_id, "zendesk")
        if not isinstance(adapter, ZendeskIdentityAdapter) or not adapter.identity_gone(user_id, value or None):
            return "ignored: Zendesk still has it"
        why = "Zendesk destroy_user_identity (right to be forgotten)"
        network, _, author = value.partition(":")
        if author and network in self.runtime.registry.connectors:
            # Event callbacks are unsigned: act only for the user this profile is linked to, and
            # only once Zendesk itself no longer shows that identity on that user (checked above).
            linked = self._ids.links_for(tenant_id, "zendesk", [(network, author)])
            if not any(str(link.record_id) == user_id for link in linked.values()):
                return "ignored: that profile is not linked to that user"
            self.forget(tenant_id, network, author, "zendesk", why)
            return "forgot 1"
        return f"forgot {len(self.forget_record(tenant_id, 'zendesk', user_id, 'zendesk', why))}"


def profile_of(mention: Mention) -> SocialProfile:
    author = mention.author
    return SocialProfile(
        network=mention.network,
        external_id=author.external_id,
        handle=author.handle,
        name=author.name,
        avatar_url=author.avatar_url,
        profile_url=author.profile_url,
    )
