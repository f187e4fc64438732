"""State of the fake Salesforce: orgs, users, connected apps, sessions, records, API usage.

Everything a test or the demo needs to arrange or inspect is a method here; the HTTP handlers in
``responses.py`` and the ``/_sandbox`` control endpoints call the same methods.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.base import FakeBackend

from . import casestatus, ids
from .changes import ChangeFeed
from .exceptions import SalesforceError, entity_deleted, not_found
from .records import check_field_value, check_reference_shape, resolve_fields, to_json
from .schema import FieldDef, SObjectSchema, standard_schemas

DEFAULT_API_LIMIT = 15000  # Developer Edition's daily allocation; configurable per org.
SESSION_TTL = timedelta(hours=2)  # default org session timeout


@dataclass
class User:
    id: str
    org_id: str
    username: str
    password: str = field(repr=False)
    security_token: str = field(default="", repr=False)
    email: str = ""


@dataclass
class ConnectedApp:
    org_id: str
    consumer_key: str
    consumer_secret: str = field(default="", repr=False)
    public_key_pem: bytes | None = field(default=None, repr=False)
    # Usernames pre-authorized for the JWT bearer flow (None = every user of the org).
    preauthorized: set[str] | None = None
    name: str = "horseshoe"
    callback_urls: set[str] = field(default_factory=set)  # the web server flow's allowed redirect URIs


@dataclass
class Session:
    token: str = field(repr=False)
    org_id: str
    user_id: str
    issued: datetime
    consumer_key: str | None = None
    expired: bool = False


@dataclass
class DuplicateRule:
    """Matches records of ``sobject`` whose ``fields`` all equal (case-insensitively) a new record's."""

    sobject: str
    fields: list[str]
    name: str
    # "alert": saved only with Sforce-Duplicate-Rule-Header allowSave=true; "block": never saved.
    action: str = "alert"
    error_message: str = "You're creating a duplicate record. We recommend you use an existing record instead."
    active: bool = True


@dataclass
class StoredRecord:
    sobject: str
    values: dict[str, Any]

    @property
    def deleted(self) -> bool:
        return bool(self.values.get("IsDeleted"))


@dataclass
class Checkpoint:
    """A transaction's starting point (``SalesforceState.checkpoint``)."""

    records: dict[str, tuple[StoredRecord, dict[str, Any]]]
    id_counters: Counter[str]
    case_number: int
    case_status_ids: list[str]
    events: int  # the change feed's transaction mark


@dataclass
class Org:
    id: str
    name: str
    schemas: dict[str, SObjectSchema]
    api_limit: int = DEFAULT_API_LIMIT
    api_used: int = 0
    features: set[str] = field(default_factory=lambda: {"social"})
    records: dict[str, StoredRecord] = field(default_factory=dict)
    id_counters: Counter[str] = field(default_factory=Counter)
    case_number: int = 1000
    duplicate_rules: list[DuplicateRule] = field(default_factory=list)
    # Records another transaction holds (a bulk job, a trigger running long): writing one, or a record
    # that looks one up, fails with UNABLE_TO_LOCK_ROW, one record at a time (``lock_rows``).
    locked: set[str] = field(default_factory=set)
    # The CaseStatus records' ids, in order (``casestatus.seed``; an API insert adds its own).
    case_status_ids: list[str] = field(default_factory=list)

    def visible_schemas(self) -> dict[str, SObjectSchema]:
        """Objects that exist in this org (SocialPost/SocialPersona need Social Customer Service)."""
        return {n: s for n, s in self.schemas.items() if s.feature is None or s.feature in self.features}

    def schema(self, name: str) -> SObjectSchema | None:
        for candidate_name, schema in self.visible_schemas().items():
            if candidate_name.lower() == name.lower():
                return schema
        return None

    def prefixes(self) -> dict[str, str]:
        return {s.key_prefix: s.name for s in self.visible_schemas().values()}


@dataclass
class WriteOptions:
    allow_save_duplicates: bool = False


class SalesforceState(FakeBackend):
    """All fake orgs. Thread-safe: one lock guards every mutation (the WSGI server is threaded)."""

    def __init__(self, clock: Callable[[], datetime] | None = None):
        super().__init__()
        self._initial_clock = clock
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.orgs: dict[str, Org] = {}
        self.users: dict[str, User] = {}  # by lower-cased username
        self.apps: dict[str, ConnectedApp] = {}  # by consumer key
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (user id, consumer key)
        self.auth_codes: dict[str, dict[str, Any]] = {}  # web server flow codes (webflow.py), single-use
        self.cursors: dict[str, tuple[str, list[dict[str, Any]], int]] = {}
        self.calls: Counter[str] = Counter()
        self.session_ttl = SESSION_TTL
        self._org_seq = 0
        self._user_seq = 0
        self._cursor_seq = 0
        self.changes = ChangeFeed(lambda: self.clock())  # Change Data Capture (changes.py)

    # -- arrangement -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (orgs, users, sessions, calls); the clock goes back to the one given at start."""
        with self.lock:
            self.__init__(self._initial_clock)  # type: ignore[misc]

    def create_org(self, name: str = "Sandbox Org", *, api_limit: int = DEFAULT_API_LIMIT,
                   social_enabled: bool = True) -> Org:  # fmt: skip
        with self.lock:
            self._org_seq += 1
            org = Org(ids.make_id("00D", self._org_seq), name, standard_schemas(), api_limit=api_limit)
            if not social_enabled:
                org.features.discard("social")
            casestatus.seed(org)
            self.orgs[org.id] = org
            return org

    def default_org(self) -> Org:
        with self.lock:
            if not self.orgs:
                return self.create_org()
            return next(iter(self.orgs.values()))

    def org(self, org_id: str | None = None) -> Org:
        if org_id is None:
            return self.default_org()
        try:
            return self.orgs[org_id]
        except KeyError:
            raise KeyError(f"no org {org_id}") from None

    def create_user(self, username: str, password: str, security_token: str = "", *,
                    org_id: str | None = None, email: str = "") -> User:  # fmt: skip
        with self.lock:
            org = self.org(org_id)
            self._user_seq += 1
            user = User(ids.make_id("005", self._user_seq), org.id, username, password, security_token,
                        email or username)  # fmt: skip
            self.users[username.lower()] = user
            org.records[user.id] = StoredRecord("User", {
                "Id": user.id, "Username": username, "Name": username, "Email": user.email,
                "IsActive": True, "IsDeleted": False, **self._stamps(user.id, created=True),
            })  # fmt: skip
            return user

    def register_app(self, consumer_key: str, consumer_secret: str = "", *, public_key_pem: bytes | None = None,
                     org_id: str | None = None, preauthorized: set[str] | None = None) -> ConnectedApp:  # fmt: skip
        with self.lock:
            app = ConnectedApp(self.org(org_id).id, consumer_key, consumer_secret, public_key_pem, preauthorized)
            self.apps[consumer_key] = app
            return app

    def issue_refresh_token(self, username: str, consumer_key: str) -> str:
        """What a user's approval in the web-server flow would leave behind (for refresh tests)."""
        with self.lock:
            user = self.users[username.lower()]
            token = "5Aep" + secrets.token_urlsafe(32)
            self.refresh_tokens[token] = (user.id, consumer_key)
            return token

    def add_field(self, sobject: str, fd: FieldDef, *, org_id: str | None = None) -> None:
        """Add a (custom) field, e.g. an External ID ``Horseshoe_Key__c`` for upserts."""
        with self.lock:
            schema = self.org(org_id).schemas[sobject]
            schema.fields[fd.name] = fd

    def set_picklist(self, sobject: str, field_name: str, values: list[str], *, restricted: bool,
                     org_id: str | None = None) -> None:  # fmt: skip
        with self.lock:
            fd = self.org(org_id).schemas[sobject].fields[field_name]
            fd.picklist = list(values)
            fd.restricted = restricted

    def add_duplicate_rule(self, rule: DuplicateRule, *, org_id: str | None = None) -> None:
        with self.lock:
            self.org(org_id).duplicate_rules.append(rule)

    def lock_rows(self, record_ids: list[str], *, org_id: str | None = None) -> None:
        """Hold these records as another transaction would until ``unlock_rows``."""
        with self.lock:
            self.org(org_id).locked.update(ids.normalize(i) or i for i in record_ids)

    def unlock_rows(self, *, org_id: str | None = None) -> None:
        with self.lock:
            self.org(org_id).locked.clear()

    def set_social_enabled(self, enabled: bool, *, org_id: str | None = None) -> None:
        with self.lock:
            features = self.org(org_id).features
            if enabled:
                features.add("social")
            else:
                features.discard("social")

    def set_api_limit(self, limit: int, *, used: int | None = None, org_id: str | None = None) -> None:
        with self.lock:
            org = self.org(org_id)
            org.api_limit = limit
            if used is not None:
                org.api_used = used

    def expire_sessions(self, *, org_id: str | None = None) -> int:
        with self.lock:
            count = 0
            for session in self.sessions.values():
                if org_id is None or session.org_id == org_id:
                    session.expired = True
                    count += 1
            return count

    # -- sessions --------------------------------------------------------------------------------
    def open_session(self, user: User, consumer_key: str | None = None) -> Session:
        with self.lock:
            # Salesforce session ids start with the org id and a "!"; the rest is opaque.
            token = f"{user.org_id[:15]}!{secrets.token_urlsafe(48)}"
            session = Session(token, user.org_id, user.id, self.clock(), consumer_key)
            self.sessions[token] = session
            return session

    def session_for(self, token: str) -> Session | None:
        with self.lock:
            session = self.sessions.get(token)
            if session is None or session.expired:
                return None
            if self.clock() - session.issued > self.session_ttl:
                session.expired = True
                return None
            return session

    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    # -- API usage -------------------------------------------------------------------------------
    def count_call(self, key: str) -> None:
        with self.lock:
            self.calls[key] += 1

    def consume_api_call(self, org: Org) -> bool:
        """Count one API request against the org's daily limit; False when the limit is used up."""
        with self.lock:
            if org.api_used >= org.api_limit:
                return False
            org.api_used += 1
            return True

    # -- reads -----------------------------------------------------------------------------------
    def get_record(self, org: Org, record_id: str, *, include_deleted: bool = False) -> StoredRecord | None:
        normalized = ids.normalize(record_id)
        if normalized is None:
            return None
        rec = org.records.get(normalized)
        if rec is None or (rec.deleted and not include_deleted):
            return None
        if org.schema(rec.sobject) is None:
            return None  # the object's feature is switched off
        return rec

    def records(self, sobject: str, *, org_id: str | None = None, include_deleted: bool = False
                ) -> list[dict[str, Any]]:  # fmt: skip
        """Stored records of one object as JSON-ready dicts (for tests and the demo)."""
        with self.lock:
            org = self.org(org_id)
            return [
                {k: to_json(v) for k, v in r.values.items()}
                for r in org.records.values()
                if r.sobject == sobject and (include_deleted or not r.deleted)
            ]

    # -- writes ----------------------------------------------------------------------------------
    def _stamps(self, user_id: str, *, created: bool) -> dict[str, Any]:
        now = self.clock()
        stamps: dict[str, Any] = {"LastModifiedDate": now, "LastModifiedById": user_id, "SystemModstamp": now}
        if created:
            stamps.update({"CreatedDate": now, "CreatedById": user_id})
        return stamps

    def _check_values(self, org: Org, schema: SObjectSchema, values: dict[str, Any], record_id: str | None
                      ) -> None:  # fmt: skip
        for name, value in list(values.items()):
            fd = schema.fields[name]
            check_field_value(fd, value)
            if fd.type == "reference" and value is not None:
                normalized = check_reference_shape(fd, value, org.prefixes())
                target = org.records.get(normalized)
                if target is None:
                    raise SalesforceError(
                        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                        f"insufficient access rights on cross-reference id: {value}",
                        fields=[],
                    )
                if target.deleted:
                    raise entity_deleted()
                values[name] = normalized

    def _check_locks(self, org: Org, schema: SObjectSchema, values: dict[str, Any], record_id: str | None) -> None:
        """Salesforce locks the record written and the records its lookups name (the parent Case of
        a SocialPost, say); one held elsewhere fails this record with UNABLE_TO_LOCK_ROW."""
        if not org.locked:
            return
        named = [record_id] + [
            values.get(fd.name) for fd in schema.fields.values() if fd.type == "reference" and fd.name in values
        ]
        held = [i for i in named if isinstance(i, str) and (ids.normalize(i) or i) in org.locked]
        if held:
            raise SalesforceError(
                "UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to this record or {len(held)} records: "
                + ", ".join(held), fields=[],
            )  # fmt: skip

    def _check_duplicates(self, org: Org, schema: SObjectSchema, merged: dict[str, Any],
                          record_id: str | None, options: WriteOptions) -> None:  # fmt: skip
        for rule in org.duplicate_rules:
            if not rule.active or rule.sobject != schema.name:
                continue
            wanted = [merged.get(f) for f in rule.fields]
            if any(v is None for v in wanted):
                continue
            matches = [
                r for rid, r in org.records.items()
                if r.sobject == schema.name and not r.deleted and rid != record_id
                and all(_same(r.values.get(f), v) for f, v in zip(rule.fields, wanted, strict=True))
            ]  # fmt: skip
            if not matches:
                continue
            if rule.action == "alert" and options.allow_save_duplicates:
                continue
            raise duplicates_detected(rule, schema.name, [m.values["Id"] for m in matches])

    def insert(self, org: Org, sobject: str, body: dict[str, Any], user_id: str,
               options: WriteOptions | None = None) -> str:  # fmt: skip
        options = options or WriteOptions()
        with self.lock:
            schema = self._schema_or_error(org, sobject)
            values = resolve_fields(schema, body, creating=True)
            for fd in schema.fields.values():
                if fd.defaulted and fd.default is not None and values.get(fd.name) is None:
                    values[fd.name] = fd.default
            if "OwnerId" in schema.fields and values.get("OwnerId") is None:
                values["OwnerId"] = user_id
            missing = [fd.name for fd in schema.fields.values() if fd.required and values.get(fd.name) in (None, "")]
            if missing:
                raise SalesforceError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", fields=missing
                )
            self._check_values(org, schema, values, None)
            self._check_locks(org, schema, values, None)
            self._check_duplicates(org, schema, values, None, options)
            org.id_counters[schema.key_prefix] += 1
            record_id = ids.make_id(schema.key_prefix, org.id_counters[schema.key_prefix])
            values.update({"Id": record_id, "IsDeleted": False, **self._stamps(user_id, created=True)})
            self._derive(org, schema, values, creating=True)
            org.records[record_id] = StoredRecord(schema.name, values)
            if schema.name == "CaseStatus":
                org.case_status_ids.append(record_id)
            self.changes.record(org.id, schema.name, "CREATE", record_id, values, user_id)
            return record_id

    def update(self, org: Org, sobject: str | None, record_id: str, body: dict[str, Any], user_id: str,
               options: WriteOptions | None = None) -> str:  # fmt: skip
        options = options or WriteOptions()
        with self.lock:
            rec = self._existing(org, sobject, record_id)
            schema = self._schema_or_error(org, rec.sobject)
            values = resolve_fields(schema, body, creating=False)
            for name, value in values.items():
                if value in (None, "") and schema.fields[name].required:
                    raise SalesforceError(
                        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", fields=[name]
                    )
            self._check_values(org, schema, values, rec.values["Id"])
            self._check_locks(org, schema, values, str(rec.values["Id"]))
            merged = {**rec.values, **values}
            self._check_duplicates(org, schema, merged, rec.values["Id"], options)
            merged.update(self._stamps(user_id, created=False))
            self._derive(org, schema, merged, creating=False)
            changed = sorted(k for k in {*values, "LastModifiedDate"} if rec.values.get(k) != merged.get(k))
            rec.values = merged
            self.changes.record(org.id, schema.name, "UPDATE", merged["Id"], merged, user_id, changed)
            return str(rec.values["Id"])

    def delete(self, org: Org, sobject: str | None, record_id: str, user_id: str) -> str:
        with self.lock:
            rec = self._existing(org, sobject, record_id)
            # A new dict, never an in-place change: a checkpoint keeps the old one (``checkpoint``).
            rec.values = {**rec.values, "IsDeleted": True, **self._stamps(user_id, created=False)}
            self.changes.record(org.id, rec.sobject, "DELETE", rec.values["Id"], {}, user_id)
            return str(rec.values["Id"])

    def find_by_field(self, org: Org, sobject: str, fd: FieldDef, value: str) -> list[StoredRecord]:
        with self.lock:
            if fd.type in ("id", "reference"):
                normalized = ids.normalize(value)
                if normalized is None:
                    return []
                value = normalized
            return [
                r for r in org.records.values()
                if r.sobject == sobject and not r.deleted and _same(r.values.get(fd.name), value)
            ]  # fmt: skip

    def _existing(self, org: Org, sobject: str | None, record_id: str) -> StoredRecord:
        normalized = ids.normalize(record_id)
        if normalized is None:
            raise SalesforceError("MALFORMED_ID", f"malformed id {record_id}", fields=["Id"])
        rec = org.records.get(normalized)
        if rec is None or org.schema(rec.sobject) is None:
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[], status=404)
        if sobject is not None and rec.sobject.lower() != sobject.lower():
            raise not_found()
        if rec.deleted:
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", fields=[], status=404)
        return rec

    def _schema_or_error(self, org: Org, sobject: str) -> SObjectSchema:
        schema = org.schema(sobject)
        if schema is None:
            raise SalesforceError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.", status=404)
        return schema

    def _derive(self, org: Org, schema: SObjectSchema, values: dict[str, Any], *, creating: bool) -> None:
        """System-computed fields (Name on Contact/Lead, CaseNumber, IsClosed/ClosedDate on Case)."""
        if schema.name in ("Contact", "Lead"):
            values["Name"] = " ".join(p for p in (values.get("FirstName"), values.get("LastName")) if p)
        if schema.name == "Case":
            if creating:
                org.case_number += 1
                values["CaseNumber"] = f"{org.case_number:08d}"
            closed = values.get("Status") in casestatus.closed_labels(org)
            if closed and not values.get("IsClosed"):
                values["ClosedDate"] = self.clock()
            values["IsClosed"] = closed
            if not closed:
                values["ClosedDate"] = None

    # -- transactions (allOrNone) ----------------------------------------------------------------
    def checkpoint(self, org: Org) -> Checkpoint:
        """What a rollback goes back to. Cheap (no record is copied): writes replace a record's
        ``values`` dict instead of changing it, so keeping each record's current dict is enough. The
        change events of the transaction are held until it ends (``changes.begin``): a rolled-back
        write publishes nothing, as in Salesforce, where change events follow the commit."""
        values = {k: (v, v.values) for k, v in org.records.items()}
        return Checkpoint(values, Counter(org.id_counters), org.case_number, list(org.case_status_ids),
                          self.changes.begin())  # fmt: skip

    def restore(self, org: Org, snap: Checkpoint) -> None:
        for rec, values in snap.records.values():
            rec.values = values
        org.records = {k: rec for k, (rec, _) in snap.records.items()}
        org.id_counters, org.case_number, org.case_status_ids = snap.id_counters, snap.case_number, snap.case_status_ids
        self.changes.end(snap.events, commit=False)

    def commit(self, snap: Checkpoint) -> None:
        """The transaction begun by ``checkpoint`` is kept: its change events are published."""
        self.changes.end(snap.events, commit=True)

    # -- query cursors ---------------------------------------------------------------------------
    def store_cursor(self, org: Org, rows: list[dict[str, Any]], batch: int) -> str:
        with self.lock:
            self._cursor_seq += 1
            locator = ids.make_id("01g", self._cursor_seq)[:15]
            self.cursors[locator] = (org.id, rows, batch)
            return locator

    def cursor(self, locator: str) -> tuple[str, list[dict[str, Any]], int] | None:
        return self.cursors.get(locator)


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, str) and isinstance(wanted, str):
        return stored.lower() == wanted.lower()
    return bool(stored == wanted)


def duplicates_detected(rule: DuplicateRule, sobject: str, match_ids: list[str]) -> SalesforceError:
    """DUPLICATES_DETECTED with the duplicateResult the REST API attaches (DuplicateResult object)."""
    match_records = [
        {
            "additionalInformation": [],
            "fieldDiffs": [],
            "matchConfidence": 100.0,
            "record": {"attributes": {"type": sobject}, "Id": rid},
        }
        for rid in match_ids
    ]
    result = {
        "allowSave": rule.action == "alert",
        "duplicateRule": rule.name,
        "duplicateRuleEntityType": sobject,
        "errorMessage": rule.error_message,
        "matchResults": [
            {
                "entityType": sobject,
                "errors": [],
                "matchEngine": "ExactMatchEngine",
                "matchRecords": match_records,
                "rule": f"{rule.name}_Match",
                "size": len(match_records),
                "success": True,
            }
        ],
    }
    return SalesforceError("DUPLICATES_DETECTED", rule.error_message, fields=[], extra={"duplicateResult": result})
