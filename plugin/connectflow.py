"""A connector's guided "connect an account" flow (optional part of the plugin API).

Without a flow, an admin connects an account by typing everything the connector's
``credentials_model`` asks for. A flow lets the network do the looking up: the admin types only what
``start_model`` declares (a bot token, an instance URL, the app id of their Meta app), the flow asks the
network for the rest (ids, handles, page tokens), and finally registers horseshoe's webhook with the
network where the network has an API for that. The host (``plugin/connect/``) runs the pages, keeps the
OAuth ``state`` signed, single-use, expiring and bound to the tenant and the admin's browser, stores the
accounts and shows the admin what is left to paste into the network's console.

The steps, each a method of ``ConnectFlow``:

1. ``begin(ctx)`` with the start form's values: either the accounts found at once (a bot token is all
   Telegram needs) or ``Authorize(url, carry)``: the host sends the admin's browser to ``url`` and keeps
   ``carry`` (a PKCE verifier, a client secret) encrypted on its side until the network redirects back.
2. ``complete(params, carry, ctx)`` with the query of that redirect (``code``...) → the accounts.
3. the host stores the accounts the admin picked, then calls ``activate(account, webhook)`` for each:
   register the webhook (Telegram ``setWebhook``, VK ``addCallbackServer``, Meta ``subscribed_apps``)
   and return what the admin must still paste somewhere, as ``Instruction``s.

A problem the admin can fix is ``FieldProblem(field, message)``: the form is shown again with the
message next to that field. Network failures use ``plugin.errors`` as everywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from plugin.connector import AccountContext, ConnectorModel, NoCredentials
from plugin.errors import BadInput, FatalError


@dataclass(frozen=True)
class ConnectContext:
    """What the host hands each step."""

    values: Mapping[str, str] = field(repr=False)  # the start form, validated by start_model, secrets revealed
    callback_url: str = ""  # the host's one OAuth redirect URI (register it in the network's app settings)
    state: str = ""  # the signed, single-use OAuth state: pass it as the network asks (``state=``)
    api_base: str | None = None  # the operator's override of the network's hosts (the sandbox), else None
    ca_bundle: str | None = None  # certificate authorities the operator trusts besides the system's (a proxy)


@dataclass(frozen=True)
class Authorize:
    """Send the admin's browser to the network (``url`` must carry ``ctx.state``)."""

    url: str
    carry: Mapping[str, str] = field(default_factory=dict, repr=False)  # kept encrypted until the callback


@dataclass(frozen=True)
class FoundAccount:
    """An account the network told us about, ready to store (the admin picks when there are several)."""

    external_id: str
    handle: str | None
    name: str
    credentials: Mapping[str, str] = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)
    api_base: str | None = None
    network: str | None = None  # another connector's network (one Meta login finds Instagram accounts too)


@dataclass(frozen=True)
class Instruction:
    """Something the admin must copy into the network's console (``secret``: shown once, masked in logs)."""

    label: str
    value: str
    secret: bool = False
    help: str = ""


@dataclass(frozen=True)
class Activation:
    """What ``activate`` did: ``registered`` when the network itself now knows the webhook URL."""

    registered: bool
    summary: str
    instructions: tuple[Instruction, ...] = ()
    uses_webhook: bool = True  # False for a polled network: the page shows no webhook URL


class FieldProblem(BadInput):
    """The admin can fix this in the start form: the message is shown next to ``field``."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


class ConnectFlow(ABC):
    """Base of a connector's guided flow; return one from ``Connector.connect_flow()``."""

    # What the admin types on the first page (its titles and descriptions are the labels and help).
    start_model: ClassVar[type[ConnectorModel]] = NoCredentials
    # True when ``begin`` sends the browser to the network (then ``complete`` must be implemented).
    redirects: ClassVar[bool] = False
    # One line on the network's page telling the admin what happens ("You sign in at X and approve ...").
    intro: ClassVar[str] = ""

    @abstractmethod
    def begin(self, ctx: ConnectContext) -> Authorize | list[FoundAccount]:
        """Validate the start form against the network; the accounts found, or where to authorize."""

    def complete(self, params: Mapping[str, str], carry: Mapping[str, str], ctx: ConnectContext) -> list[FoundAccount]:
        """The network redirected back with ``params`` (its ``code``); exchange it and find the accounts."""
        raise FatalError("this connect flow does not redirect", code="unsupported")

    def activate(self, account: AccountContext, webhook_url: str) -> Activation:
        """Register ``webhook_url`` (``/webhooks/<network>/<key>``) with the network for the stored account.

        The default registers nothing and asks the admin to paste the URL; a network without webhooks
        (polled only) overrides it to say so.
        """
        return Activation(
            registered=False,
            summary="Paste this webhook URL into the network's developer console.",
            instructions=(Instruction("Webhook URL", webhook_url),),
        )


def oauth_error(params: Mapping[str, str], network: str) -> None:
    """Raise the refusal a network reported on its redirect (``error``, ``error_description``)."""
    if params.get("error"):
        described = params.get("error_description") or params.get("error_reason") or params["error"]
        raise BadInput(f"{network} did not authorize horseshoe: {described}", status=400)
    if not params.get("code"):
        raise BadInput(f"{network} sent no authorization code back", status=400)


def pkce_pair() -> tuple[str, str]:
    """A PKCE (RFC 7636) code verifier and its S256 challenge: the challenge goes with the authorize
    request, the verifier stays in the flow's ``carry`` and goes with the token request."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge
