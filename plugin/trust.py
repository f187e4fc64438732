"""The trust model's core (README, "Security model"): who vouched for a request, for which tenant.

A ``Trust`` is resolved once per request and every Zendesk-facing route acts only within it:
``plugin/zendesk/trust.py`` resolves it from signed metadata, a push token Zendesk confirms or a
one-time install code (the admin UI, pull, channelback, clickthrough, identity page);
``for_file_link`` does it for attachment links. Install codes (``redeem``) and revocation
(``revoke``: uninstall, ``horseshoe tenants revoke``) live here too, so the rules are in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from plugin.errors import BadInput, Unauthorized
from plugin.runtime import Runtime

SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Level(StrEnum):
    INSTANCE = "instance"  # one channel instance: its own accounts' mentions and replies
    TENANT = "tenant"  # the tenant's admin: every account, REST credentials, identity data


class Via(StrEnum):
    METADATA = "metadata"
    ZENDESK_TOKEN = "zendesk_token"
    INSTALL_CODE = "install_code"
    FILE_LINK = "file_link"


@dataclass(frozen=True)
class Trust:
    """Who vouched for this request, for which tenant and instance, and how far it reaches."""

    tenant: str
    tenant_id: int
    instance: str | None
    level: Level
    via: Via
    account_ids: tuple[int, ...] = ()

    def require_account(self, account_id: int) -> None:
        if account_id not in self.account_ids:
            raise BadInput("this integration instance does not manage that account", status=403)


def check_subdomain(value: str | None) -> str:
    """A Zendesk subdomain, or a 400: it becomes part of URLs we build and connect to."""
    if value is None or not SUBDOMAIN.fullmatch(value):
        raise BadInput("subdomain must be a Zendesk subdomain (a-z, 0-9, '-', at most 63 characters)")
    return value


def redeem(rt: Runtime, subdomain: str, code: str) -> Trust:
    """Use up an install code: the tenant row is created only now, once an operator vouched for it."""
    if not rt.store.trust.redeem(subdomain, code):
        raise BadInput("the install code is wrong, expired, already used or for another Zendesk account", status=403)
    tenant_id = rt.store.ensure_tenant(subdomain)
    rt.store.events.record(tenant_id, "trust:install_code_redeemed", {"tenant": subdomain})
    return Trust(subdomain, tenant_id, None, Level.TENANT, Via.INSTALL_CODE)


def for_file_link(rt: Runtime, tenant_id: int, account_id: int | None, generation: int) -> Trust:
    """A signed attachment link reaches one file of one account of the tenant it names. It expires by
    itself (``LINK_DAYS``) and dies with everything else issued for the tenant when the tenant's
    generation moves on (confirmed uninstall, ``horseshoe tenants revoke``); a link signed with a key
    retired by ``horseshoe keys rotate --revoke`` no longer verifies at all."""
    tenant = next((row.key for row in rt.store.tenants.all() if row.id == tenant_id), None)
    if tenant is None or account_id is None:
        raise Unauthorized("this attachment link names no tenant or account here", status=404)
    if generation != rt.store.trust.generation(tenant):
        raise Unauthorized("this attachment link was revoked (the integration was uninstalled or revoked)", status=403)
    return Trust(tenant, tenant_id, None, Level.INSTANCE, Via.FILE_LINK, (account_id,))


def revoke(rt: Runtime, tenant: str, reason: str) -> int:
    """Invalidate every token issued for ``tenant`` (uninstall confirmed, operator's revoke)."""
    generation = rt.store.trust.revoke(tenant)
    rt.store.events.record(rt.store.tenant_id(tenant), "trust:revoked", {"tenant": tenant, "reason": reason})
    return generation
