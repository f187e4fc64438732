"""The trust model, enforced in one place (README, "Security model").

Every Zendesk-facing route (pull, channelback, clickthrough, admin UI, identity page, attachment
links) resolves a ``Trust`` once per request from what the request carries, and acts only within it:

- **metadata** horseshoe signed for a trusted admin flow: that tenant, that instance, its accounts;
  revoked when the tenant's generation moves on (confirmed uninstall, ``horseshoe tenants revoke``),
  when its instance is gone, or when its signing key retired (``horseshoe keys rotate``);
- **a push token Zendesk confirms** for a tenant that is already installed;
- **a one-time install code** from the operator (``horseshoe tenants invite SUBDOMAIN``): the only way
  to a first install. No "first come, first trusted".

Anything else is untrusted and may neither read nor change anything that exists: no tenant row is
created for it, no account is shown, stored or overwritten. The types, install codes and revocation
are in ``plugin/trust.py``; this module resolves Zendesk's requests to them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from plugin.errors import BadInput, Unauthorized
from plugin.runtime import Runtime
from plugin.trust import SUBDOMAIN, Level, Trust, Via, check_subdomain, redeem, revoke
from plugin.zendesk.instances import instances
from plugin.zendesk.tokens import InstanceMetadata, read_metadata


def zendesk_origin(rt: Runtime, subdomain: str) -> str:
    """The only origin that may frame our pages and receive metadata for ``subdomain``: its own
    ``https://{subdomain}.zendesk.com``, or the operator's configured Zendesk (the sandbox's)."""
    base = rt.settings.zendesk_api_base
    if base:
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{check_subdomain(subdomain)}.zendesk.com"


def check_return_url(rt: Runtime, return_url: str, subdomain: str) -> None:
    given = urlsplit(return_url)
    if f"{given.scheme}://{given.netloc}" != zendesk_origin(rt, subdomain) or given.username or given.password:
        raise BadInput("return_url is not on this Zendesk account's domain", status=403)


def _installed(rt: Runtime, tenant_id: int | None) -> bool:
    return tenant_id is not None and rt.store.sink_connection(tenant_id, "zendesk") is not None


def from_metadata(rt: Runtime, token: str | None, *, level: Level = Level.INSTANCE) -> Trust:
    """The trust a Zendesk call carrying our signed metadata has (pull, channelback, clickthrough,
    identity page). Refused when revoked, when its instance is gone, or when not vouched for."""
    granted = _from_meta(rt, read_metadata(rt.box, token))
    if level is Level.TENANT and granted.level is not Level.TENANT:
        raise Unauthorized("this needs the tenant's admin; reopen the integration in Zendesk", status=403)
    return granted


def _from_meta(rt: Runtime, meta: InstanceMetadata) -> Trust:
    if not meta.trusted:
        # Issued before install codes existed by a flow nobody vouched for (finding 3): never again.
        raise Unauthorized("this channel was connected without authorization; reinstall it with a code", status=403)
    tenant_id = rt.store.tenant_id(meta.tenant)
    if tenant_id is None:
        raise Unauthorized("unknown integration instance", status=403)
    if meta.generation != rt.store.trust.generation(meta.tenant):
        raise Unauthorized("this integration instance was uninstalled or revoked; reinstall it", status=403)
    if meta.instance is not None:
        config = rt.store.sink_connection(tenant_id, "zendesk")
        if config is None or meta.instance not in {i.push_id for i in instances(config)}:
            raise Unauthorized("this integration instance is no longer installed", status=403)
    return Trust(meta.tenant, tenant_id, meta.instance, Level.TENANT, Via.METADATA, meta.account_ids)


def for_admin(
    rt: Runtime,
    subdomain: str,
    *,
    metadata: str | None,
    zendesk_confirms: bool,
    install_code: str | None,
) -> Trust | None:
    """The admin UI's trust, or None: then the page asks for an install code and does nothing else.

    ``zendesk_confirms`` (the push token validated against Zendesk) counts only for a tenant already
    installed: Zendesk honours a new instance's token only after the admin UI returns, so it cannot
    vouch for a first install.
    """
    tenant_id = rt.store.tenant_id(subdomain)
    if metadata:
        trust = from_metadata(rt, metadata)
        if trust.tenant != subdomain:
            raise BadInput("metadata belongs to another Zendesk account", status=403)
        return trust
    if zendesk_confirms and tenant_id is not None and _installed(rt, tenant_id):
        return Trust(subdomain, tenant_id, None, Level.TENANT, Via.ZENDESK_TOKEN)
    if install_code:
        return redeem(rt, subdomain, install_code)
    return None




__all__ = [
    "SUBDOMAIN", "Level", "Trust", "Via", "check_return_url", "check_subdomain", "for_admin", "from_metadata",
    "redeem", "revoke", "zendesk_origin",
]  # fmt: skip
