"""Salesforce sink: mentions become SocialPosts on Cases and Contacts; agents' replies are published.

Connection config (the sink connection's ``config``, stored encrypted by the host):

* auth: ``auth`` = "password" | "jwt" | "session" and its keys (see plugin/salesforce_connect.py);
  ``domain`` / ``login_url`` / ``ca_bundle`` / ``api_version`` / ``timeout``;
* inbound: ``default_account_id`` (Account of new Contacts), ``reopen_days`` (default 5),
  ``reopen_status`` (default: the org's default open CaseStatus), ``case_origin`` (one Origin for all)
  or ``case_origins``
  ({network or Provider: Origin}; default: the Provider, which the org's Case.Origin picklist must
  contain);
* budget: ``max_api_share`` (default 0.8 of the daily API allocation), ``limit_wait_seconds`` (wait
  when over it; default: until the next UTC day);
* publisher: ``status_values`` ({pending, sent, failed} overrides of mappings/salesforce.yaml),
  ``reply_poll_seconds`` (read by the host);
* change stream: ``reply_stream`` (default true), ``stream_channel`` (plugin/salesforce/stream.py),
  ``reply_poll_seconds_streaming`` (the safety-net poll while the stream is healthy, read by the host).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import datetime
from typing import Any

import pluggy

from plugin.errors import AuthError, FatalError, RetriableError
from plugin.pipeline import notices
from plugin.salesforce import notes as case_notes
from plugin.salesforce import publisher, ratings
from plugin.salesforce.api import DEFAULT_MAX_API_SHARE, MAX_COLLECTION, SalesforceApi
from plugin.salesforce.connect import parse_config
from plugin.salesforce.inbound import InboundBatch
from plugin.salesforce.oauth import SalesforceConnect
from plugin.salesforce.records import listening_classification
from plugin.salesforce.resolutions import read_closed
from plugin.salesforce.stream import SalesforceReplyStream
from plugin.sink import (
    DeliveryItem,
    DeliveryOutcome,
    Rating,
    ReplyBatch,
    ReplyReport,
    ReplyStream,
    ResolutionBatch,
    Sink,
    SinkConnection,
)

log = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("horseshoe")

# Objects and fields the sink reads or writes ("doctor" checks each is there and usable).
REQUIRED_FIELDS: dict[str, list[str]] = {
    "SocialPost": [
        "Name", "Content", "Posted", "PostUrl", "Handle", "Provider", "MessageType", "ExternalPostId",
        "R6PostId", "ResponseContextExternalId", "Recipient", "PersonaId", "WhoId", "ParentId", "Sentiment",
        "Language", "IsOutbound", "Status", "StatusMessage", "ReplyToId", "Classification", "KeywordGroupName",
    ],
    "SocialPersona": [
        "Name", "ParentId", "Provider", "ExternalId", "RealName", "ProfileUrl", "ExternalPictureURL", "MediaProvider",
        "R6SourceId", "Bio",
    ],
    "Case": ["Subject", "Description", "Status", "Origin", "ContactId", "AccountId", "IsClosed", "ClosedDate"],
    "Contact": ["FirstName", "LastName", "AccountId"],
}  # fmt: skip
READ_ONLY = {"IsClosed", "ClosedDate"}


class SalesforceSink(Sink):
    name = "salesforce"
    display_name = "Salesforce (Social Customer Service)"
    max_batch = MAX_COLLECTION
    fences_writes = True  # inbound.py and notes.py ask the lease right before their writes

    def __init__(self) -> None:
        self._apis: dict[tuple[int, str], SalesforceApi] = {}
        self._lock = threading.Lock()

    def connect_flow(self) -> SalesforceConnect:
        return SalesforceConnect()

    def api(self, connection: SinkConnection) -> SalesforceApi:
        """One logged-in client per tenant and config (a new config logs in again)."""
        digest = hashlib.sha256(json.dumps(dict(connection.config), sort_keys=True, default=str).encode()).hexdigest()
        key = (connection.tenant_id, digest)
        with self._lock:
            api = self._apis.get(key)
            if api is None:
                config = connection.config
                wait = config.get("limit_wait_seconds")
                api = SalesforceApi(
                    parse_config(config),
                    max_api_share=float(config.get("max_api_share", DEFAULT_MAX_API_SHARE)),
                    limit_wait_seconds=float(wait) if wait is not None else None,
                )
                self._apis = {k: v for k, v in self._apis.items() if k[0] != connection.tenant_id}
                self._apis[key] = api
            return api

    def token_expires_at(self, connection: SinkConnection) -> datetime | None:
        """The current session's expiry, as token introspection said at login (oauth connections)."""
        return self.api(connection).session_expires_at

    def calls_for(self, connection: SinkConnection, items: list[DeliveryItem]) -> int:
        """A batch is one Composite call of look-ups and one of writes (``inbound.py``): a Composite
        call counts as one API request, whatever its subrequests. Returning customers add up to two
        dependent look-ups; the budget is settled with the requests really made."""
        return 2

    def deliver(self, connection: SinkConnection, items: list[DeliveryItem]) -> list[DeliveryOutcome]:
        if not items:
            return []
        api = self.api(connection)
        notes = [i for i in items if notices.is_notice(i.mention)]
        posts = [i for i in items if not notices.is_notice(i.mention)]
        outcomes = InboundBatch(api, connection.config, fence=connection.fence).run(posts) if posts else []
        return outcomes + case_notes.write(api, notes, connection.fence)

    def fetch_resolutions(
        self, connection: SinkConnection, cursor: str | None, open_tickets: list[str]
    ) -> ResolutionBatch | None:
        """Which of the still-open SocialPosts sit on a closed Case (batched SOQL, no cursor needed)."""
        return read_closed(self.api(connection), open_tickets)

    def record_rating(self, connection: SinkConnection, rating: Rating) -> str | None:
        return ratings.record(self.api(connection), connection.config, rating)

    def fetch_agent_replies(self, connection: SinkConnection, watermark: str | None) -> ReplyBatch:
        return publisher.fetch(self.api(connection), connection.config, watermark)

    def report_replies(self, connection: SinkConnection, reports: list[ReplyReport]) -> list[str]:
        return publisher.report(self.api(connection), connection.config, reports)

    def open_reply_stream(self, connection: SinkConnection, position: str | None) -> ReplyStream | None:
        """Change Data Capture of SocialPost over CometD (plugin/salesforce/stream.py); its own client
        (a long poll must not hold the one deliveries use), logged in on first use."""
        config = connection.config
        if not config.get("reply_stream", True):
            return None
        share = float(config.get("max_api_share", DEFAULT_MAX_API_SHARE))
        api = SalesforceApi(parse_config(config), max_api_share=share)
        return SalesforceReplyStream(api, config, position)

    def check(self, connection: SinkConnection) -> list[str]:
        try:
            api = self.api(connection)
            problems: list[str] = []
            for sobject, fields in REQUIRED_FIELDS.items():
                problems.extend(_check_object(api, sobject, fields))
            problems.extend(_check_listening_value(api, connection.config))
        except (AuthError, FatalError, RetriableError) as exc:
            code = getattr(exc, "code", None)
            return [f"salesforce: {exc}" + (f" [{code}]" if code and code not in str(exc) else "")]
        if api.usage is not None:
            used, limit = api.usage
            share = float(connection.config.get("max_api_share", DEFAULT_MAX_API_SHARE))
            if limit and used >= share * limit:
                problems.append(f"salesforce: API usage {used}/{limit} is over the configured share {share:.0%}")
        return problems


def _check_object(api: SalesforceApi, sobject: str, fields: list[str]) -> list[str]:
    try:
        described = api.describe(sobject)
    except AuthError:
        raise  # the login itself is refused: one problem, reported by check()
    except FatalError as exc:
        code = exc.code or "ERROR"
        hint = ""
        if sobject.startswith("Social"):
            hint = " (is Social Customer Service enabled, and may this user see the object?)"
        return [f"salesforce: {sobject} is not accessible: {code}{hint}: {exc}"]
    problems = []
    if not described.get("createable", True) and sobject != "Case":
        problems.append(f"salesforce: this user may not create {sobject} records (object permission)")
    by_name = {str(f.get("name")): f for f in described.get("fields", []) if isinstance(f, dict)}
    for name in fields:
        fd: dict[str, Any] | None = by_name.get(name)
        if fd is None:
            problems.append(f"salesforce: field {sobject}.{name} is missing or hidden (field-level security)")
        elif name not in READ_ONLY and not (fd.get("createable") or fd.get("updateable")):
            problems.append(f"salesforce: field {sobject}.{name} is read-only for this user (field-level security)")
    return problems


def _check_listening_value(api: SalesforceApi, config: Any) -> list[str]:
    """A restricted Classification picklist without the listening value would refuse listening hits."""
    value = listening_classification(config)
    try:
        described = api.describe("SocialPost")
    except FatalError:
        return []  # reported by _check_object
    fields = [f for f in described.get("fields", []) if isinstance(f, dict)]
    field = next((f for f in fields if f.get("name") == "Classification"), None)
    if not value or field is None or not field.get("restrictedPicklist"):
        return []
    if value in {str(v.get("value")) for v in field.get("picklistValues") or [] if isinstance(v, dict)}:
        return []
    return [f"salesforce: SocialPost.Classification is restricted and has no {value!r} value: add it (listening "
            "hits are classified with it) or set listening_classification to another value or to empty"]  # fmt: skip


@hookimpl
def horseshoe_register_sinks() -> list[Sink]:
    return [SalesforceSink()]
