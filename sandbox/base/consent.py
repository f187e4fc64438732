"""The consent step of an OAuth 2.0 authorization-code flow (RFC 6749 §4.1), shared by the fakes.

A real network shows the signed-in user a page asking to authorize the app, then redirects the browser
to the registered ``redirect_uri`` with ``code`` and ``state`` (or ``error=access_denied``). The fakes
have no login sessions, so their page lets the tester pick which of the fake's users signs in. As the
RFC requires, a request whose client or redirect URI is wrong is answered with an error page and never
redirected (§4.1.2.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from urllib.parse import urlencode

from werkzeug.wrappers import Response

APPROVE = "approve"
DENY = "deny"


def consent_page(
    *,
    network: str,
    app_name: str,
    scopes: Iterable[str],
    users: Iterable[tuple[str, str]],
    hidden: Mapping[str, str],
    action: str = "",
) -> Response:
    """The page the user approves on: pick who signs in (``users``: id, label), approve or deny."""
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    options = "".join(f'<option value="{escape(uid)}">{escape(label)}</option>' for uid, label in users)
    scope_items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(network)} — authorize</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;margin:0;background:#eef1f4;color:#1c2733}}
main{{max-width:460px;margin:40px auto;background:#fff;border-radius:10px;padding:24px;box-shadow:0 1px 4px #0002}}
select,button{{font:inherit;padding:8px;width:100%;box-sizing:border-box;margin:6px 0}}
button{{border:0;border-radius:6px;background:#1d4ed8;color:#fff}} button.deny{{background:#e5e7eb;color:#111}}</style>
</head><body><main><h1 style="font-size:20px">{escape(network)}: authorize {escape(app_name)}?</h1>
<p>{escape(app_name)} will be able to:</p><ul>{scope_items}</ul>
<form method="post" action="{escape(action)}">{inputs}
<label>Signed in as <select name="sandbox_user">{options}</select></label>
<button type="submit" name="decision" value="{APPROVE}" id="approve">Authorize</button>
<button type="submit" name="decision" value="{DENY}" class="deny" id="deny">Deny</button></form></main></body></html>"""
    return Response(html, content_type="text/html; charset=utf-8")


def redirect_back(redirect_uri: str, params: Mapping[str, str]) -> Response:
    """302 to the client's redirect URI with ``params`` added to its query."""
    joiner = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": f"{redirect_uri}{joiner}{urlencode(dict(params))}"})


def error_page(message: str, status: int = 400) -> Response:
    """An authorization request that must not be redirected (unknown client, wrong redirect URI)."""
    return Response(f"<!doctype html><p>{escape(message)}</p>", status=status, content_type="text/html; charset=utf-8")
