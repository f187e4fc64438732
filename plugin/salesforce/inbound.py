"""Inbound mentions -> SocialPost / SocialPersona / Contact / Case, a whole batch at a time.

Reproduces what admins know from Salesforce's default inbound social post handler (Social Customer
Service, "Default Apex class for inbound social posts"), but with SOQL ``IN`` look-ups for the whole
batch and sObject Collections writes instead of one call per record, and those sent together: the
independent look-ups in one Composite call (``lookups.py``), every write in another (``writes.py``):

1. a post already stored (same ExternalPostId + Provider) is updated, never stored twice;
2. the author's SocialPersona is found by Provider + ExternalId; a new one gets a parent Contact
   (name split into FirstName/LastName, ``default_account_id``) unless identity resolution matched an
   existing Contact, Lead or Account;
3. the Case: a reply to one of our outbound posts, or to the persona's own earlier post, joins that
   post's Case; otherwise the persona's latest inbound post with the same Provider and Recipient gives
   it. An open Case is reused, one closed within ``reopen_days`` (default 5) is reopened, else a new
   Case is opened (Origin = provider, Subject from the post, ContactId = the persona's Contact).

Record-level failures fail (or retry, for lock contention) only the deliveries they belong to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from plugin.salesforce import casestatus
from plugin.salesforce import records as rec
from plugin.salesforce.api import RETRIABLE_CODES, SalesforceApi, record_error
from plugin.salesforce.lookups import Found
from plugin.salesforce.writes import CONTACTS, Deferred, Immediate, Writer, is_new_contact
from plugin.sink import DeliveryItem, DeliveryOutcome, OutcomeStatus, all_held
from plugin.store.statuses import DeliveryStatus

log = logging.getLogger(__name__)

PARENT_WAIT_SECONDS = 5.0
DEFAULT_REOPEN_DAYS = 5
PARENT_TYPES = {"contact": "Contact", "lead": "Lead", "account": "Account"}
# Standard key prefixes (first three characters of a record id): Account 001, Contact 003, Lead 00Q.
CONTACT_PREFIX, ACCOUNT_PREFIX = "003", "001"

Key = tuple[str, str]  # (Provider, external id)
CaseRef = tuple[str, str]  # ("id", "500...") or ("new", "<index into new cases>")


def parse_sf_datetime(value: Any) -> datetime | None:
    """Salesforce dateTime ("2026-11-01T12:00:00.000+0000") as an aware datetime."""
    if not value:
        return None
    text = str(value).replace("Z", "+0000")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(UTC)
        except ValueError:
            continue
    return None


def _ok(result: dict[str, Any]) -> bool:
    return bool(result.get("success"))


@dataclass
class _Item:
    item: DeliveryItem
    key: Key
    persona_key: Key
    fields: dict[str, Any]
    post_id: str | None = None  # existing SocialPost
    persona_id: str | None = None
    parent_id: str | None = None  # persona's parent (Contact/Lead/Account)
    case: CaseRef | None = None


@dataclass
class _NewCase:
    fields: dict[str, Any]
    members: list[_Item] = field(default_factory=list)
    id: str | None = None


class InboundBatch:
    def __init__(
        self,
        api: SalesforceApi,
        config: Mapping[str, Any],
        now: datetime | None = None,
        fence: Callable[[Collection[int]], set[int]] = all_held,
    ):
        self.api = api
        self.config = config
        self.fence = fence
        self.now = now or datetime.now(UTC)
        self.reopen_days = float(config.get("reopen_days", DEFAULT_REOPEN_DAYS))
        self.default_account_id = config.get("default_account_id") or None
        self.outcomes: dict[int, DeliveryOutcome] = {}
        self.created_personas: set[str] = set()  # SocialPersona ids this batch made: no earlier posts
        self.writer: Writer = Immediate(api)
        self._fenced_at: int | None = None  # ``api.sent_here`` right after the last fence

    # -- outcomes ------------------------------------------------------------------------------
    def _fail(self, work: _Item, result_or_text: dict[str, Any] | str, what: str) -> None:
        if isinstance(result_or_text, dict):
            code, text = record_error(result_or_text)
        else:
            code, text = "", result_or_text
        error = f"salesforce {what}: {text}"
        status: OutcomeStatus = "retry" if code in RETRIABLE_CODES else "failed"
        log.warning("delivery %s to salesforce: %s", work.item.delivery_id, error)
        self.outcomes[work.item.delivery_id] = DeliveryOutcome(work.item.delivery_id, status, error=error)

    def _done(self, work: _Item) -> bool:
        return work.item.delivery_id in self.outcomes

    def _fenced(self, work: list[_Item]) -> None:
        """Right before records are created: items whose lease another worker took over meanwhile
        are left to it (it looked them up after us and would create them too). Not asked again when
        this batch sent no request since the last fence (a batch of new authors: only local work
        in between, as between any fence and the request it guards): one writer transaction less."""
        open_ids = [w.item.delivery_id for w in work if not self._done(w)]
        if not open_ids or self._fenced_at == self.api.sent_here:
            return
        held = self.fence(open_ids)
        self._fenced_at = self.api.sent_here
        for w in work:
            if not self._done(w) and w.item.delivery_id not in held:
                self.outcomes[w.item.delivery_id] = DeliveryOutcome.lease_lost(w.item.delivery_id)

    # -- the batch -----------------------------------------------------------------------------
    def run(self, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        ordered = sorted(items, key=lambda i: (i.mention.created_at, i.delivery_id))
        in_batch = {i.mention.external_id for i in ordered}
        primaries: dict[Key, _Item] = {}
        aliases: list[tuple[DeliveryItem, Key]] = []
        for item in ordered:
            m = item.mention
            key = rec.post_key(m.network, m.external_id)
            if item.parent_state == DeliveryStatus.PENDING and m.parent_id and m.parent_id not in in_batch:
                # Our copy of the parent is still on its way: wait, so the reply joins its Case.
                self.outcomes[item.delivery_id] = DeliveryOutcome(
                    item.delivery_id, "wait_parent", error="parent not in Salesforce yet",
                    retry_after=PARENT_WAIT_SECONDS,
                )  # fmt: skip
            elif key in primaries:
                aliases.append((item, key))  # the same post twice in one batch: one record
            else:
                primaries[key] = _Item(
                    item, key, rec.persona_key(m.network, m.author.external_id),
                    rec.post_fields(m, item.labels, self.config),
                )
        work = list(primaries.values())
        found = Found.look_up(self.api, work)
        known_posts = found.posts
        for w in work:
            known = known_posts.get(w.key)
            if known:
                w.post_id = str(known["Id"])
        self._fenced(work)
        fresh = [w for w in work if w.post_id is None and not self._done(w)]
        missing = self._personas(fresh, found) if fresh else {}
        self._write(work, fresh, missing, known_posts)
        for item, key in aliases:
            first = self.outcomes[primaries[key].item.delivery_id]
            self.outcomes[item.delivery_id] = DeliveryOutcome(
                item.delivery_id, first.status, remote_id=first.remote_id, error=first.error,
                retry_after=first.retry_after,
            )  # fmt: skip
        return list(self.outcomes.values())

    # -- personas --------------------------------------------------------------------------------
    def _personas(self, fresh: list[_Item], found: Found) -> dict[Key, list[_Item]]:
        """The authors' SocialPersonas found by the look-ups; those still missing, by persona key."""
        personas = dict(found.personas)
        others = [w for w in fresh if w.persona_key[0] == "Other"]
        if others:
            self._adopt_unscoped(others, personas, found.unscoped)
        missing: dict[Key, list[_Item]] = {}
        for w in fresh:
            persona = personas.get(w.persona_key)
            if persona is not None:
                w.persona_id, w.parent_id = str(persona["Id"]), str(persona["ParentId"])
            else:
                missing.setdefault(w.persona_key, []).append(w)
        return missing

    def _adopt_unscoped(self, others: list[_Item], personas: dict[Key, dict[str, Any]],
                        rows: list[dict[str, Any]]) -> None:  # fmt: skip
        """Personas with Provider "Other" made before R6SourceId was written (or by an admin by hand)
        carry only the raw ExternalId. One is taken when it can only be this author's (its
        MediaProvider, if set, names the author's network) and gets R6SourceId + MediaProvider, so the
        next look-up is exact and the customer keeps one Contact."""
        missing = [w for w in others if w.persona_key not in personas]
        if not missing:
            return
        by_raw: dict[str, list[_Item]] = {}
        for w in missing:
            by_raw.setdefault(w.item.mention.author.external_id, []).append(w)
        adopted: dict[str, tuple[Key, str]] = {}  # persona Id -> (scoped key, network)
        for row in rows:
            networks = {w.item.mention.network for w in by_raw.get(str(row.get("ExternalId")), [])}
            media = row.get("MediaProvider")
            fitting = [n for n in networks if not media or media == rec.media_provider_of(n)]
            if len(fitting) != 1:
                continue  # none of this batch's authors, or two networks could own this raw id
            key = rec.persona_key(fitting[0], str(row["ExternalId"]))
            if key not in personas:
                personas[key] = row
                adopted[str(row["Id"])] = (key, fitting[0])
        if adopted:
            bodies = [
                {"attributes": {"type": "SocialPersona"}, "Id": pid, "R6SourceId": key[1],
                 "MediaProvider": rec.media_provider_of(network)}
                for pid, (key, network) in adopted.items()
            ]  # fmt: skip
            for result in self.api.collection("PATCH", bodies):  # now, whatever the writes do
                if not _ok(result):
                    # Still the right persona for this batch; the next batch simply adopts it again.
                    log.warning("salesforce could not scope SocialPersona: %s", record_error(result))

    # -- the writes ----------------------------------------------------------------------------
    def _write(self, work: list[_Item], fresh: list[_Item], missing: dict[Key, list[_Item]],
               known_posts: dict[Key, dict[str, Any]]) -> None:  # fmt: skip
        """Everything the batch creates or updates, in one Composite call when it can be
        (``plugin.salesforce.writes``); record by record when that call rolls back."""
        saved = (dict(self.outcomes), {id(w): (w.persona_id, w.parent_id, w.case) for w in work})
        deferred = Deferred()
        self._writes(work, fresh, missing, known_posts, deferred)
        ids = deferred.send(self.api) if deferred.steps and deferred.fits() else None
        if ids is not None or not deferred.steps:
            for delivery_id, outcome in self.outcomes.items():
                if outcome.remote_id in (ids or {}):
                    self.outcomes[delivery_id] = replace(outcome, remote_id=(ids or {})[outcome.remote_id])
            return
        # Nothing was written: the same decisions again, each set of records in its own call.
        self.outcomes, self.created_personas = saved[0], set()
        for w in work:
            w.persona_id, w.parent_id, w.case = saved[1][id(w)]
        self._writes(work, fresh, missing, known_posts, Immediate(self.api))

    def _writes(self, work: list[_Item], fresh: list[_Item], missing: dict[Key, list[_Item]],
                known_posts: dict[Key, dict[str, Any]], writer: Writer) -> None:  # fmt: skip
        self.writer = writer
        if missing:
            self._create_personas(missing)
        if fresh:
            self._cases([w for w in fresh if not self._done(w)], known_posts)
            self._fenced(work)
        self._write_posts(work)

    def _matched_parent(self, work: _Item) -> str | None:
        match = work.item.match
        if match is None or match.sink != "salesforce":
            return None
        return match.record_id if match.record_type.lower() in PARENT_TYPES else None

    def _create_personas(self, missing: dict[Key, list[_Item]]) -> None:
        groups = list(missing.values())
        parents: dict[int, str] = {}
        need_contact = []
        for index, group in enumerate(groups):
            matched = next((p for p in (self._matched_parent(w) for w in group) if p), None)
            if matched:
                parents[index] = matched
            else:
                need_contact.append(index)
        if need_contact:
            bodies = [
                {
                    "attributes": {"type": "Contact"},
                    **rec.contact_fields(groups[i][0].item.mention, self.default_account_id),
                }
                for i in need_contact
            ]
            contacts = self.writer.collection("POST", bodies, CONTACTS)
            for index, result in zip(need_contact, contacts, strict=True):
                if _ok(result):
                    parents[index] = str(result["id"])
                else:
                    for w in groups[index]:
                        self._fail(w, result, "could not create the author's Contact")
        ready = [i for i in range(len(groups)) if i in parents]
        bodies = [
            {"attributes": {"type": "SocialPersona"}, **rec.persona_fields(groups[i][0].item.mention),
             "ParentId": parents[i]}
            for i in ready
        ]  # fmt: skip
        for index, result in zip(ready, self.writer.collection("POST", bodies) if bodies else [], strict=True):
            for w in groups[index]:
                if _ok(result):
                    w.persona_id, w.parent_id = str(result["id"]), parents[index]
                    self.created_personas.add(w.persona_id)
                else:
                    self._fail(w, result, "could not create the SocialPersona")

    # -- the Case ------------------------------------------------------------------------------
    def _cases(self, fresh: list[_Item], known_posts: dict[Key, dict[str, Any]]) -> None:
        # A persona made by this very batch has no posts yet to give a Case: only the others are
        # looked up (a batch of new customers saves a call, 50 ms or more, on its way to the CRM).
        persona_ids = sorted({w.persona_id for w in fresh if w.persona_id} - self.created_personas)
        latest: dict[tuple[str, str, str], str] = {}  # (persona, provider, recipient) -> Case id
        if persona_ids:
            rows = self.api.query_in(
                "SELECT Id, PersonaId, Provider, Recipient, ParentId, Posted FROM SocialPost "
                "WHERE PersonaId IN ({values}) AND IsOutbound = false AND ParentId != null "
                "ORDER BY Posted DESC, CreatedDate DESC",
                persona_ids,
            )
            for row in rows:
                key = (str(row["PersonaId"]), str(row.get("Provider") or ""), str(row.get("Recipient") or ""))
                latest.setdefault(key, str(row["ParentId"]))
        # Candidate Case of each post, before knowing whether it is open.
        candidates: dict[int, str] = {}
        for w in fresh:
            m = w.item.mention
            parent = known_posts.get(rec.post_key(m.network, m.parent_id)) if m.parent_id else None
            ours_or_own = parent is not None and (parent.get("IsOutbound") or parent.get("PersonaId") == w.persona_id)
            if parent and parent.get("ParentId") and ours_or_own:
                candidates[w.item.delivery_id] = str(parent["ParentId"])
            else:
                found = latest.get((w.persona_id or "", w.key[0], str(w.fields.get("Recipient") or "")))
                if found:
                    candidates[w.item.delivery_id] = found
        cases = {
            str(row["Id"]): row
            for row in self.api.query_in(
                "SELECT Id, IsClosed, ClosedDate, Status FROM Case WHERE Id IN ({values})", list(candidates.values())
            )
        } if candidates else {}  # fmt: skip
        self._choose(fresh, candidates, cases)

    def _choose(self, fresh: list[_Item], candidates: dict[int, str], cases: dict[str, dict[str, Any]]) -> None:
        cutoff = self.now - timedelta(days=self.reopen_days)
        new_cases: list[_NewCase] = []
        reopen: dict[str, list[_Item]] = {}
        by_post: dict[str, CaseRef] = {}  # in-batch external id -> its Case
        by_thread: dict[tuple[str, str, str], CaseRef] = {}  # in-batch (persona, provider, recipient)
        for w in fresh:
            if self._done(w):
                continue
            m = w.item.mention
            thread_key = (w.persona_id or "", w.key[0], str(w.fields.get("Recipient") or ""))
            ref: CaseRef | None = by_post.get(m.parent_id) if m.parent_id else None
            ref = ref or by_thread.get(thread_key)
            candidate: dict[str, Any] | None = cases.get(candidates.get(w.item.delivery_id, ""))
            if ref is None and candidate is not None:
                case_id = str(candidate["Id"])
                closed_at = parse_sf_datetime(candidate.get("ClosedDate"))
                if not candidate.get("IsClosed"):
                    ref = ("id", case_id)
                elif closed_at is not None and closed_at >= cutoff:
                    ref = ("id", case_id)
                    reopen.setdefault(case_id, []).append(w)
            if ref is None:
                fields = rec.case_fields(m, w.item.labels, self.config)
                if w.parent_id and (w.parent_id.startswith(CONTACT_PREFIX) or is_new_contact(w.parent_id)):
                    fields["ContactId"] = w.parent_id
                elif w.parent_id and w.parent_id.startswith(ACCOUNT_PREFIX):
                    fields["AccountId"] = w.parent_id
                new_cases.append(_NewCase(fields))
                ref = ("new", str(len(new_cases) - 1))
            if ref[0] == "new":
                new_cases[int(ref[1])].members.append(w)
            w.case = ref
            by_post[m.external_id] = ref
            by_thread[thread_key] = ref
        self._write_cases(new_cases, reopen)

    def _write_cases(self, new_cases: list[_NewCase], reopen: dict[str, list[_Item]]) -> None:
        if new_cases:
            bodies = [{"attributes": {"type": "Case"}, **c.fields} for c in new_cases]
            for case, result in zip(new_cases, self.writer.collection("POST", bodies), strict=True):
                if _ok(result):
                    case.id = str(result["id"])
                else:
                    for w in case.members:
                        self._fail(w, result, "could not create the Case")
        if reopen:
            ids = list(reopen)
            status = casestatus.reopen_status(self.api, self.config)
            bodies = [{"attributes": {"type": "Case"}, "Id": cid, "Status": status} for cid in ids]
            for case_id, result in zip(ids, self.writer.collection("PATCH", bodies), strict=True):
                if not _ok(result):
                    for w in reopen[case_id]:
                        self._fail(w, result, f"could not reopen Case {case_id}")
        for case in new_cases:
            for w in case.members:
                if case.id:
                    w.case = ("id", case.id)

    # -- the posts -----------------------------------------------------------------------------
    def _write_posts(self, work: list[_Item]) -> None:
        creates = [w for w in work if w.post_id is None and not self._done(w)]
        updates = [w for w in work if w.post_id is not None and not self._done(w)]
        bodies = []
        for w in creates:
            body = {"attributes": {"type": "SocialPost"}, **w.fields, "PersonaId": w.persona_id, "WhoId": w.parent_id}
            if w.case and w.case[0] == "id":
                body["ParentId"] = w.case[1]
            bodies.append(body)
        for w, result in zip(creates, self.writer.collection("POST", bodies) if bodies else [], strict=True):
            if _ok(result):
                self.outcomes[w.item.delivery_id] = DeliveryOutcome(
                    w.item.delivery_id, "delivered", remote_id=str(result["id"])
                )
            else:
                self._fail(w, result, "could not create the SocialPost")
        # A post seen again (re-delivery, edit): refresh its content on the one record, never a second.
        patch = [
            {"attributes": {"type": "SocialPost"}, "Id": w.post_id,
             **{k: v for k, v in w.fields.items() if k not in ("IsOutbound", "Provider", "ExternalPostId")}}
            for w in updates
        ]  # fmt: skip
        for w, result in zip(updates, self.writer.collection("PATCH", patch) if patch else [], strict=True):
            if _ok(result):
                self.outcomes[w.item.delivery_id] = DeliveryOutcome(
                    w.item.delivery_id, "delivered", remote_id=w.post_id
                )
            else:
                self._fail(w, result, "could not update the SocialPost")
