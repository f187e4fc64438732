"""Connecting a new social account from the Zendesk admin UI: the form per network, and the save.

Each network's credential and setting inputs are generated from its connector's ``credentials_model``
and ``settings_model`` (plugin.web.model_forms) and validated with them before anything is stored;
secrets are stored encrypted and never rendered back. There is no free-form JSON: a connector that
declares no models takes no credentials (``NoCredentials``) and only the host's own settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import request

from plugin import egress
from plugin.connector import Connector
from plugin.errors import BadInput
from plugin.web import model_forms
from plugin.web.extension import runtime
from plugin.web.forms import form_field

CREDENTIALS = "credentials"
SETTINGS = "settings"
SHOWN = "shown"  # a hidden marker input in each network's fieldset


def prefix(kind: str, network: str) -> str:
    """Input names carry the network ("credentials.x.bearer_token"): every network's fields are in the
    page at once, and a client that submits them all (no JavaScript, a script) still means one network."""
    return f"{kind}.{network}"


class AccountFormInvalid(BadInput):
    """The new account's credentials or settings did not validate; the messages go next to the fields."""

    def __init__(
        self, credentials: model_forms.FormErrors, settings: model_forms.FormErrors, labels: Mapping[str, str]
    ) -> None:
        self.credentials, self.settings = credentials, settings
        # The summary at the top names the fields, so an admin who scrolled past one still finds it.
        marked = [labels.get(name, name) for name in [*credentials.fields, *settings.fields]]
        parts = [f"fix the fields marked below: {', '.join(marked)}"] if marked else []
        super().__init__("; ".join([*parts, *credentials.general, *settings.general]))


@dataclass(frozen=True)
class NetworkForm:
    """What the admin page renders for one network."""

    name: str
    display_name: str
    credentials: list[model_forms.FormField] = field(default_factory=list)
    settings: list[model_forms.FormField] = field(default_factory=list)


def network_forms(
    connectors: Iterable[Connector], chosen: str, form: Mapping[str, Any], error: BadInput | None = None
) -> list[NetworkForm]:
    """A form per network; the chosen one is filled with what was submitted (never its secrets)."""
    forms: list[NetworkForm] = []
    for connector in sorted(connectors, key=lambda c: c.name):
        if not typed_by_hand(connector):
            continue  # connected through its guided flow only
        values: dict[str, dict[str, str]] = {CREDENTIALS: {}, SETTINGS: {}}
        errors: dict[str, dict[str, str]] = {CREDENTIALS: {}, SETTINGS: {}}
        # The fieldset's marker is submitted only when its fields were on the page and enabled: then an
        # absent checkbox was unchecked by the admin; otherwise the network shows its defaults.
        from_form = connector.name == chosen and prefix(SHOWN, chosen) in form
        if connector.name == chosen:
            values = {kind: model_forms.submitted(form, prefix(kind, chosen)) for kind in (CREDENTIALS, SETTINGS)}
            if isinstance(error, AccountFormInvalid):
                errors = {CREDENTIALS: error.credentials.fields, SETTINGS: error.settings.fields}
        forms.append(
            NetworkForm(
                name=connector.name,
                display_name=connector.display_name or connector.name,
                credentials=model_forms.form_fields(
                    connector.credentials_model,
                    prefix(CREDENTIALS, connector.name),
                    values[CREDENTIALS],
                    errors[CREDENTIALS],
                    from_form=from_form,
                ),
                settings=model_forms.form_fields(
                    connector.settings_model,
                    prefix(SETTINGS, connector.name),
                    values[SETTINGS],
                    errors[SETTINGS],
                    from_form=from_form,
                ),
            )
        )
    return forms


def _validated(connector: Connector) -> tuple[dict[str, str], dict[str, Any]]:
    """Credentials (as strings, what AccountContext carries) and settings from the submitted form."""
    found: dict[str, dict[str, Any]] = {}
    problems: dict[str, model_forms.FormErrors] = {}
    for kind, model in ((CREDENTIALS, connector.credentials_model), (SETTINGS, connector.settings_model)):
        try:
            parsed = model_forms.parse(model, request.form, prefix(kind, connector.name))
            found[kind] = model_forms.secret_values(parsed)
        except model_forms.FormErrors as exc:
            problems[kind] = exc
    if problems:
        empty = model_forms.FormErrors()
        labels = {
            name: info.title or name
            for model in (connector.credentials_model, connector.settings_model)
            for name, info in model.model_fields.items()
        }
        raise AccountFormInvalid(problems.get(CREDENTIALS, empty), problems.get(SETTINGS, empty), labels)
    credentials = {k: v if isinstance(v, str) else json.dumps(v) for k, v in found[CREDENTIALS].items()}
    return credentials, found[SETTINGS]


def typed_by_hand(connector: Connector) -> bool:
    """Whether the admin page offers this network's raw credentials form: a network with a guided
    connect flow is connected through it (ids looked up, webhook registered), unless the operator
    turned ``manual_account_form`` on; one without a flow gets its declared credentials form."""
    return connector.connect_flow() is None or runtime().settings.manual_account_form


def connect_account(tenant_id: int, network: str) -> int:
    """Store the account the admin described in the "connect another account" part of the form.

    Only a trusted flow gets here (plugin/zendesk/trust.py). Even so, nothing is overwritten
    silently: an account of another tenant is refused (an operator moves it, audited), and replacing
    the credentials of one of this tenant's accounts needs the explicit "replace" box, and is audited.
    """
    rt = runtime()
    connector = rt.registry.connectors.get(network)
    if connector is None:
        raise BadInput(f"unknown network {network!r}")
    if not typed_by_hand(connector):
        name = connector.display_name or network
        raise BadInput(f"connect {name} with “Connect an account…” (its guided flow looks the account up "
                       "and registers its webhook); typed credentials are not taken for it")  # fmt: skip
    external_id = form_field("new_external_id", max_length=255)
    assert external_id is not None
    handle = form_field("new_handle", required=False, max_length=255)
    api_base = form_field("new_api_base", required=False, max_length=512)
    if api_base:
        api_base = _check_api_base(connector, api_base)
    credentials, settings = _validated(connector)
    owners = rt.store.brand_accounts.owners(network, external_id)
    if any(owner != tenant_id for owner in owners):
        raise BadInput(
            f"this {network} account is connected to another Zendesk account; only the horseshoe operator "
            "can move it (`horseshoe accounts move`)",
            status=409,
        )
    if owners:
        if form_field("new_replace", required=False, max_length=8) != "on":
            raise BadInput(
                f"this {network} account is already connected; tick 'replace its credentials' to replace them",
                status=409,
            )
        rt.store.events.record(
            tenant_id,
            "account:replaced",
            {"network": network, "external_id": external_id, "api_base": api_base, "via": "zendesk_admin"},
        )
    return rt.store.upsert_account(
        tenant_id, network, external_id, credentials, handle=handle, settings=settings or None, api_base=api_base
    )


def _check_api_base(connector: Connector, api_base: str) -> str:
    """Only self-hosted networks take an API base, https on a public address; hosts the operator
    allowed (``allowed_private_hosts``: the sandbox) are exempt from both rules."""
    allowed = egress.allowed_hosts(runtime().settings.allowed_private_hosts)
    host = (urlsplit(api_base).hostname or "").lower()
    if not connector.self_hosted and host not in allowed:
        raise BadInput(f"{connector.name} runs on its own servers only; it takes no API base URL")
    return egress.check_url(api_base, allowed, what="API base URL")


def account_form(connector: Connector, credentials: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, str]:
    """The form fields a browser would submit for a new account on ``connector`` (scripts, the demo)."""
    return {
        **model_forms.encode(prefix(CREDENTIALS, connector.name), credentials),
        **model_forms.encode(prefix(SETTINGS, connector.name), settings),
    }
