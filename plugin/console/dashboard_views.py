"""The service dashboard (plugin/dashboard) behind the console's login, one tenant at a time.

The dashboard itself only needs an authenticated tenant; here that is a tenant the logged-in admin
reaches, and the filter form posts back with the console's CSRF token (checked by ``require_admin``).
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from plugin.console.auth import current_admin, require_admin
from plugin.console.blueprint import bp
from plugin.dashboard.views import dashboard_html
from plugin.errors import BadInput
from plugin.web.extension import runtime


@bp.route("/console/dashboard/<row_id:tenant_id>", methods=["GET", "POST"])
@require_admin
def dashboard(tenant_id: int) -> Any:
    me = current_admin()
    if not me.reaches(tenant_id):
        # The same answer as for a tenant that does not exist: another tenant's existence is not told.
        raise BadInput("no such tenant", status=404)
    keys = {row.id: row.key for row in runtime().store.tenants.all()}
    if tenant_id not in keys:
        raise BadInput("no such tenant", status=404)
    tenant_key = keys[tenant_id]
    filters = request.form if request.method == "POST" else request.args
    action = url_for("console.dashboard", tenant_id=tenant_id)
    return dashboard_html(tenant_id, tenant_key, filters, action=action, auth={"csrf_token": me.csrf_token},
                          layout="console_dashboard.html", me=me)  # fmt: skip
