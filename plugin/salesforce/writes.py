"""How a batch's records are written: all in one Composite call, or one sObject Collections call at a time.

``InboundBatch`` decides what to create (Contacts, SocialPersonas, Cases, SocialPosts) and hands each
set of records to a writer. ``Deferred`` does not send them: it answers with references to the records
it will create (``@{contacts[2].id}``, Composite's reference notation), which the later records carry
as their ParentId / PersonaId / ContactId, and ``send`` then writes everything in ONE Composite call
(REST API Developer Guide, "Send Multiple Requests Using Composite"): each set is an sObject
Collections subrequest, the creates chained by those references, under ``allOrNone: true`` ("the entire
composite request is rolled back" when a subrequest fails; it "also applies to each of the sObject
Collections subrequests"). So a batch of new customers costs one write call instead of four dependent
ones, and its records exist all together or not at all: a call cut off mid-way leaves no Contact without
its SocialPersona, and the retried batch finds everything by its external ids.

When the Composite call rolls back (a record refused: a validation rule, a lock, a duplicate rule),
the batch writes again through ``Immediate`` (today's calls, ``allOrNone: false``), which tells each
delivery its own record's fate. A batch needing more than Composite allows (more than 5 sObject
Collections subrequests, or more than 200 records in one set) goes through ``Immediate`` directly.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from plugin.errors import RetriableError
from plugin.salesforce.api import MAX_COLLECTION, MAX_COMPOSITE_HEAVY, SalesforceApi, error_parts

log = logging.getLogger(__name__)

CONTACTS = "contacts"  # referenceId of the new Contacts: a reference into it names a Contact


def reference(step: str, index: int) -> str:
    return f"@{{{step}[{index}].id}}"


def is_new_contact(record_id: str) -> bool:
    """A Contact this batch creates (its id is still a reference into the Contacts subrequest)."""
    return record_id.startswith(reference(CONTACTS, 0).partition("[")[0] + "[")


class Writer(Protocol):
    def collection(self, method: str, records: list[dict[str, Any]], name: str = "") -> list[dict[str, Any]]:
        """Create (POST) or update (PATCH) ``records``; one result per record, in order."""
        ...


class Immediate:
    """Each set of records in its own sObject Collections call(s), at once."""

    def __init__(self, api: SalesforceApi):
        self.api = api

    def collection(self, method: str, records: list[dict[str, Any]], name: str = "") -> list[dict[str, Any]]:
        return self.api.collection(method, records)


class Deferred:
    """Collects the sets of records; ``send`` writes them in one Composite call."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str, list[dict[str, Any]]]] = []  # (referenceId, method, records)

    def collection(self, method: str, records: list[dict[str, Any]], name: str = "") -> list[dict[str, Any]]:
        step = name or f"w{len(self.steps)}"
        self.steps.append((step, method, records))
        return [
            {"id": reference(step, i) if method == "POST" else record.get("Id"), "success": True, "errors": []}
            for i, record in enumerate(records)
        ]

    def fits(self) -> bool:
        return len(self.steps) <= MAX_COMPOSITE_HEAVY and all(len(r) <= MAX_COLLECTION for _, _, r in self.steps)

    def send(self, api: SalesforceApi) -> dict[str, str] | None:
        """Write every step in one call. Returns each reference's real record id, or None when
        Salesforce rolled the call back (nothing was written)."""
        subrequests = [
            {"method": method, "url": "composite/sobjects", "referenceId": step,
             "body": {"allOrNone": True, "records": records}}
            for step, method, records in self.steps
        ]  # fmt: skip
        results = api.composite(subrequests, all_or_none=True)
        failed = [r for r in results if not 200 <= int(r.get("httpStatusCode") or 0) < 300]
        if failed:
            cause = next((r for r in failed if error_parts(r.get("body"))[0] != "PROCESSING_HALTED"), failed[0])
            log.info("salesforce composite write rolled back (%s: %s); writing record by record",
                     cause.get("referenceId"), _reason(cause.get("body")))  # fmt: skip
            return None
        ids: dict[str, str] = {}
        for (step, method, records), result in zip(self.steps, results, strict=True):
            body = result.get("body")
            if not isinstance(body, list) or len(body) != len(records):
                raise RetriableError("salesforce composite answer does not match the records sent")
            if method == "POST":
                ids.update({reference(step, i): str(r["id"]) for i, r in enumerate(body)})
        return ids


def _reason(body: Any) -> str:
    """The first failed record's error inside a collection result, else the subrequest's error."""
    if isinstance(body, list) and body and isinstance(body[0], dict) and "success" in body[0]:
        failed: dict[str, Any] = next((r for r in body if not r.get("success")), {})
        errors = failed.get("errors") or [{}]
        return f"{errors[0].get('statusCode', 'UNKNOWN')}: {errors[0].get('message', '')}"
    code, message = error_parts(body)
    return f"{code}: {message}"
