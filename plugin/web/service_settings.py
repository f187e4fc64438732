"""A tenant's service settings, shared by the Zendesk admin page and the standalone console: the
business hours its SLA clock runs on (plugin/businesshours.py) and, per brand account, whether a
customer is asked for a satisfaction rating when their ticket/case is solved (plugin/outbox/
satisfaction.py). Changes are audited with who made them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin import businesshours
from plugin.errors import BadInput
from plugin.outbox import satisfaction
from plugin.runtime import Runtime

MARKER = "service_settings"  # a hidden input: the form carried these fields (an absent checkbox = off)
SATISFACTION = "satisfaction"
PLACEHOLDER = "Europe/Berlin: Mon-Fri 09:00-17:00; Sat 10:00-14:00"


class ServiceSettingsInvalid(BadInput):
    """A setting did not validate; ``field`` names the input the message belongs next to."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field.replace('_', ' ')}: {message}")
        self.field, self.reason = field, message


@dataclass(frozen=True)
class AccountSurvey:
    id: int
    network: str
    label: str
    asks: bool
    never: str | None  # why this network is never asked (no private messages a brand can start)


@dataclass(frozen=True)
class ServiceSettings:
    business_hours: str
    accounts: list[AccountSurvey]


def current(runtime: Runtime, tenant_id: int) -> ServiceSettings:
    accounts = [
        AccountSurvey(a.id, a.network, a.handle or a.external_id, bool(a.settings.get(SATISFACTION)),
                      satisfaction.never_asked_on(runtime, a.network))
        for a in runtime.store.accounts(tenant_id)
    ]  # fmt: skip
    return ServiceSettings(runtime.store.csat.business_hours(tenant_id), accounts)


def apply(runtime: Runtime, tenant_id: int, form: Any, actor: str) -> list[str]:
    """Save what ``form`` carries (when it has the marker). Returns the changes, for the audit log."""
    if not form.get(MARKER):
        return []
    spec = str(form.get("business_hours") or "").strip()
    try:
        parsed = businesshours.parse(spec)
    except businesshours.BusinessHoursError as exc:
        raise ServiceSettingsInvalid("business_hours", str(exc)) from None
    store, changes = runtime.store, []
    if parsed.spec != store.csat.business_hours(tenant_id):
        store.csat.set_business_hours(tenant_id, parsed.spec, actor)
        changes.append(f"business hours: {parsed.spec or 'around the clock'}")
    asked = set(form.getlist(SATISFACTION)) if hasattr(form, "getlist") else set()
    for account in store.accounts(tenant_id):
        wanted = str(account.id) in asked
        if bool(account.settings.get(SATISFACTION)) != wanted:
            store.update_account_settings(account.id, {**account.settings, SATISFACTION: wanted})
            changes.append(f"satisfaction survey {'on' if wanted else 'off'} for {account.network} {account.id}")
    if changes:
        store.events.record(tenant_id, "service_settings_changed", {"by": actor, "changes": changes})
    return changes


def field_error(error: BadInput | None) -> Mapping[str, str]:
    """{field: message} for the template, from an error ``apply`` raised."""
    return {error.field: error.reason} if isinstance(error, ServiceSettingsInvalid) else {}
