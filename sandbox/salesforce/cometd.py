"""The Streaming API endpoint ``/cometd/<version>``: Bayeux over long polling (Streaming API Developer
Guide, "How the Client Connects", "Handling Streaming API Errors", "Streaming API Error Codes").

A request is a JSON array of Bayeux messages; the answer is a JSON array (HTTP 200 even for a refused
message: the error is in the message). ``/meta/handshake`` needs ``Authorization: OAuth|Bearer
<session>`` and answers a ``clientId`` plus the ``BAYEUX_BROWSER`` cookie every later request must
carry; ``/meta/subscribe`` takes the replay extension ``ext.replay = {channel: replayId}``;
``/meta/connect`` is the long poll (advice ``timeout`` 110000 ms, ``reconnect: retry``);
``/meta/disconnect`` ends the client. A client the server no longer knows gets ``403::Unknown client``
with ``advice.reconnect = handshake``; a session that is no longer valid gets ``401::Authentication
invalid`` with ``reconnect = none``; a channel that does not exist (an entity not selected for Change
Data Capture) gets ``400::The channel you requested to subscribe to does not exist``.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from .changes import ChangeFeed, StreamClient
from .models import SalesforceState
from .wire import json_body

COOKIE = "BAYEUX_BROWSER"
MIN_VERSION = 23.0  # "Only API versions '23.0' and above are supported"
CDC_MIN_VERSION = 44.0  # Change Data Capture events: API 44.0 and later


def _reply(message: dict[str, Any], successful: bool, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"channel": message.get("channel"), "successful": successful, **extra}
    if "id" in message:
        out["id"] = message["id"]
    return out


def _bad_request(text: str) -> Response:
    return json_body([{"error": text, "successful": False}], 400)


class StreamingHandlers:
    """Mixin of ``Handlers``: the Bayeux endpoint (dispatched without the REST session check: a long
    poll must not hold the state lock, and Bayeux reports refusals inside its messages)."""

    state: SalesforceState

    @property
    def feed(self) -> ChangeFeed:
        return self.state.changes

    def do_cometd(self, request: Request, version: str) -> Response:
        try:
            number = float(version)
        except ValueError:
            return _bad_request("400::API version in the URI is mandatory. URI format: '/cometd/62.0'")
        if number < MIN_VERSION:
            return _bad_request("400::Unsupported API version. Only API versions '23.0' and above are supported.")
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return _bad_request("400::Invalid JSON in the request body")
        messages = body if isinstance(body, list) else [body]
        if not messages or not all(isinstance(m, dict) and isinstance(m.get("channel"), str) for m in messages):
            return _bad_request("400::Every Bayeux message needs a channel")
        answers: list[dict[str, Any]] = []
        cookie: str | None = None
        for message in messages:
            channel = message["channel"]
            if channel == "/meta/handshake":
                answer, cookie = self._handshake(request, message)
                answers.append(answer)
                continue
            client = self.feed.client(str(message.get("clientId", "")))
            if client is None:
                answers.append(_reply(message, False, error="403::Unknown client",
                                      advice={"reconnect": "handshake", "interval": 0}))  # fmt: skip
                continue
            if request.cookies.get(COOKIE) != client.id:
                answers.append(_reply(message, False, error=f"400::Client {client.id} has established a session, "
                                      f"but no {COOKIE} cookie present"))  # fmt: skip
                continue
            if self.state.session_for(client.token) is None:
                self.feed.disconnect(client.id)
                answers.append(_reply(message, False, clientId=client.id, error="401::Authentication invalid",
                                      advice={"reconnect": "none", "interval": 0}))  # fmt: skip
                continue
            if channel == "/meta/connect":
                answers.extend(self._connect(message, client))
            elif channel == "/meta/subscribe":
                answers.append(self._subscribe(message, client, number))
            elif channel == "/meta/unsubscribe":
                self.feed.unsubscribe(client, str(message.get("subscription", "")))
                answers.append(_reply(message, True, clientId=client.id, subscription=message.get("subscription")))
            elif channel == "/meta/disconnect":
                self.feed.disconnect(client.id)
                answers.append(_reply(message, True, clientId=client.id))
            else:
                answers.append(_reply(message, False, clientId=client.id, error=f"403::Publish denied {channel}"))
        response = json_body(answers)
        if cookie is not None:
            response.set_cookie(COOKIE, cookie, httponly=True, secure=True)
        return response

    def _handshake(self, request: Request, message: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        session = self.state.session_for(token) if scheme.lower() in ("oauth", "bearer") and token else None
        if session is None:
            reason = "401::Authentication invalid" if token else "401::Request requires authentication"
            return _reply(message, False, error="403::Handshake denied", advice={"reconnect": "none"},
                          ext={"sfdc": {"failureReason": reason}}), None  # fmt: skip
        if session.org_id in self.feed.streaming_off:
            return _reply(message, False, error="403::Handshake denied", advice={"reconnect": "none"},
                          ext={"sfdc": {"failureReason": "403::API_DISABLED_FOR_ORG Streaming API"}}), None  # fmt: skip
        types = message.get("supportedConnectionTypes") or []
        if "long-polling" not in types:
            return _reply(message, False, error=f"400::Invalid connection type {types}"), None
        client: StreamClient = self.feed.handshake(session.org_id, token)
        answer = _reply(message, True, clientId=client.id, version="1.0", minimumVersion="1.0",
                        supportedConnectionTypes=["long-polling"],
                        ext={"replay": True, "payload.format": True})  # fmt: skip
        return answer, client.id

    def _subscribe(self, message: dict[str, Any], client: StreamClient, version: float) -> dict[str, Any]:
        channel = message.get("subscription")
        base = {"clientId": client.id, "subscription": channel}
        if not isinstance(channel, str) or not channel:
            return _reply(message, False, error="400::Channel name not specified", **base)
        if not channel.startswith("/"):
            return _reply(message, False, error="400::Channel subscriptions must start with a leading '/'", **base)
        if version < CDC_MIN_VERSION or not self.feed.channel_exists(client.org_id, channel):
            error = f"400::The channel you requested to subscribe to does not exist {{{channel}}}"
            return _reply(message, False, error=error, **base)
        replay_ext = ((message.get("ext") or {}).get("replay") or {}) if isinstance(message.get("ext"), dict) else {}
        wanted = replay_ext.get(channel, -1) if isinstance(replay_ext, dict) else -1
        if isinstance(wanted, bool) or not isinstance(wanted, int):
            wanted = -999  # not a number: refused below like any invalid replayId
        refused = self.feed.subscribe(client, channel, wanted)
        if refused is not None:
            return _reply(message, False, error=refused, **base)
        return _reply(message, True, **base)

    def _connect(self, message: dict[str, Any], client: StreamClient) -> list[dict[str, Any]]:
        if message.get("connectionType") != "long-polling":
            return [_reply(message, False, clientId=client.id,
                           error=f"400::Invalid connection type {message.get('connectionType')}")]  # fmt: skip
        advice = {"reconnect": "retry", "interval": 0, "timeout": int(self.feed.connect_timeout * 1000)}
        events = self.feed.connect(client)
        if events is None:  # dropped while waiting
            return [_reply(message, False, error="403::Unknown client",
                           advice={"reconnect": "handshake", "interval": 0})]  # fmt: skip
        return [*(e.message() for e in events), _reply(message, True, clientId=client.id, advice=advice)]
