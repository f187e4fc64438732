"""Pieces shared by the Facebook Pages, Messenger and Instagram connectors (all Meta Graph API).

* webhook authenticity: the ``hub.challenge`` subscription handshake and ``X-Hub-Signature-256``
  (``sha256=`` + hex HMAC-SHA256 of the raw body keyed with the app secret), per Meta's
  "Getting started with Webhooks";
* ``GraphClient``: a small ``requests`` client pinned to one Graph API version that sends the page
  token as a Bearer header (never in a URL, so it cannot reach an access log), adds
  ``appsecret_proof`` and translates Graph error objects into horseshoe's error taxonomy;
* usage headers (``X-App-Usage``, ``X-Page-Usage``, ``X-Business-Use-Case-Usage``) -> retry_after;
* the messaging-event parser (Messenger and Instagram Messaging share the ``messaging[]`` shape);
* the two-level poll sweep (parents newest-first -> children) used by every Meta ``poll``.

Credentials keys (``AccountContext.credentials`` / webhook ``secrets``), the same for the three networks:

``page_access_token``  Page access token (Instagram: the token of the Page linked to the IG account)
``app_secret``         App secret: verifies ``X-Hub-Signature-256`` and signs ``appsecret_proof``
``verify_token``       the string typed into the app dashboard, echoed back in the ``hub.challenge`` GET
``page_id``            the Facebook Page id (optional for facebook/messenger: defaults to the
                       account's ``external_id``; required for Instagram messaging/private replies)
``ig_user_id``         the Instagram professional account id (instagram; defaults to ``external_id``)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pydantic import ValidationError

from plugin.connector import AccountContext, Connector, InboundRequest, PollPage, WebhookResult
from plugin.errors import (
    AuthError,
    BadInput,
    FatalError,
    OutcomeUnknown,
    RateLimited,
    RetriableError,
)
from plugin.models import Attachment, Author, Kind, Mention, Visibility

# The one place the Graph API version is pinned. Payload shapes below follow this version.
GRAPH_VERSION = "v21.0"
DEFAULT_GRAPH_BASE = "https://graph.facebook.com"

# Credential keys (documented in the module docstring).
PAGE_ACCESS_TOKEN = "page_access_token"
APP_SECRET = "app_secret"
VERIFY_TOKEN = "verify_token"
PAGE_ID = "page_id"
IG_USER_ID = "ig_user_id"

SIGNATURE_HEADER = "X-Hub-Signature-256"

# Graph error codes, from "Graph API > Handling Errors" and "Rate Limits".
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80001, 80002, 80006})  # 8000x = BUC pages/IG/messenger
AUTH_CODES = frozenset({102, 190})  # session / access token expired, revoked or invalid
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})  # "API Unknown" / "API Service": temporary, retry
POLICY_BLOCK_CODE = 368  # "temporarily blocked for policies violations: wait and retry"
DUPLICATE_POST_CODE = 506
# Messenger Send API: "(#10) This message is sent outside of allowed window." (code 10, subcode 2018278)
OUTSIDE_WINDOW_SUBCODE = 2018278
# Private replies: "(#10900) Activity already replied to" (one private reply per comment).
ALREADY_REPLIED_CODE = 10900

DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds
POLICY_BLOCK_RETRY_SECONDS = 3600.0


# --------------------------------------------------------------------------------------------
# Webhook authenticity
# --------------------------------------------------------------------------------------------


def sign_body(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """``appsecret_proof``: hex HMAC-SHA256 of the access token keyed with the app secret."""
    return hmac.new(app_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


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
    signature = _header(request.headers, SIGNATURE_HEADER) or ""
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

    def verify_request(self, request: InboundRequest, secrets: Mapping[str, str]) -> bool:
        return verify_meta_request(request, secrets)

    def parse_webhook(self, request: InboundRequest, secrets: Mapping[str, str]) -> WebhookResult:
        if is_handshake(request):
            return handshake_result(request)
        return WebhookResult(mentions=self.parse_payload(load_body(request), secrets.get(self.account_key)))


# --------------------------------------------------------------------------------------------
# Defensive accessors: a signed body that is not shaped as Meta documents is BadInput, never a crash
# --------------------------------------------------------------------------------------------


def as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadInput(f"{where}: expected an object")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{where}: expected an array")
    return value


def id_str(value: Any, where: str) -> str:
    """Graph ids arrive as strings (sometimes numbers in old payloads); anything else is bad input."""
    if isinstance(value, bool) or value is None:
        raise BadInput(f"{where}: missing id")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    raise BadInput(f"{where}: expected an id string")


def opt_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{where}: expected a string")
    return value


def to_datetime(value: Any, where: str) -> datetime:
    """Graph times: unix seconds (feed webhooks), unix ms (messaging), or ISO ``2024-01-01T12:00:00+0000``."""
    if isinstance(value, bool):
        raise BadInput(f"{where}: bad time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise BadInput(f"{where}: bad time")
        seconds = value / 1000.0 if value > 100_000_000_000 else float(value)
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadInput(f"{where}: time out of range") from exc
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return to_datetime(int(text), where)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
            except ValueError as exc:
                raise BadInput(f"{where}: unparseable time {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise BadInput(f"{where}: missing time")


def graph_time(value: datetime) -> str:
    """Graph's own time format, e.g. ``2024-05-01T10:00:00+0000``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def build_mention(**fields: Any) -> Mention:
    """Construct a Mention; a value the model rejects (e.g. a 600-char id) is bad input, not a crash."""
    try:
        return Mention(**fields)
    except ValidationError as exc:
        raise BadInput(f"cannot normalize event: {exc.errors()[0].get('msg', 'invalid')}") from exc


# --------------------------------------------------------------------------------------------
# Messaging events (Messenger Platform ``messaging[]``; Instagram Messaging uses the same shape)
# --------------------------------------------------------------------------------------------


def _attachments(message: dict[str, Any], where: str) -> list[Attachment]:
    found: list[Attachment] = []
    for index, raw in enumerate(as_list(message.get("attachments"), f"{where}.attachments")):
        item = as_dict(raw, f"{where}.attachments[{index}]")
        payload = item.get("payload")
        url = payload.get("url") if isinstance(payload, dict) else None
        if isinstance(url, str) and url:
            kind = item.get("type")
            found.append(Attachment(url=url, type=kind if isinstance(kind, str) and kind else "file"))
    return found


def parse_messaging_event(
    network: str, account: str, raw: Any, where: str, *, entry_time: datetime | None
) -> Mention | None:
    """One ``messaging[]`` item -> Mention, or None for what is not a customer's message.

    Skipped (documented): echoes of our own messages (``is_echo`` or sender == our account),
    deliveries, reads, reactions, postbacks, referrals and optins. ``message_edit`` ->
    ``event="edited"``; an Instagram ``is_deleted`` (unsent) message -> ``event="deleted"``.
    thread_id is the customer's PSID/IGSID: one conversation per customer per account.
    """
    event = as_dict(raw, where)
    sender = id_str(as_dict(event.get("sender"), f"{where}.sender").get("id"), f"{where}.sender.id")
    if sender == account:
        return None  # the page/IG account itself (echo of our own send)
    when: Any = event.get("timestamp")
    created = to_datetime(when, f"{where}.timestamp") if when is not None else entry_time
    if created is None:
        raise BadInput(f"{where}: no timestamp")
    common: dict[str, Any] = {
        "network": network,
        "kind": Kind.DIRECT,
        "visibility": Visibility.PRIVATE,
        "thread_id": sender,
        "author": Author(external_id=sender),
        "created_at": created,
        "account": account,
    }
    if "message" in event:
        message = as_dict(event["message"], f"{where}.message")
        if message.get("is_echo") is True:
            return None
        mid = id_str(message.get("mid"), f"{where}.message.mid")
        reply_to = message.get("reply_to")
        parent = None
        if isinstance(reply_to, dict) and isinstance(reply_to.get("mid"), str):
            parent = reply_to["mid"]
        deleted = message.get("is_deleted") is True
        return build_mention(
            external_id=mid,
            parent_id=parent,
            text=opt_str(message.get("text"), f"{where}.message.text") or "",
            attachments=_attachments(message, f"{where}.message"),
            event="deleted" if deleted else "created",
            extra={"mid": mid, "recipient_id": sender},
            **common,
        )
    if "message_edit" in event:
        edit = as_dict(event["message_edit"], f"{where}.message_edit")
        mid = id_str(edit.get("mid"), f"{where}.message_edit.mid")
        return build_mention(
            external_id=mid,
            text=opt_str(edit.get("text"), f"{where}.message_edit.text") or "",
            event="edited",
            extra={"mid": mid, "recipient_id": sender, "num_edit": edit.get("num_edit")},
            **common,
        )
    return None  # delivery / read / reaction / postback / referral / optin: not a customer text


def parse_messaging_payload(network: str, payload: Any, expected_object: str, account: str | None) -> list[Mention]:
    """Every customer message in a webhook body of ``object == expected_object``."""
    body = as_dict(payload, "body")
    if body.get("object") != expected_object:
        raise BadInput(f"body.object: expected {expected_object!r}")
    mentions: list[Mention] = []
    for e_index, raw_entry in enumerate(as_list(body.get("entry"), "body.entry")):
        entry = as_dict(raw_entry, f"entry[{e_index}]")
        entry_account = id_str(entry.get("id"), f"entry[{e_index}].id")
        if account is not None and entry_account != account:
            continue
        entry_time = to_datetime(entry["time"], f"entry[{e_index}].time") if "time" in entry else None
        for m_index, raw in enumerate(as_list(entry.get("messaging"), f"entry[{e_index}].messaging")):
            mention = parse_messaging_event(
                network, entry_account, raw, f"entry[{e_index}].messaging[{m_index}]", entry_time=entry_time
            )
            if mention is not None:
                mentions.append(mention)
    return mentions


# --------------------------------------------------------------------------------------------
# Usage headers and error taxonomy
# --------------------------------------------------------------------------------------------


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    raw = _header(headers, name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None  # a garbled usage header gives no hint; the caller falls back to its default


def _regain_minutes(value: Any) -> float | None:
    if isinstance(value, dict):
        minutes = value.get("estimated_time_to_regain_access")
        if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
            return float(minutes)
    return None


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds until Meta lets us call again, from the usage headers (None when they do not say).

    ``X-Business-Use-Case-Usage`` is ``{"<object id>": [{"type", "call_count", "total_cputime",
    "total_time", "estimated_time_to_regain_access"}]}`` and ``X-Page-Usage``/``X-App-Usage`` are
    flat objects; ``estimated_time_to_regain_access`` is in minutes. ``Retry-After`` (seconds) wins
    over nothing but loses to the larger documented estimate.
    """
    minutes: list[float] = []
    buc = _json_header(headers, "X-Business-Use-Case-Usage")
    if isinstance(buc, dict):
        for entries in buc.values():
            for item in entries if isinstance(entries, list) else []:
                found = _regain_minutes(item)
                if found is not None:
                    minutes.append(found)
    for name in ("X-Page-Usage", "X-App-Usage", "X-Ad-Account-Usage"):
        found = _regain_minutes(_json_header(headers, name))
        if found is not None:
            minutes.append(found)
    seconds = [m * 60.0 for m in minutes]
    plain = _header(headers, "Retry-After")
    if plain and plain.strip().isdigit():
        seconds.append(float(plain.strip()))
    return max(seconds) if seconds else None


def usage_percent(headers: Mapping[str, str]) -> float | None:
    """The highest ``call_count``/``total_cputime``/``total_time`` percentage in the usage headers."""
    values: list[float] = []

    def collect(item: Any) -> None:
        if isinstance(item, dict):
            for key in ("call_count", "total_cputime", "total_time"):
                v = item.get(key)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    values.append(float(v))

    buc = _json_header(headers, "X-Business-Use-Case-Usage")
    if isinstance(buc, dict):
        for entries in buc.values():
            for item in entries if isinstance(entries, list) else []:
                collect(item)
    collect(_json_header(headers, "X-Page-Usage"))
    collect(_json_header(headers, "X-App-Usage"))
    return max(values) if values else None


@dataclass(frozen=True)
class GraphErrorInfo:
    status: int
    message: str
    type: str | None
    code: int | None
    subcode: int | None
    is_transient: bool
    fbtrace_id: str | None


def error_info(response: requests.Response) -> GraphErrorInfo:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphErrorInfo(response.status_code, f"HTTP {response.status_code}", None, None, None, False, None)

    def as_int(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    message = error.get("message")
    return GraphErrorInfo(
        status=response.status_code,
        message=message if isinstance(message, str) else f"HTTP {response.status_code}",
        type=error.get("type") if isinstance(error.get("type"), str) else None,
        code=as_int(error.get("code")),
        subcode=as_int(error.get("error_subcode")),
        is_transient=error.get("is_transient") is True,
        fbtrace_id=error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None,
    )


def raise_for_graph_error(response: requests.Response) -> None:
    """Translate a failed Graph response into RateLimited / RetriableError / AuthError / FatalError."""
    if response.status_code < 400:
        return
    info = error_info(response)
    text = f"{info.message} (code {info.code}, subcode {info.subcode}, fbtrace_id {info.fbtrace_id})"
    code = str(info.code) if info.code is not None else str(info.status)
    if info.status == 429 or info.code in RATE_LIMIT_CODES:
        raise RateLimited(text, retry_after=retry_after_from_headers(response.headers), code=code)
    if info.code == POLICY_BLOCK_CODE:
        # Meta: "Temporarily blocked for policies violations. Wait and retry the operation."
        hint = retry_after_from_headers(response.headers)
        raise RetriableError(text, retry_after=hint or POLICY_BLOCK_RETRY_SECONDS, code=code)
    if info.is_transient or info.code in TRANSIENT_CODES or info.status >= 500:
        raise RetriableError(text, retry_after=retry_after_from_headers(response.headers), code=code)
    if info.code == 10 and info.subcode == OUTSIDE_WINDOW_SUBCODE:
        raise FatalError(text, code="window_closed")
    if info.code == ALREADY_REPLIED_CODE:
        raise FatalError(text, code="already_replied")
    if info.code in AUTH_CODES or (info.type == "OAuthException" and info.code is None):
        raise AuthError(text, code=code)
    if info.code in PERMISSION_CODES:
        raise AuthError(text, code=code)
    if info.code == DUPLICATE_POST_CODE:
        raise FatalError(text, code="duplicate")
    if info.status in (401, 403):
        raise AuthError(text, code=code)
    raise FatalError(text, code=code)


# --------------------------------------------------------------------------------------------
# Graph HTTP client
# --------------------------------------------------------------------------------------------


class GraphClient:
    """Requests to one account's Graph API with the page token, ``appsecret_proof`` and error mapping."""

    def __init__(
        self,
        account: AccountContext,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        token = account.credentials.get(PAGE_ACCESS_TOKEN)
        if not token:
            raise AuthError(f"{account.network}: credential {PAGE_ACCESS_TOKEN!r} is missing", code="config")
        self._token = token
        self._secret = account.credentials.get(APP_SECRET) or None
        base = (account.api_base or DEFAULT_GRAPH_BASE).rstrip("/")
        self.base = f"{base}/{GRAPH_VERSION}"
        self._session = session or requests.Session()
        # Setting ``timeout_seconds`` bounds the read wait (tests and slow links); connect stays short.
        read = account.settings.get("timeout_seconds")
        if isinstance(read, int | float) and not isinstance(read, bool) and read > 0:
            timeout = (min(timeout[0], float(read)), float(read))
        self._timeout = timeout
        self.last_usage: float | None = None  # highest usage % seen in the last response headers

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"GraphClient(base={self.base!r})"

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = {k: v for k, v in (params or {}).items() if v is not None}
        if self._secret:
            merged["appsecret_proof"] = appsecret_proof(self._secret, self._token)
        return merged

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None, json_body: Any) -> Any:
        url = f"{self.base}/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            response = self._session.request(
                method,
                url,
                params=self._params(params),
                json=json_body,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.ConnectionError as exc:
            # Includes ConnectTimeout: the request never reached Meta, so a retry cannot double-post.
            raise RetriableError(f"Graph unreachable: {type(exc).__name__}", code="connection") from exc
        except requests.Timeout as exc:
            if method == "GET":
                raise RetriableError("Graph read timed out", code="timeout") from exc
            raise OutcomeUnknown(f"Graph {method} {path.split('?')[0]} timed out after sending") from exc
        self.last_usage = usage_percent(response.headers)
        raise_for_graph_error(response)
        try:
            return response.json()
        except ValueError as exc:
            if method == "GET":
                raise RetriableError("Graph answered with a non-JSON body", code="bad_body") from exc
            raise OutcomeUnknown("Graph answered a write with a non-JSON body") from exc

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params, json_body=None)

    def post(self, path: str, json_body: Mapping[str, Any]) -> Any:
        return self._send("POST", path, params=None, json_body=dict(json_body))


def page_of(data: Any, where: str) -> tuple[list[dict[str, Any]], str | None]:
    """``{"data": [...], "paging": {"cursors": {"after"}, "next"}}`` -> (items, after cursor or None).

    The cursor counts only while ``paging.next`` exists: Graph keeps ``cursors`` on the last page too.
    """
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise RetriableError(f"{where}: Graph answered without a data list", code="bad_body")
    items = [item for item in data["data"] if isinstance(item, dict)]
    raw_paging = data.get("paging")
    paging: dict[str, Any] = raw_paging if isinstance(raw_paging, dict) else {}
    after = None
    if paging.get("next"):
        cursors = paging.get("cursors")
        if isinstance(cursors, dict) and isinstance(cursors.get("after"), str):
            after = cursors["after"]
    return items, after


# --------------------------------------------------------------------------------------------
# Messaging window (Send API policy) shared by Messenger and Instagram
# --------------------------------------------------------------------------------------------

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)


def messaging_type_for(last_inbound: datetime | None, now: datetime, *, human_agent: bool) -> dict[str, str]:
    """RESPONSE inside 24 h, MESSAGE_TAG/HUMAN_AGENT up to 7 days, else FatalError(window_closed)."""
    if last_inbound is None:
        raise FatalError("the customer has not messaged this account: no messaging window", code="window_closed")
    age = now - last_inbound
    if age <= STANDARD_WINDOW:
        return {"messaging_type": "RESPONSE"}
    if human_agent and age <= HUMAN_AGENT_WINDOW:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    limit = "7 days (HUMAN_AGENT)" if human_agent else "24 hours"
    raise FatalError(f"last customer message is {age} old, beyond the {limit} messaging window", code="window_closed")


def last_inbound_time(client: GraphClient, page_id: str, platform: str, user_id: str) -> datetime | None:
    """Time of the customer's latest message to us, read from ``/{page-id}/conversations?user_id=``."""
    data = client.get(
        f"{page_id}/conversations",
        {
            "platform": platform,
            "user_id": user_id,
            "fields": "id,updated_time,messages.limit(25){id,from,created_time}",
        },
    )
    conversations, _ = page_of(data, "conversations")
    latest: datetime | None = None
    for conversation in conversations:
        messages = conversation.get("messages")
        for message in messages.get("data", []) if isinstance(messages, dict) else []:
            sender = message.get("from") if isinstance(message, dict) else None
            if isinstance(sender, dict) and str(sender.get("id")) == user_id and message.get("created_time"):
                when = to_datetime(message["created_time"], "message.created_time")
                latest = when if latest is None or when > latest else latest
    return latest


def send_message(
    client: GraphClient,
    page_id: str,
    recipient: dict[str, str],
    text: str,
    kind: dict[str, str],
    attachments: Iterable[Attachment] = (),
) -> str:
    """``POST /{page-id}/messages``; returns the ``message_id`` (mid). Attachments go as extra messages
    would double-send on a retry, so only the first attachment URL rides along when there is no text."""
    message: dict[str, Any] = {"text": text}
    body: dict[str, Any] = {"recipient": recipient, "message": message, **kind}
    files = list(attachments)
    if files and not text:
        body["message"] = {"attachment": {"type": files[0].type, "payload": {"url": files[0].url}}}
    result = client.post(f"{page_id}/messages", body)
    mid = result.get("message_id") if isinstance(result, dict) else None
    if not isinstance(mid, str) or not mid:
        raise OutcomeUnknown("Send API answered without a message_id")
    return mid


# --------------------------------------------------------------------------------------------
# Poll sweep: parents (posts, conversations, media; newest first) -> their children
# --------------------------------------------------------------------------------------------


@dataclass
class SweepCursor:
    """Opaque-to-the-host poll state (serialized as base64 JSON).

    ``since`` is the watermark of the previous finished sweep (unix seconds); ``hw`` the newest
    created time seen in the current sweep. A finished sweep advances ``since`` to ``hw``. Items at
    exactly ``since`` are emitted again on purpose: the inbox dedups by external_id, nothing is missed.
    """

    since: int
    hw: int
    parents_after: str | None = None
    parents_done: bool = False
    queue: list[str] = field(default_factory=list)
    child_after: str | None = None

    def encode(self) -> str:
        raw = json.dumps(self.__dict__, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @classmethod
    def decode(cls, value: str) -> SweepCursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(value.encode("ascii")))
            cursor = cls(
                since=int(data["since"]),
                hw=int(data["hw"]),
                parents_after=data.get("parents_after"),
                parents_done=bool(data.get("parents_done", False)),
                queue=[str(item) for item in data.get("queue", [])],
                child_after=data.get("child_after"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadInput(f"unreadable poll cursor: {exc}") from exc
        return cursor

    @classmethod
    def starting(cls, since: datetime) -> SweepCursor:
        ts = int(since.timestamp())
        return cls(since=ts, hw=ts)


@dataclass
class SweepSpec:
    """How one network walks its two levels.

    ``parents(after)`` -> (items, next after); ``parent_mentions(item)`` -> mentions for the parent
    itself; ``parent_time(item)`` -> the time used to stop walking (created/updated); ``wants_children``
    decides whether a parent's children are read; ``children(parent_id, after)`` -> (mentions, after).
    """

    parents: Callable[[str | None], tuple[list[dict[str, Any]], str | None]]
    parent_mentions: Callable[[dict[str, Any]], list[Mention]]
    parent_time: Callable[[dict[str, Any]], datetime]
    wants_children: Callable[[dict[str, Any], datetime], bool]
    children: Callable[[str, str | None], tuple[list[Mention], str | None]]
    lookback: timedelta


def initial_cursor(settings: Mapping[str, Any], now: datetime) -> SweepCursor:
    """Cursor None = start now, unless settings say ``backfill_since`` (ISO time) or ``backfill_hours``."""
    since = settings.get("backfill_since")
    if isinstance(since, str) and since:
        return SweepCursor.starting(to_datetime(since, "settings.backfill_since"))
    hours = settings.get("backfill_hours")
    if isinstance(hours, int | float) and not isinstance(hours, bool) and hours > 0:
        return SweepCursor.starting(now - timedelta(hours=float(hours)))
    return SweepCursor.starting(now)


def resume(settings: Mapping[str, Any], cursor: str | None) -> SweepCursor | PollPage:
    """The sweep cursor to continue from, or, for a first poll that starts now, the page to return
    (nothing yet, and the cursor that marks "now")."""
    if cursor is not None:
        return SweepCursor.decode(cursor)
    start = initial_cursor(settings, now_utc())
    if start.since >= int(now_utc().timestamp()) - 1:
        return PollPage(mentions=[], cursor=start.encode(), more=False)
    return start


@dataclass(frozen=True)
class Entry:
    """One ``entry`` of a webhook body that belongs to the account."""

    id: str
    raw: dict[str, Any]
    where: str
    time: datetime | None


def entries(payload: Any, expected_object: str, account: str | None) -> Iterator[Entry]:
    """The entries of a webhook body for ``account`` (all when None); BadInput names the path at fault."""
    body = as_dict(payload, "body")
    if body.get("object") != expected_object:
        raise BadInput(f"body.object: expected {expected_object!r}")
    for index, raw_entry in enumerate(as_list(body.get("entry"), "body.entry")):
        where = f"entry[{index}]"
        entry = as_dict(raw_entry, where)
        entry_id = id_str(entry.get("id"), f"{where}.id")
        if account is None or entry_id == account:
            when = to_datetime(entry["time"], f"{where}.time") if "time" in entry else None
            yield Entry(entry_id, entry, where, when)


def changes(entry: Entry, fields: tuple[str, ...]) -> Iterator[tuple[dict[str, Any], str]]:
    """(value, where) of the entry's ``changes`` whose field is one of ``fields``."""
    for index, raw_change in enumerate(as_list(entry.raw.get("changes"), f"{entry.where}.changes")):
        where = f"{entry.where}.changes[{index}]"
        change = as_dict(raw_change, where)
        if change.get("field") in fields:
            yield as_dict(change.get("value"), f"{where}.value"), f"{where}.value"


def run_sweep(spec: SweepSpec, cursor: SweepCursor) -> PollPage:
    """One step of a sweep: one Graph page of children, or one page of parents. ``more`` = call again."""
    since = datetime.fromtimestamp(cursor.since, tz=UTC)
    mentions: list[Mention] = []
    if cursor.queue:
        parent_id = cursor.queue[0]
        found, after = spec.children(parent_id, cursor.child_after)
        mentions = [m for m in found if m.created_at >= since]
        if after:
            cursor.child_after = after
        else:
            cursor.queue.pop(0)
            cursor.child_after = None
    elif not cursor.parents_done:
        items, after = spec.parents(cursor.parents_after)
        floor = since - spec.lookback
        reached_floor = False
        for item in items:
            when = spec.parent_time(item)
            if when < floor:
                reached_floor = True  # parents come newest first: everything further is older
                break
            mentions.extend(m for m in spec.parent_mentions(item) if m.created_at >= since)
            if spec.wants_children(item, since):
                cursor.queue.append(id_str(item.get("id"), "parent.id"))
        cursor.parents_after = after
        cursor.parents_done = reached_floor or after is None
    for mention in mentions:
        cursor.hw = max(cursor.hw, int(mention.created_at.timestamp()))
    if cursor.parents_done and not cursor.queue:
        finished = SweepCursor(since=cursor.hw, hw=cursor.hw)
        return PollPage(mentions=mentions, cursor=finished.encode(), more=False)
    return PollPage(mentions=mentions, cursor=cursor.encode(), more=True)


def now_utc() -> datetime:
    return datetime.now(tz=UTC)


def credential(account: AccountContext, key: str, default: str | None = None) -> str:
    value = account.credentials.get(key) or default
    if not value:
        raise AuthError(f"{account.network}: credential {key!r} is missing", code="config")
    return value
