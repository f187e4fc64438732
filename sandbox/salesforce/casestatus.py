"""The org's CaseStatus records: which Case.Status values exist, which one is the default, which close.

Salesforce keeps these as query-only records (Object Reference "CaseStatus"); the default inbound social
handler reads ``SELECT MasterLabel FROM CaseStatus WHERE IsDefault = true`` to reopen a Case, so the fake
serves them as records and derives Case.IsClosed from them, as a real org does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ids
from .schema import DEFAULT_CASE_STATUSES

if TYPE_CHECKING:
    from .models import Org, StoredRecord


def seed(org: Org, statuses: list[tuple[str, bool, bool]] | None = None) -> None:
    """Replace the org's CaseStatus records by ``(MasterLabel, IsDefault, IsClosed)`` rows, in order,
    and make Case.Status the matching picklist (default = the IsDefault row)."""
    from .models import StoredRecord  # models imports this module at org creation

    rows = DEFAULT_CASE_STATUSES if statuses is None else statuses
    for record_id in [rid for rid, r in org.records.items() if r.sobject == "CaseStatus"]:
        del org.records[record_id]
    org.case_status_ids = []
    for order, (label, is_default, is_closed) in enumerate(rows, start=1):
        org.id_counters["01J"] += 1
        record_id = ids.make_id("01J", org.id_counters["01J"])
        org.records[record_id] = StoredRecord("CaseStatus", {
            "Id": record_id, "IsDeleted": False, "MasterLabel": label, "ApiName": label, "SortOrder": order,
            "IsDefault": is_default, "IsClosed": is_closed,
        })  # fmt: skip
        org.case_status_ids.append(record_id)
    status = org.schemas["Case"].fields["Status"]
    status.picklist = [label for label, _, _ in rows]
    status.default = next((label for label, is_default, _ in rows if is_default), None)


def closed_labels(org: Org) -> set[str]:
    return {str(r.values["MasterLabel"]) for r in _rows(org) if r.values.get("IsClosed")}


def _rows(org: Org) -> list[StoredRecord]:
    # By id, not by reading every record of the org: each Case written asks (closed_labels), and an
    # org holding a drained backlog has hundreds of thousands of records.
    found = (org.records.get(record_id) for record_id in org.case_status_ids)
    return [r for r in found if r is not None and r.sobject == "CaseStatus" and not r.deleted]
