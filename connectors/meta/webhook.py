"""Meta webhook authenticity and the entry walker Facebook, Messenger and Instagram share.

* the ``hub.challenge`` subscription handshake and ``X-Hub-Signature-256`` (``sha256=`` + hex
  HMAC-SHA256 of the raw body keyed with the app secret), per Meta's "Getting started with Webhooks";
* ``entries`` / ``changes``: the entries of a body that belong to one account, validated against the
  documented shapes (``models.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin.connector import AccountContext, Connector, InboundRequest, WebhookResult, expiry_time, item_boundary
from plugin.errors import BadInput
from plugin.http import header

from .connect import MetaConnect
from .credentials import APP_ID, APP_SECRET, DATA_ACCESS_EXPIRES_AT, EXPIRES_AT, PAGE_ID, VERIFY_TOKEN
from .fields import as_dict, id_str, to_datetime
from .models import Entry as EntryShape
from .models import WebhookBody, parse

SIGNATURE_HEADER = "X-Hub-Signature-256"
# The webhook objects these connectors read: Pages (Facebook, Messenger) and Instagram accounts. A Meta
# app's one callback URL (``webhook_app``) receives both, and the host hands each body to every account
# of the app: a body of the other object is then simply not this account's.
META_OBJECTS = ("page", "instagram")


def sign_body(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def is_handshake(request: InboundRequest) -> bool:
    return request.method.upper() == "GET"


def verify_meta_request(request: InboundRequest, secrets: Mapping[str, str]) -> bool:
    """True for a subscription GET with the right verify token, or a POST with a valid signature."""
    if is_handshake(request):
        expected = secrets.get(VERIFY_TOKEN) or ""
        given = request.query.get("hub.verify_token") or ""
        return (
            request.query.get("hub.mode") == "subscribe"
            and bool(expected)
            and "hub.challenge" in request.query
            and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
        )
    if request.method.upper() != "POST":
        return False
    secret = secrets.get(APP_SECRET) or ""
    signature = header(request.headers, SIGNATURE_HEADER) or ""
    if not secret or not signature.startswith("sha256="):
        return False
    return hmac.compare_digest(signature.encode("utf-8"), sign_body(secret, request.body).encode("utf-8"))


def handshake_result(request: InboundRequest) -> WebhookResult:
    """Answer a (verified) subscription GET: echo ``hub.challenge`` as plain text."""
    challenge = request.query.get("hub.challenge")
    if challenge is None:
        raise BadInput("missing hub.challenge")
    return WebhookResult(handshake=(200, "text/plain", challenge))


def load_body(request: InboundRequest) -> Any:
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"webhook body is not JSON: {exc}") from exc


class MetaWebhookConnector(Connector):
    """What Facebook, Messenger and Instagram share: one app secret signs every webhook, one
    ``hub.challenge`` handshake, and the account's own id (``account_key`` in the secrets) picks the
    entries of a body that belong to it."""

    account_key: str = PAGE_ID

    def connect_flow(self) -> MetaConnect:
        return MetaConnect()

    def webhook_key(self, account: AccountContext) -> str | None:
        """The Page a ``page`` webhook body is about: ``page_id``, else the account id."""
        return account.credentials.get(PAGE_ID) or account.external_id

    def webhook_app(self, account: AccountContext) -> str | None:
        """A Meta app has one callback URL: accounts connected with the app's id share it."""
        return account.credentials.get(APP_ID) or None

    def token_expires_at(self, account: AccountContext) -> datetime | None:
        """The earlier of the Page token's expiry and its data-access expiry, where known (None: never).

        Page tokens from Facebook Login with a long-lived user token never expire (``expires_at`` 0),
        but the app's data access does, 90 days after the admin last logged in to it: the account then
        needs the admin to connect it again, so that is when the token stops being useful. Neither can
        be renewed without the admin (``refresh_credentials`` stays None): health, doctor and the admin
        page show it, and ``plugin/expiry.py`` tells the admin ahead of it."""
        found = [
            when
            for key in (EXPIRES_AT, DATA_ACCESS_EXPIRES_AT)
            if (when := expiry_time(account.credentials.get(key))) is not None
        ]
        return min(found, default=None)

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        return verify_meta_request(request, secrets)

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        if is_handshake(request):
            return handshake_result(request)
        return WebhookResult(mentions=self.parse_payload(load_body(request), secrets.get(self.account_key)))


@dataclass(frozen=True)
class Entry:
    """One ``entry`` of a webhook body that belongs to the account."""

    id: str
    changes: Any  # as sent: read with ``changes`` (each change on its own)
    messaging: Any  # as sent: read with ``parts(entry, "messaging")``
    where: str
    time: datetime | None
    object: str = ""
    raw_time: Any = None  # ``time`` as sent, for a one-item body

    def body_with(self, *, change: tuple[Any, Any] | None = None, messaging: Any = None) -> dict[str, Any]:
        """A webhook body holding only this entry and one of its changes or messaging events: what the
        quarantine keeps, and what ``explain_payload`` reads again on a retry."""
        entry: dict[str, Any] = {"id": self.id}
        if self.raw_time is not None:
            entry["time"] = self.raw_time
        if change is not None:
            entry["changes"] = [{"field": change[0], "value": change[1]}]
        if messaging is not None:
            entry["messaging"] = [messaging]
        return {"object": self.object, "entry": [entry]}


def entries(payload: Any, expected_object: str, account: str | None) -> Iterator[Entry]:
    """The entries of a webhook body for ``account`` (all when None); BadInput names the path at fault.
    For an account, a body of the app's other object (``META_OBJECTS``) has no entries, as another
    Page's entry is left out; an object no Meta connector reads is refused.

    Each entry is validated on its own: one malformed entry is quarantined (inside the host's scope),
    the others are read."""
    raw = as_dict(payload, "body")
    sent = raw.get("object")
    if sent != expected_object:
        if account is not None and isinstance(sent, str) and sent in META_OBJECTS:
            return  # the app's other object (a Page's body for an Instagram account): nothing of ours
        raise BadInput(f"body.object: expected {expected_object!r}")
    body = parse(WebhookBody, raw, "body")
    for index, raw_entry in enumerate(body.entry or []):
        where = f"entry[{index}]"
        claimed = raw_entry.get("id") if isinstance(raw_entry, dict) else None
        if account is not None and isinstance(claimed, str | int) and _same_id(claimed, account) is False:
            continue  # another Page's or account's entry: not ours to read or to quarantine
        entry: EntryShape | None = None
        with item_boundary(where, {"object": expected_object, "entry": [raw_entry]}):
            entry = parse(EntryShape, raw_entry, where)
        if entry is None or (account is not None and entry.id != account):
            continue
        yield Entry(
            id=entry.id,
            changes=entry.changes,
            messaging=entry.messaging,
            where=where,
            time=_entry_time(entry.time, where),
            object=expected_object,
            raw_time=entry.time,
        )


def _same_id(claimed: str | int, account: str) -> bool | None:
    """Whether an entry's ``id`` as sent names ``account``; None when it is no id at all (the entry is
    then refused as one item by the parse below rather than silently left out)."""
    try:
        return id_str(claimed, "id") == account
    except BadInput:
        return None


def _entry_time(value: Any, where: str) -> datetime | None:
    """``entry.time`` (when Meta sent it), or None when absent or unreadable: it only stands in for
    items without a time of their own, and those fail alone (their quarantined body keeps it as sent)."""
    if value is None:
        return None
    try:
        return to_datetime(value, f"{where}.time")
    except BadInput:
        return None


def parts(entry: Entry, name: str, *, refuse: bool = True) -> Iterator[tuple[int, Any]]:
    """(index, item) of the entry's ``changes`` or ``messaging`` list; a value that is no list is
    refused as one item (quarantined inside the host's scope), so the entry's other part still flows.
    ``refuse=False``: a second pass over the same list, which must not quarantine it twice."""
    raw = entry.changes if name == "changes" else entry.messaging
    if raw is None:
        return
    if not isinstance(raw, list):
        if not refuse:
            return
        body = {"object": entry.object, "entry": [{"id": entry.id, name: raw}]}
        with item_boundary(f"{entry.where}.{name}", body):
            raise BadInput(f"{entry.where}.{name} must be a JSON array, got {type(raw).__name__}")
        return
    yield from enumerate(raw)


def changes(entry: Entry, fields: tuple[str, ...], *, refuse: bool = True) -> Iterator[tuple[Any, str, dict[str, Any]]]:
    """(value as sent, where, a body with only this change) of the entry's ``changes`` whose field is one
    of ``fields``. The caller reads the value inside ``item_boundary(where, body)``; a change that is
    not an object is refused here as one item (``refuse=False`` on a second pass: skipped)."""
    for index, change in parts(entry, "changes", refuse=refuse):
        where = f"{entry.where}.changes[{index}]"
        if not isinstance(change, dict):
            if not refuse:
                continue
            with item_boundary(where, {"object": entry.object, "entry": [{"id": entry.id, "changes": [change]}]}):
                raise BadInput(f"{where} must be a JSON object, got {type(change).__name__}")
            continue
        field, value = change.get("field"), change.get("value")
        if isinstance(field, str) and field in fields:
            yield value, f"{where}.value", entry.body_with(change=(field, value))
