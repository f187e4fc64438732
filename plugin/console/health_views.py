"""The console's health page (issue 15): per account and per CRM connection, its state, last success,
last error in plain words and token expiry, with what to do where an admin is needed.

For a company on Salesforce only, this page is what the Zendesk admin page's health is for the others;
both read the same repository and say it in the same words (``plugin/healthwords.py``).
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for

from plugin.connect.grant import mint_connect_grant
from plugin.console.auth import current_admin, require_admin
from plugin.console.blueprint import bp
from plugin.console.health import board
from plugin.healthwords import attention_state, when
from plugin.web.extension import runtime


@bp.get("/console/health")
@require_admin
def health() -> Any:
    me = current_admin()
    if me.must_change_password:
        return redirect(url_for("console.password"))
    rt = runtime()
    found = board(rt, me)
    # "Connect it again" is the guided connect flow, which trusts only a signed grant for one tenant
    # (plugin/connect/grant.py): minted for each tenant that has something to reconnect, as the home does.
    needing = {line.health.tenant_id for line in found.accounts if line.state.needs_admin}
    needing |= {line.health.tenant_id for line in found.sinks if line.state.needs_admin and line.guided}
    needing |= {a.tenant_id for a in found.orphans}
    grants = {tenant_id: mint_connect_grant(rt, tenant_id, me.actor) for tenant_id in needing}
    keys = {row.id: row.key for row in rt.store.tenants.all() if me.reaches(row.id)}
    return render_template("console_health.html", me=me, board=found, grants=grants, when=when, tenant_keys=keys,
                           attention_state=attention_state)  # fmt: skip
