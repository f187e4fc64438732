"""A small Bayeux (CometD) long-polling client for the Salesforce Streaming API.

Streaming API Developer Guide, "How the Client Connects": ``/meta/handshake`` (with the session in
``Authorization``; the answer sets the ``BAYEUX_BROWSER`` cookie, kept by the requests session), then
``/meta/subscribe`` with the replay extension (``ext.replay = {channel: replayId}``: -1 new events
only, -2 every retained event, else the events after that replayId), then ``/meta/connect`` again and
again: each is held by the server up to its ``advice.timeout`` (110 s) and answers the events that
arrived. Errors ("Handling Streaming API Errors"): ``403::Unknown client`` or ``advice.reconnect =
handshake`` -> handshake and subscribe again from the last replayId; ``401::Authentication invalid`` ->
log in again; a subscribe refused because the channel does not exist -> the org has not selected the
object for Change Data Capture (``StreamDenied``); an invalid replayId (older than the 72-hour
retention) -> subscribe for new events and report a gap, so the caller polls once.

No CometD library: the protocol subset is small, and this keeps the dependency list as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from plugin.errors import AuthError, FatalError, RetriableError

log = logging.getLogger(__name__)
NEW_ONLY = -1
DEFAULT_SERVER_TIMEOUT = 110.0  # seconds; the server's advice replaces it
READ_MARGIN = 30.0  # read timeout = the server's hold time plus this


class StreamDenied(FatalError):
    """The org does not offer this stream (not selected for Change Data Capture, or no Streaming API)."""


@dataclass
class Delivery:
    """What one ``connect`` brought: data messages of the channel, the newest replayId, and whether
    events may have been missed (replay position no longer retained, or a fresh subscription)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    replay_id: int | None = None
    gap: bool = False


class BayeuxClient:
    """One subscription to ``channel`` over long polling; ``poll`` does one ``/meta/connect``."""

    def __init__(self, session: requests.Session, endpoint: Callable[[], str], token: Callable[[bool], str],
                 channel: str, replay_id: int | None, connect_timeout: float = 30.0):  # fmt: skip
        self.session = session
        self.endpoint = endpoint  # https://<instance>/cometd/<version>
        self.token = token  # token(renew): the session id, a fresh one when renew is True
        self.channel = channel
        self.replay_id = replay_id
        self.connect_timeout = connect_timeout
        self.client_id: str | None = None
        self.server_timeout = DEFAULT_SERVER_TIMEOUT
        self.handshakes = 0
        self._renew_token = False
        self._message_id = 0
        self._gap = False  # the last subscribe could not resume: events may have been missed

    # -- wire ------------------------------------------------------------------------------------
    def _send(self, message: dict[str, Any], read_timeout: float) -> list[dict[str, Any]]:
        self._message_id += 1
        body = [{**message, "id": str(self._message_id)}]
        token = self.token(self._renew_token)
        self._renew_token = False
        headers = {"Authorization": f"OAuth {token}", "Content-Type": "application/json"}
        try:
            response = self.session.post(self.endpoint(), json=body, headers=headers,
                                         timeout=(self.connect_timeout, read_timeout))  # fmt: skip
        except requests.RequestException as exc:
            self.client_id = None  # the server may have forgotten us: start over
            raise RetriableError(f"salesforce streaming unreachable: {exc.__class__.__name__}") from exc
        if response.status_code == 401:
            self._renew_token = True
            self.client_id = None
            raise RetriableError("salesforce streaming: 401, the session is logged in again", code="401")
        if response.status_code >= 500 or response.status_code == 429:
            self.client_id = None
            raise RetriableError(f"salesforce streaming answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise RetriableError(f"salesforce streaming answered HTTP {response.status_code} without JSON") from None
        if response.status_code >= 400 or not isinstance(answer, list):
            first = answer[0] if isinstance(answer, list) and answer else answer
            text = first.get("error") if isinstance(first, dict) else first
            raise FatalError(f"salesforce streaming refused the request: {text}", code=str(response.status_code))
        return [m for m in answer if isinstance(m, dict)]

    @staticmethod
    def _meta(messages: list[dict[str, Any]], channel: str) -> dict[str, Any]:
        found = next((m for m in messages if m.get("channel") == channel), None)
        if found is None:
            raise RetriableError(f"salesforce streaming answered no {channel} message")
        return found

    # -- protocol --------------------------------------------------------------------------------
    def handshake(self) -> None:
        message = {"channel": "/meta/handshake", "version": "1.0", "minimumVersion": "1.0",
                   "supportedConnectionTypes": ["long-polling"]}  # fmt: skip
        answer = self._meta(self._send(message, self.connect_timeout), "/meta/handshake")
        self.handshakes += 1
        if not answer.get("successful"):
            reason = str(((answer.get("ext") or {}).get("sfdc") or {}).get("failureReason") or "")
            error = f"{answer.get('error')} {reason}".strip()
            if reason.startswith("401"):
                self._renew_token = True
                raise AuthError(f"salesforce streaming handshake denied: {error}", code="401")
            raise StreamDenied(f"salesforce streaming handshake denied: {error}", code="HANDSHAKE_DENIED")
        self.client_id = str(answer["clientId"])
        # Without a position, changes made while no subscription was open are unknown.
        self._gap = self.replay_id is None
        self.subscribe()

    def subscribe(self) -> None:
        replay = self.replay_id if self.replay_id is not None else NEW_ONLY
        answer = self._subscribe(replay)
        if not answer.get("successful") and "replayid" in str(answer.get("error", "")).lower():
            # Older than the retention window: what happened meanwhile is found by the next poll.
            log.warning("salesforce streaming: replayId %s no longer retained; polling once", replay)
            self.replay_id = None
            self._gap = True
            answer = self._subscribe(NEW_ONLY)
        if not answer.get("successful"):
            error = str(answer.get("error") or "refused")
            if "does not exist" in error or error.startswith("403"):
                raise StreamDenied(f"salesforce streaming: {error}", code="CHANNEL_DENIED")
            self.client_id = None
            raise RetriableError(f"salesforce streaming subscribe failed: {error}")

    def _subscribe(self, replay: int) -> dict[str, Any]:
        message = {"channel": "/meta/subscribe", "clientId": self.client_id, "subscription": self.channel,
                   "ext": {"replay": {self.channel: replay}}}  # fmt: skip
        return self._meta(self._send(message, self.connect_timeout), "/meta/subscribe")

    def poll(self) -> Delivery:
        """One long poll (handshaking and subscribing first when needed)."""
        delivery = Delivery()
        if self.client_id is None:
            self.handshake()
        delivery.gap = self._gap
        self._gap = False
        message = {"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "long-polling"}
        messages = self._send(message, self.server_timeout + READ_MARGIN)
        for m in messages:
            if m.get("channel") == self.channel and isinstance(m.get("data"), dict):
                delivery.events.append(m["data"])
                replay = (m["data"].get("event") or {}).get("replayId")
                if isinstance(replay, int) and (delivery.replay_id is None or replay > delivery.replay_id):
                    delivery.replay_id = replay
        if delivery.replay_id is not None:
            self.replay_id = delivery.replay_id
        answer = self._meta(messages, "/meta/connect")
        advice = answer.get("advice") or {}
        if isinstance(advice.get("timeout"), int | float) and advice["timeout"] > 0:
            self.server_timeout = float(advice["timeout"]) / 1000.0
        if answer.get("successful"):
            return delivery
        error = str(answer.get("error") or "")
        self.client_id = None
        if error.startswith("401"):
            self._renew_token = True
            if delivery.events:
                return delivery  # keep what arrived; the next poll logs in again
            raise RetriableError(f"salesforce streaming: {error}; logging in again", code="401")
        if advice.get("reconnect") == "none" and not error.startswith("403::Unknown client"):
            raise FatalError(f"salesforce streaming: {error} (the server advises not to reconnect)")
        if delivery.events:
            return delivery
        # 403::Unknown client, or advice "handshake": the next poll handshakes and resubscribes.
        reason = error or "reconnect advised"
        raise RetriableError(f"salesforce streaming: {reason}; handshaking again", code="rehandshake")

    def disconnect(self) -> None:
        if self.client_id is None:
            return
        try:
            self._send({"channel": "/meta/disconnect", "clientId": self.client_id}, self.connect_timeout)
        except (RetriableError, FatalError) as exc:
            log.info("salesforce streaming disconnect: %s", exc)
        self.client_id = None
