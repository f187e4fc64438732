"""Record writes of the fake Salesforce: the checks Salesforce makes (required fields, references, row
locks, duplicate rules), derived fields, and allOrNone transactions."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .. import casestatus, ids
from ..exceptions import SalesforceError, entity_deleted, not_found
from ..records import check_field_value, check_reference_shape, resolve_fields
from ..schema import FieldDef, SObjectSchema
from .core import StateCore
from .entities import Checkpoint, DuplicateRule, Org, StoredRecord, WriteOptions


class WritesState(StateCore):
    """Inserts, updates and deletes as the REST API makes them, and the transactions around them."""

    # -- writes ----------------------------------------------------------------------------------
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
