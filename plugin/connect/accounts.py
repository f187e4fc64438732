"""Storing the accounts an admin picked, and registering their webhooks with the networks.

An account belongs to exactly one tenant: one connected by another tenant is refused (the operator
moves it, audited). Connecting again an account the tenant already has is how an admin renews its
credentials (a token expired, a password changed): the flow just proved access to it, so the
credentials are replaced, and that is audited with the actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin import egress
from plugin.connect.flow import flow_of, operator_api_base
from plugin.connect.grant import ConnectGrant
from plugin.connectflow import Activation, FoundAccount, Instruction
from plugin.errors import BadInput, FatalError, RetriableError
from plugin.runtime import Runtime
from plugin.sink import SinkConnection
from plugin.web.webhooks import app_webhook_url


@dataclass(frozen=True)
class Connected:
    """One picked account after saving: stored (``account_id``) and, if it could be, activated."""

    network: str
    name: str
    handle: str | None
    account_id: int | None
    webhook_url: str | None = None
    activation: Activation | None = None
    error: str = ""
    instructions: tuple[Instruction, ...] = field(default=())
    crm: bool = False  # a CRM connection (no account id, no webhook)

    @property
    def stored(self) -> bool:
        return self.account_id is not None or (self.crm and self.activation is not None)


def _api_base(rt: Runtime, network: str, found: FoundAccount, self_hosted: bool) -> str | None:
    """Only a self-hosted network's server (checked again) or the operator's override is stored."""
    if found.api_base is None:
        return None
    if self_hosted:
        return egress.check_url(found.api_base, egress.allowed_hosts(rt.settings.allowed_private_hosts))
    if found.api_base.rstrip("/") != (operator_api_base(rt, network) or ""):
        raise BadInput(f"{network} runs on its own servers only; it takes no API base URL")
    return found.api_base


def save(rt: Runtime, grant: ConnectGrant, default_network: str, found: FoundAccount) -> Connected:
    """Store one found account and activate it; a refusal is reported on the account, not raised."""
    network = found.network or default_network
    if network in rt.registry.sinks:
        return _save_crm(rt, grant, network, found)
    connector = rt.registry.connectors.get(network)
    if connector is None:
        return Connected(network, found.name, found.handle, None, error=f"the {network} connector is not installed")
    owners = rt.store.brand_accounts.owners(network, found.external_id)
    if any(owner != grant.tenant_id for owner in owners):
        return Connected(
            network, found.name, found.handle, None,
            error="already connected to another horseshoe tenant; only the operator can move it "
            "(`horseshoe accounts move`)",
        )  # fmt: skip
    try:
        api_base = _api_base(rt, network, found, connector.self_hosted)
        # The connector's own models have the last word on what is stored.
        credentials = connector.credentials_model.model_validate(dict(found.credentials))
        settings = connector.settings_model.model_validate(dict(found.settings))
    except (BadInput, ValueError) as exc:
        return Connected(network, found.name, found.handle, None, error=f"not stored: {exc}")
    stored_credentials = {
        k: v.get_secret_value() if hasattr(v, "get_secret_value") else str(v)
        for k, v in credentials.model_dump(exclude_none=True).items()
    }
    account_id = rt.store.upsert_account(
        grant.tenant_id, network, found.external_id, stored_credentials, handle=found.handle,
        settings=settings.model_dump(mode="json", exclude_unset=True) or None, api_base=api_base,
    )  # fmt: skip
    rt.store.events.record(
        grant.tenant_id,
        "account:reconnected" if owners else "account:connected",
        {"network": network, "external_id": found.external_id, "actor": grant.actor, "via": "connect_flow"},
    )
    return activate(rt, grant, account_id, found.name)


def _save_crm(rt: Runtime, grant: ConnectGrant, sink_name: str, found: FoundAccount) -> Connected:
    """A CRM's flow finds one connection: its URL passes the egress rule, then it replaces the tenant's
    connection to that CRM (audited), and the sink's own check says whether it works."""
    sink = rt.registry.sinks[sink_name]
    try:
        egress.check_url(found.api_base or "", egress.allowed_hosts(rt.settings.allowed_private_hosts), what="CRM URL")
    except BadInput as exc:
        return Connected(sink_name, found.name, None, None, error=f"not stored: {exc}")
    config = dict(found.credentials)
    rt.store.set_sink_connection(grant.tenant_id, sink_name, config)
    audit = {"sink": sink_name, "actor": grant.actor, "url": found.api_base, "via": "connect_flow"}
    rt.store.events.record(grant.tenant_id, "crm:connected", audit)
    problems = sink.check(SinkConnection(grant.tenant_id, grant.tenant, sink_name, config))
    summary = "Connected; horseshoe checked the objects it writes." if not problems else ""
    activation = Activation(registered=not problems, summary=summary, uses_webhook=False)
    return Connected(sink_name, found.name, None, None, None, activation, "; ".join(problems), crm=True)


def activate(rt: Runtime, grant: ConnectGrant, account_id: int, name: str | None = None) -> Connected:
    """Register the stored account's webhook with its network (again, when the admin retries)."""
    loaded = rt.store.account(account_id)
    if loaded is None or loaded[0].tenant_id != grant.tenant_id:
        raise BadInput("no such account here", status=404)
    row, context = loaded
    connector = rt.registry.connector(row.network)
    webhook_url = f"{rt.settings.public_url.rstrip('/')}/webhooks/{row.network}/{row.public_key}"
    app = connector.webhook_app(context)
    if app is not None:  # one callback URL per app (Meta): the same for every account of the app
        webhook_url = app_webhook_url(rt.settings.public_url, rt.store.tenant_key(row.tenant_id), app)
    name = name or row.handle or row.external_id
    try:
        activation = flow_of(connector).activate(context, webhook_url)
    except (FatalError, RetriableError) as exc:
        rt.store.events.record(
            grant.tenant_id, "account:activation_failed", {"account_id": account_id, "error": str(exc)}
        )
        return Connected(row.network, name, row.handle, account_id, webhook_url, error=str(exc))
    rt.store.events.record(
        grant.tenant_id,
        "account:activated",
        {"account_id": account_id, "registered": activation.registered, "actor": grant.actor},
    )
    return Connected(row.network, name, row.handle, account_id, webhook_url, activation, "", activation.instructions)
