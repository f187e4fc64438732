"""``/attachments/<signed token>``: files a connector stored as a ``horseshoe-file:`` reference.

Some networks serve a customer's file only at a URL holding a secret (Telegram:
``/file/bot<token>/<path>``), which must never be stored, shown to an agent or handed to a CRM. The
connector stores ``horseshoe-file:<its own reference>`` instead; ``file_url`` turns that into a link
to this route, signed with the host's current key (the token names it: ``kid``) and naming tenant, the tenant's
revocation generation, network, account and reference, valid for ``LINK_DAYS``. A link is revoked
with the tenant (uninstall, ``horseshoe tenants revoke``: the generation moves on) or with its key
(``horseshoe keys rotate --revoke``). Opening the link fetches the file through the connector (``open_attachment``) and
streams it: whoever holds a link sees that one file, nothing else (trust nothing by default).

A CRM sink building file URLs passes each attachment URL through ``file_url`` (ordinary https URLs
come back unchanged): Zendesk imports ``file_urls`` itself, both on push (``ZendeskSink.file_links``,
bound at start-up) and on pull, so the agent sees the file in the ticket.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response

from plugin import trust
from plugin.connector import FILE_REFERENCE
from plugin.errors import BadInput, FatalError, RetriableError, Unauthorized
from plugin.runtime import Runtime
from plugin.secrets import SecretBox
from plugin.web.extension import runtime

bp = Blueprint("attachments", __name__)
LINK_DAYS = 7  # a CRM imports the file when the ticket is made; the link need not live for ever
PURPOSE = "file"


def file_url(
    box: SecretBox,
    public_url: str,
    tenant_id: int,
    network: str,
    account: str,
    url: str,
    *,
    generation: int = 0,
    now: float | None = None,
) -> str:
    """``url`` itself, or for a ``horseshoe-file:`` reference a signed link to this route
    (``generation``: the tenant's current revocation generation, ``store.trust.generation``)."""
    if not url.startswith(FILE_REFERENCE):
        return url
    claims = {
        "p": PURPOSE,
        "t": tenant_id,
        "g": generation,
        "n": network,
        "a": account,
        "r": url[len(FILE_REFERENCE) :],
        "exp": int((now if now is not None else time.time()) + LINK_DAYS * 86400),
    }
    return f"{public_url.rstrip('/')}/attachments/{box.sign(claims)}"


def file_links(rt: Runtime) -> Callable[[int, str, str, str], str]:
    """``file_url`` bound to the runtime: (tenant id, network, account, URL) -> a link Zendesk can
    import, signed for the tenant's current generation."""

    def link(tenant_id: int, network: str, account: str, url: str) -> str:
        if not url.startswith(FILE_REFERENCE):
            return url
        generation = rt.store.trust.generation(rt.store.tenant_key(tenant_id))
        return file_url(rt.box, rt.settings.public_url, tenant_id, network, account, url, generation=generation)

    return link


@bp.get("/attachments/<token>")
def open_file(token: str) -> Any:
    rt = runtime()
    claims = rt.box.verify(token, "attachment link")
    if claims.get("p") != PURPOSE or not isinstance(claims.get("exp"), int):
        raise Unauthorized("not an attachment link", status=403)
    if claims["exp"] < time.time():
        raise BadInput("attachment link has expired", status=410)
    network, account, reference = claims.get("n"), claims.get("a"), claims.get("r")
    tenant, generation = claims.get("t"), claims.get("g", 0)
    if not (isinstance(network, str) and isinstance(account, str) and isinstance(reference, str)):
        raise Unauthorized("attachment link is malformed", status=403)
    if network not in rt.registry.connectors or not isinstance(tenant, int) or not isinstance(generation, int):
        raise BadInput("attachment link names no known network", status=404)
    found = rt.store.find_account(tenant, network, account)
    if found is None:
        raise BadInput("the account of this attachment is no longer connected", status=404)
    granted = trust.for_file_link(rt, tenant, found[0].id, generation)
    granted.require_account(found[0].id)
    try:
        download = rt.registry.connector(network).open_attachment(found[1], reference)
    except RetriableError as exc:
        raise BadInput(f"{network} did not serve the file just now, try again: {exc}", status=503) from exc
    except FatalError as exc:  # too big, gone, bot token revoked: the reason is the network's
        raise BadInput(f"{network} does not serve this file: {exc}", status=502) from exc
    headers = {"Cache-Control": "private, max-age=3600"}
    if download.filename:
        safe = "".join(c for c in download.filename if c.isalnum() or c in "._-") or "file"
        headers["Content-Disposition"] = f'inline; filename="{safe}"'
    return Response(download.body, content_type=download.content_type, headers=headers)
