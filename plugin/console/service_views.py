"""A tenant's service settings behind the console's login (plugin/web/service_settings.py): business
hours for the SLA clock and the satisfaction survey per account, for companies without Zendesk (on
Salesforce only) and for operators. The form posts back with the console's CSRF token (checked by
``require_admin``); the audit names the logged-in admin.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from plugin.console.auth import current_admin, require_admin
from plugin.console.blueprint import bp
from plugin.errors import BadInput
from plugin.web import service_settings
from plugin.web.extension import runtime


@bp.route("/console/service/<row_id:tenant_id>", methods=["GET", "POST"])
@require_admin
def service(tenant_id: int) -> Any:
    me = current_admin()
    rt = runtime()
    keys = {row.id: row.key for row in rt.store.tenants.all()}
    if not me.reaches(tenant_id) or tenant_id not in keys:
        # The same answer as for a tenant that does not exist: another tenant's existence is not told.
        raise BadInput("no such tenant", status=404)
    error: BadInput | None = None
    saved: list[str] | None = None
    if request.method == "POST":
        try:
            saved = service_settings.apply(rt, tenant_id, request.form, actor=f"console:{me.name}")
        except service_settings.ServiceSettingsInvalid as exc:
            error = exc
    page = render_template(
        "console_service.html",
        me=me,
        tenant_id=tenant_id,
        tenant=keys[tenant_id],
        service=service_settings.current(rt, tenant_id),
        service_errors=service_settings.field_error(error),
        service_refill=request.form if error is not None else None,
        error=str(error) if error is not None else "",
        saved=saved,
    )
    return (page, 400) if error is not None else page
