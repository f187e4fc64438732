"""Clickthrough targets: an agent's browser is sent only to the mention's own network.

A stored mention URL came from a network payload (or a connector bug); redirecting to it blindly
would make our signed clickthrough an open redirect (``javascript:``, ``data:``, any host). Allowed:
http(s) URLs on the connector's ``link_hosts`` or their subdomains, and for a self-hosted network the
host of the account's own ``api_base``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from plugin.egress import allowed_hosts
from plugin.errors import BadInput
from plugin.runtime import Runtime

# A host name as a browser would read it the same way: letters, digits, dots and dashes only. A
# backslash (a browser's "/"), a percent escape or a control character would make Python and the
# browser disagree on the host, which is how an allowed-looking URL becomes an open redirect.
HOST_NAME = re.compile(r"^[a-z0-9.-]+$")


def _on(host: str, allowed: str) -> bool:
    allowed = allowed.lower().rstrip(".")
    return host == allowed or host.endswith("." + allowed)


def checked_link(rt: Runtime, network: str, account_id: int, url: str) -> str:
    connector = rt.registry.connectors.get(network)
    if connector is None:
        raise BadInput(f"no connector installed for {network!r}", status=404)
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        raise BadInput("the stored link is not a valid URL", status=404) from None
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise BadInput("the stored link is not an http(s) link to the network", status=404)
    if "\\" in url or any(ord(c) < 0x21 for c in url) or not HOST_NAME.fullmatch(host):
        raise BadInput("the stored link's host is ambiguous (backslash, escape or control character)", status=404)
    allowed = list(connector.link_hosts)
    found = rt.store.account(account_id)
    if found is not None and found[0].api_base and (connector.self_hosted or _private_sandbox(rt, found[0].api_base)):
        allowed.append(urlsplit(found[0].api_base).hostname or "")
    if not any(a and _on(host, a) for a in allowed):
        raise BadInput(f"the stored link does not point to {network}", status=404)
    return url


def _private_sandbox(rt: Runtime, api_base: str) -> bool:
    """The sandbox's fakes serve every network's pages from an operator-allowed local host."""
    return (urlsplit(api_base).hostname or "").lower() in allowed_hosts(rt.settings.allowed_private_hosts)
