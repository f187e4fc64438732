"""The steps of a guided connect flow, between the pages (views.py) and a connector's ``ConnectFlow``.

Everything here acts within a ``ConnectGrant``. The OAuth ``state`` handed to a network is signed,
names a single-use row (plugin/store/connect.py) bound to the grant's tenant and actor and to the
admin's browser (a cookie set when the browser is sent away), and expires; the redirect URI is always
this host's own ``/connect/callback``. Accounts found by a flow travel to the "pick" page sealed
(signed, credentials encrypted), bound to the same tenant and actor.
"""

from __future__ import annotations

import secrets as pysecrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from plugin import egress
from plugin.connect.grant import ConnectGrant
from plugin.connectflow import Authorize, ConnectContext, ConnectFlow, FieldProblem, FoundAccount
from plugin.connector import Connector
from plugin.errors import BadInput, FatalError
from plugin.runtime import Runtime
from plugin.sink import Sink
from plugin.web import model_forms

STATE_SECONDS = 900  # signing in at the network and approving takes minutes, not hours
SEALED_SECONDS = 1800
START = "start"  # the start form's input prefix
API_BASE = "api_base"  # a self-hosted network's start field the host checks (plugin/egress.py) itself


class StartInvalid(BadInput):
    """The start form did not validate; ``fields`` go next to their inputs."""

    def __init__(self, fields: Mapping[str, str], general: list[str] | None = None) -> None:
        self.fields, self.general = dict(fields), list(general or [])
        super().__init__("; ".join([*(general or []), *(f"{k}: {v}" for k, v in fields.items())]) or "invalid")


@dataclass(frozen=True)
class Redirect:
    url: str
    binding: str  # the browser binding cookie's value


Owner = Connector | Sink  # what offers a flow: a network's connector, or a CRM's sink


def flow_of(connector: Owner) -> ConnectFlow:
    flow = connector.connect_flow()
    if flow is None:
        raise BadInput(f"{connector.name} offers no guided connection; connect it by hand", status=404)
    return flow


def operator_api_base(rt: Runtime, network: str) -> str | None:
    """The operator's override of a network's hosts (``connect_api_bases``), e.g. the sandbox's fake."""
    for item in rt.settings.connect_api_bases.split(","):
        name, _, url = item.partition("=")
        if name.strip() == network and url.strip():
            return url.strip().rstrip("/")
    return None


def callback_url(rt: Runtime) -> str:
    return f"{rt.settings.public_url.rstrip('/')}/connect/callback"


def start(rt: Runtime, grant: ConnectGrant, connector: Owner, form: Mapping[str, Any]) -> Redirect | list[FoundAccount]:
    """Validate the start form, then ask the flow: the accounts found, or where to send the browser."""
    flow = flow_of(connector)
    try:
        parsed = model_forms.parse(flow.start_model, form, START)
    except model_forms.FormErrors as exc:
        raise StartInvalid(exc.fields, exc.general) from None
    values = {k: str(v) for k, v in model_forms.secret_values(parsed).items()}
    api_base = operator_api_base(rt, connector.name)
    if getattr(connector, "self_hosted", False) and values.get(API_BASE):
        api_base = _check_self_hosted(rt, values[API_BASE])
        values[API_BASE] = api_base
    nonce = pysecrets.token_urlsafe(24)
    # The tenant's trust generation rides along: revoking the tenant also ends a sign-in under way.
    generation = rt.store.trust.generation(grant.tenant)
    state = rt.box.sign({"kind": "connect-state", "n": nonce, "g": generation, "exp": int(time.time()) + STATE_SECONDS})
    ctx = ConnectContext(values, callback_url(rt), state, api_base, rt.settings.connect_ca_bundle or None)
    try:
        outcome = flow.begin(ctx)
    except FieldProblem as exc:
        raise StartInvalid({exc.field_name: str(exc)}) from None
    if isinstance(outcome, Authorize):
        _check_authorize_url(outcome.url, state)
        binding = pysecrets.token_urlsafe(24)
        carry = {"values": values, "carry": dict(outcome.carry), "api_base": api_base}
        rt.store.connect_states.create(
            nonce, grant.tenant_id, grant.actor, binding, connector.name, carry, timedelta(seconds=STATE_SECONDS)
        )
        return Redirect(outcome.url, binding)
    return outcome


def _check_self_hosted(rt: Runtime, url: str) -> str:
    try:
        return egress.check_url(url.rstrip("/"), egress.allowed_hosts(rt.settings.allowed_private_hosts), what="Server")
    except BadInput as exc:
        raise StartInvalid({API_BASE: str(exc)}) from None


def _check_authorize_url(url: str, state: str) -> None:
    """A flow must send the browser to an http(s) page of the network, with our state on it."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or state not in url:
        raise FatalError("the connector built an authorization URL without the host's state", code="connect_flow")


def finish(
    rt: Runtime, connectors: Mapping[str, Owner], params: Mapping[str, str], binding: str | None
) -> tuple[ConnectGrant, str, list[FoundAccount]]:
    """The network redirected back: claim the state (once, same browser), then let the flow finish."""
    claims = rt.box.verify(params.get("state"), "state")
    if claims.get("kind") != "connect-state" or int(claims.get("exp", 0)) < time.time():
        raise BadInput("this sign-in expired; start connecting the account again", status=403)
    found = rt.store.connect_states.consume(str(claims["n"]), binding or "")
    if found is None:
        raise BadInput(
            "this sign-in was already used, has expired, or was started in another browser; start again",
            status=403,
        )
    tenant = rt.store.tenant_key(found.tenant_id)
    if claims.get("g") != rt.store.trust.generation(tenant):
        raise BadInput("access to this horseshoe tenant was revoked meanwhile; nothing was connected", status=403)
    connector = connectors.get(found.network)
    if connector is None or connector.connect_flow() is None:
        raise BadInput(f"the network {found.network!r} is no longer installed", status=404)
    carry = found.carry
    ctx = ConnectContext(
        values=dict(carry.get("values") or {}), callback_url=callback_url(rt), state=str(params["state"]),
        api_base=carry.get("api_base"), ca_bundle=rt.settings.connect_ca_bundle or None,
    )  # fmt: skip
    accounts = flow_of(connector).complete(params, dict(carry.get("carry") or {}), ctx)
    grant = ConnectGrant(found.tenant_id, tenant, found.actor, int(time.time()) + 600)
    return grant, found.network, accounts


def seal(rt: Runtime, grant: ConnectGrant, network: str, accounts: list[FoundAccount]) -> str:
    """The found accounts for the pick page: signed, bound to the grant, credentials encrypted."""
    return rt.box.sign(
        {
            "kind": "connect-found",
            "tid": grant.tenant_id,
            "a": grant.actor,
            "net": network,
            "exp": int(time.time()) + SEALED_SECONDS,
            "f": rt.box.encrypt_json([asdict(a) for a in accounts]),
        }
    )


def unseal(rt: Runtime, grant: ConnectGrant, sealed: str | None) -> tuple[str, list[FoundAccount]]:
    claims = rt.box.verify(sealed, "found accounts")
    if claims.get("kind") != "connect-found" or int(claims.get("exp", 0)) < time.time():
        raise BadInput("this list of accounts expired; start connecting again", status=403)
    if claims.get("tid") != grant.tenant_id or claims.get("a") != grant.actor:
        raise BadInput("these accounts were found for someone else", status=403)
    return str(claims["net"]), [FoundAccount(**item) for item in rt.box.decrypt_json(str(claims["f"]))]


def owners(rt: Runtime) -> dict[str, Owner]:
    """Every connector and sink offering a guided flow, by name."""
    found: dict[str, Owner] = {name: sink for name, sink in rt.registry.sinks.items() if sink.connect_flow()}
    found.update({name: c for name, c in rt.registry.connectors.items() if c.connect_flow()})
    return found
