"""The connect grant: the only thing the connect flow trusts (docs/ARCHITECTURE.md, "Connecting accounts").

A front door that has already decided who the admin is (the Zendesk admin page, from what Zendesk
vouches for; the standalone console, from its login) mints a grant naming the tenant, the actor and an
expiry, signed with horseshoe's rotating keys. The connect pages carry it in every form and check it on
every request; revoking the tenant (uninstall, ``horseshoe tenants revoke``) invalidates it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from plugin.errors import BadInput
from plugin.runtime import Runtime

KIND = "connect-grant"
GRANT_SECONDS = 3600  # long enough to create an app in a network's console in between


@dataclass(frozen=True)
class ConnectGrant:
    tenant_id: int
    tenant: str
    actor: str  # who connects (audited): "zendesk:acme" today, "admin:ada@acme.example" from the console
    expires: int


def mint_connect_grant(rt: Runtime, tenant_id: int, actor: str, *, seconds: int = GRANT_SECONDS) -> str:
    """A signed grant for ``actor`` to connect accounts to ``tenant_id`` for ``seconds``.

    Call it only once you have established that ``actor`` administers the tenant.
    """
    if not actor or len(actor) > 255:
        raise ValueError("a connect grant needs an actor of 1-255 characters")
    tenant = rt.store.tenant_key(tenant_id)
    return rt.box.sign(
        {
            "kind": KIND,
            "tid": tenant_id,
            "t": tenant,
            "a": actor,
            "g": rt.store.trust.generation(tenant),
            "exp": int(time.time()) + seconds,
        }
    )


def read_connect_grant(rt: Runtime, token: str | None) -> ConnectGrant:
    """The grant, or a 403 saying why (missing, forged, expired, revoked)."""
    if not token:
        raise BadInput("open this page from your horseshoe admin page (no connect grant was sent)", status=403)
    claims = rt.box.verify(token, "connect grant")
    if claims.get("kind") != KIND:
        raise BadInput("this is not a connect grant", status=403)
    if int(claims.get("exp", 0)) < time.time():
        raise BadInput("this connect page expired; open it again from your admin page", status=403)
    tenant_id, tenant = int(claims["tid"]), str(claims["t"])
    if rt.store.tenant_id(tenant) != tenant_id or claims.get("g") != rt.store.trust.generation(tenant):
        raise BadInput("this connect page was revoked; open it again from your admin page", status=403)
    return ConnectGrant(tenant_id, tenant, str(claims["a"]), int(claims["exp"]))
