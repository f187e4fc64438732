"""A customer's satisfaction answer on the Salesforce Case (``SalesforceSink.record_rating``).

The conversation's record in Salesforce is its inbound SocialPost; its ParentId is the Case. The
answer becomes an internal CaseComment (IsPublished = false: never shown to the customer) and, when
the connection names one (``csat_field``, e.g. a custom number field ``CSAT__c`` on Case), that field.
A negative answer (1-2) on a closed Case reopens it with the org's default open status (or the
connection's ``reopen_status``), as the default inbound social handler reopens a Case; an open Case
stays with its owner, who sees the comment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plugin.errors import FatalError, RetriableError
from plugin.salesforce import casestatus
from plugin.salesforce.api import RETRIABLE_CODES, SalesforceApi, record_error
from plugin.sink import Rating

COMMENT_BODY_MAX = 4000
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,38}__c$")  # a custom field's API name


def csat_field(config: Mapping[str, Any]) -> str | None:
    name = str(config.get("csat_field") or "").strip()
    if not name:
        return None
    if not _FIELD.match(name):
        raise FatalError(f"csat_field {name!r} is not a custom field API name (e.g. CSAT__c)")
    return name


def _saved(results: list[dict[str, Any]], what: str) -> None:
    for result in results:
        if result.get("success"):
            continue
        code, text = record_error(result)
        if code in RETRIABLE_CODES:
            raise RetriableError(f"salesforce {what}: {text}")
        raise FatalError(f"salesforce {what}: {text}", code=code)


def record(api: SalesforceApi, config: Mapping[str, Any], rating: Rating) -> str:
    posts = api.query_in("SELECT Id, ParentId FROM SocialPost WHERE Id IN ({values})", [rating.ticket])
    case_id = str(posts[0].get("ParentId") or "") if posts else ""
    if not case_id:
        raise FatalError(f"SocialPost {rating.ticket} is gone or has no Case: nowhere to record the rating")
    cases = api.query_in("SELECT Id, CaseNumber, IsClosed, Status FROM Case WHERE Id IN ({values})", [case_id])
    if not cases:
        raise FatalError(f"the Case {case_id} of SocialPost {rating.ticket} is gone")
    case = cases[0]
    comment = {"attributes": {"type": "CaseComment"}, "ParentId": case_id, "IsPublished": False,
               "CommentBody": rating.note[:COMMENT_BODY_MAX]}  # fmt: skip
    _saved(api.collection("POST", [comment]), "CaseComment")
    done = [f"case {case.get('CaseNumber') or case_id}: internal comment"]
    update: dict[str, Any] = {}
    field = csat_field(config)
    if field:
        update[field] = rating.rating
        done.append(f"{field} = {rating.rating}")
    if rating.negative and case.get("IsClosed"):
        update["Status"] = casestatus.reopen_status(api, config)
        done.append(f"reopened (Status {update['Status']})")
    if update:
        _saved(api.collection("PATCH", [{"attributes": {"type": "Case"}, "Id": case_id, **update}]), "Case update")
    return ", ".join(done)
