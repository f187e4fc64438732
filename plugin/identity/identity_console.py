"""The identity page standalone: behind the console's login, the actor is the logged-in admin.

For companies without Zendesk (Salesforce only) and for operators. Same data and decisions as the
page Zendesk frames (``views.py``); plain forms with the console's CSRF token, no script.
"""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request, url_for

from plugin.console.auth import Principal, principal, require_admin
from plugin.console.blueprint import console_headers
from plugin.errors import BadInput
from plugin.identity.views import bp, identity_plugin
from plugin.web.extension import runtime
from plugin.web.forms import form_field


def _me() -> Principal:
    found = principal()
    assert found is not None  # require_admin ran
    return found


def _tenant(me: Principal, key: str | None) -> tuple[int, str] | None:
    """The tenant to show: the one asked for if the admin reaches it, else their first; None if none."""
    reachable = [(row.id, row.key) for row in runtime().store.tenants.all() if me.reaches(row.id)]
    if key:
        chosen = [pair for pair in reachable if pair[1] == key]
        if not chosen:
            raise BadInput("no such tenant here", status=404)
        return chosen[0]
    return reachable[0] if reachable else None


@bp.get("/console")
@require_admin
def console_page() -> Any:
    me = _me()
    rt = runtime()
    chosen = _tenant(me, request.args.get("tenant"))
    tenants = [row.key for row in rt.store.tenants.all() if me.reaches(row.id)]
    suggestions = identity_plugin().suggestions(chosen[0]) if chosen else []
    audit = rt.store.identity.audit_log(chosen[0]) if chosen else []
    html = render_template(
        "identity_console.html", me=me, tenant=chosen[1] if chosen else None, tenants=tenants,
        suggestions=suggestions, audit=audit, done=request.args.get("done", "")[:200],
    )  # fmt: skip
    return console_headers(make_response(html))


@bp.post("/console/suggestions/<row_id:link_id>/<any(accept, reject):decision>")
@require_admin
def console_decide(link_id: int, decision: str) -> Any:
    me = _me()
    chosen = _tenant(me, form_field("tenant", max_length=255))
    if chosen is None:
        raise BadInput("no tenant here", status=404)
    record = form_field("record_id", required=False, max_length=255)
    try:
        row = identity_plugin().decide_suggestion(link_id, decision == "accept", me.actor, record, tenant_id=chosen[0])
    except LookupError as exc:
        raise BadInput(str(exc), status=404) from None
    except ValueError as exc:
        raise BadInput(str(exc), status=409) from None
    done = f"Linked to {row.record_id}" if decision == "accept" else "Suggestion rejected"
    return redirect(url_for("identity.console_page", tenant=chosen[1], done=done), 303)
