"""What the conformance suite needs from a network: a running fake, our brand account on it, and knobs.

A ``Harness`` adapts one connector's fake service to the suite (``plugin.testing.suite``); built-in
connectors' harnesses live in ``sandbox/``, a third party ships its own beside its connector. The
suite only speaks connector terms (external ids as the connector reports them); mapping those to the
fake's native ids is the harness's job. A capability a network genuinely lacks is declared in
``skips`` (check name -> honest reason) and the matching check is skipped with that reason.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from plugin.connector import AccountContext, Connector, InboundRequest
from plugin.testing.poison import PoisonItems
from plugin.testing.server import RunningServer, serve_in_thread

# Names of the checks a harness may opt out of (with a reason) in ``Harness.skips``.
CHECKS = (
    "parse",
    "webhook",
    "idempotent",
    "cursor",
    "threading",
    "public",
    "private",
    "rate_limit_poll",
    "rate_limit_reply",
    "errors",
    "poison",
)

FailureKind = Literal["5xx", "fatal"]


@dataclass(frozen=True)
class Posted:
    """One thing the brand published on the fake, in connector terms."""

    external_id: str | None  # as the connector's PostResult names it, when the harness can tell
    text: str
    in_reply_to: str | None  # connector external id of what it answers (None = unknown / not threaded)
    private: bool
    media: int = 0  # images the network shows on it (an agent's attachment arrived)


class Harness(ABC):
    """One network's fake, adapted to the suite. Subclasses set ``network`` and implement the hooks."""

    network: str = ""
    # Customer-facing fixture files: (path, account id to parse them for); the conformance suite parses
    # them. A relative path is resolved against the suite's ``fixtures_dir``.
    fixture_files: tuple[tuple[str, str | None], ...] = ()
    skips: Mapping[str, str] = {}
    # How a customer's direct message reaches the connector: "poll" or "webhook" (networks whose API
    # offers no way to list new DMs deliver them only by webhook, e.g. Instagram Messaging).
    dm_delivery: Literal["poll", "webhook"] = "poll"
    # Distribution plugins the host must load to know this connector (third-party ones); built-ins: empty.
    extra_plugins: tuple[tuple[str, Any], ...] = ()

    def __init__(self) -> None:
        self._server: RunningServer | None = None
        self.poisoned: PoisonItems | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    @abstractmethod
    def create_app(self) -> Any:
        """The fake's WSGI app, served on a localhost port by ``start``."""

    def start(self) -> None:
        self.app = self.create_app()
        # Served through ``PoisonItems`` so the poison check can malform one item of an answer.
        self.poisoned = PoisonItems(self.app)
        self._server = serve_in_thread(self.poisoned)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "harness not started"
        return self._server.url

    def reset(self) -> None:
        """Forget all traffic and faults; seed the brand and one customer."""
        self.clear_faults()
        if self.poisoned is not None:
            self.poisoned.clear()
        self.reset_state()

    @abstractmethod
    def reset_state(self) -> None:
        """Forget the fake's traffic and seed the brand and one customer."""

    # -- the connector and our account ---------------------------------------------------------------
    @abstractmethod
    def connector(self) -> Connector:
        """A NEW connector instance (a new process, as far as the connector can tell)."""

    @abstractmethod
    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        """Our brand account on the fake (``bad_credentials``: the same account with a wrong secret)."""

    @property
    @abstractmethod
    def customer_id(self) -> str:
        """The customer's stable author id as the connector should report it (never the handle)."""

    def webhook_secrets(self) -> dict[str, str]:
        """What the host hands verify_request / parse_webhook: settings (as strings) under credentials."""
        account = self.account()
        return {**{k: str(v) for k, v in account.settings.items()}, **account.credentials}

    # -- the customer's side -------------------------------------------------------------------------
    @abstractmethod
    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        """A customer's public mention/comment (answering ``reply_to``, a connector external id).

        Returns the connector external id the mention is expected to carry.
        """

    def inject_private(self, text: str) -> str | None:
        """A customer's direct message; None when the network (for this connector) has none."""
        return None

    def inject_any(self, text: str) -> str:
        """Something the connector must pick up: public when the network has it, else private."""
        if "public" not in self.skips:
            return self.inject_public(text)
        found = self.inject_private(text)
        assert found is not None, f"{self.network}: harness can inject neither public nor private items"
        return found

    def delete_public(self, external_id: str) -> Any:
        """The customer deletes their public item on the fake. Returns what the network tells subscribers
        about it (a webhook or stream event ``parse_payload`` reads as ``event="deleted"``)."""
        raise NotImplementedError(f"{self.network}: this harness cannot delete items")

    def follow_up_parent(self, mention_id: str, reply_id: str) -> str:
        """The parent_id a customer's answer to our reply must carry: our reply, unless the network
        flattens threads (then the harness says which item the network attaches it to)."""
        return reply_id

    def inject_poison(self, text: str) -> str | None:
        """A customer's item the network serves malformed (e.g. X ``lang`` as a list): inject it as usual,
        then ``self.poison(match, change)`` so every answer carries it broken. Returns the connector
        external id it would have had; None = not implemented (declare ``poison`` in ``skips`` instead)."""
        return None

    def poison(self, match: Mapping[str, Any], change: Mapping[str, Any]) -> None:
        """From now on, every object of the fake's JSON answers whose keys equal ``match`` is served with
        ``change`` applied (see ``plugin.testing.poison``)."""
        assert self.poisoned is not None, "harness not started"
        self.poisoned.add(match, change)

    # -- webhooks --------------------------------------------------------------------------------------
    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        """A genuine, signed webhook request delivering the injected item; None for poll-only networks."""
        return None

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:
        """Variants of ``genuine`` an attacker could send (wrong secret, no signature)."""
        return []

    # -- the brand's side ------------------------------------------------------------------------------
    @abstractmethod
    def posted(self) -> list[Posted]:
        """What the brand published on the fake, oldest first."""

    # -- faults ----------------------------------------------------------------------------------------
    # Faults must reach the connector as real HTTP answers (a status and the network's own headers),
    # so they are the fake's business: ``plugin.testing.faults.ScriptedFaults`` is a ready middleware.
    @abstractmethod
    def clear_faults(self) -> None:
        """Drop every fault still scheduled (called by ``reset`` before each check)."""

    @abstractmethod
    def rate_limit_next(self, retry_after: int = 7) -> None:
        """The next API call answers 429 with the network's own rate-limit headers."""

    @abstractmethod
    def fail_next(self, kind: FailureKind) -> None:
        """The next API call fails: ``5xx`` (a server error) or ``fatal`` (a 4xx bad request)."""


def json_request(body: Any, headers: Mapping[str, str], path: str = "/webhooks/conformance/x") -> InboundRequest:
    raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
    return InboundRequest(method="POST", path=path, headers={"Content-Type": "application/json", **headers}, body=raw)


def with_headers(request: InboundRequest, change: Callable[[dict[str, str]], object]) -> InboundRequest:
    headers = dict(request.headers)
    change(headers)
    return InboundRequest(
        method=request.method, path=request.path, headers=headers, body=request.body, query=request.query
    )
