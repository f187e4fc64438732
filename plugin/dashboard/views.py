"""The dashboard page and ``/api/metrics``: one tenant's service figures, with period/network/account filters.

Who may look (each request resolves a tenant once and every read is scoped to it):

- ``POST /dashboard/`` from the Zendesk admin UI, carrying its signed admin session (``flow``), or
  from Zendesk / a sidebar app with the tenant's signed instance metadata (``metadata``);
- ``GET /api/metrics`` with that metadata in ``Authorization: Bearer ...``.

``dashboard_html(tenant_id, ...)`` and ``metrics_for(tenant_id, ...)`` take an already authenticated
tenant, so another front door (the standalone console) mounts the same page behind its own login.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from plugin import businesshours
from plugin.dashboard import charts, figures
from plugin.errors import BadInput, Unauthorized
from plugin.store.db import utcnow
from plugin.web.extension import runtime
from plugin.web.forms import form_field
from plugin.zendesk import trust
from plugin.zendesk.admin import _framed

bp = Blueprint("dashboard", __name__, template_folder="templates")
FILTER_FIELDS = ("period", "since", "until", "network", "account")
MAX_FIELD = 64


def thresholds() -> tuple[int, ...]:
    return figures.parse_thresholds(runtime().settings.sla_minutes)


def _filter_args(source: Mapping[str, str]) -> dict[str, str]:
    args = {}
    for name in FILTER_FIELDS:
        value = source.get(name)
        if value is None:
            continue
        if len(value) > MAX_FIELD:
            raise BadInput(f"{name} is longer than {MAX_FIELD} characters")
        args[name] = value
    return args


def metrics_for(tenant_id: int, args: Mapping[str, str]) -> dict[str, Any]:
    """The figures of one (authenticated) tenant for these filters; a bad filter is a 400."""
    rt = runtime()
    now = utcnow()
    filters = figures.parse_filters(_filter_args(args), now, rt.registry.connectors)
    if filters.account_id is not None and filters.account_id not in {a.id for a in rt.store.accounts(tenant_id)}:
        raise BadInput("no such brand account for this tenant", status=404)
    rows = rt.store.service.rollup(
        tenant_id, filters.since, filters.until, grain=filters.granularity, network=filters.network,
        account_id=filters.account_id,
    )  # fmt: skip
    clock = businesshours.stored(rt.store.csat.business_hours(tenant_id))
    data = figures.metrics(rows, filters, thresholds(), now, clock)
    data["satisfaction_issues"] = satisfaction_issues(tenant_id, filters)
    return data


def satisfaction_issues(tenant_id: int, filters: figures.Filters) -> dict[str, Any]:
    """What kept the survey from reaching customers or CRMs: questions not asked or not sent (per
    reason, conversations solved in the period) and ratings a CRM refused (newest first)."""
    store = runtime().store
    reasons = store.service.csat_reasons(tenant_id, filters.since, filters.until)
    not_asked = [{"state": state, "reason": reason, "conversations": n} for state, reason, n in reasons]
    refused = [
        {"sink": w.sink, "ticket": w.ticket, "rating": w.rating, "error": w.last_error, "at": figures.iso(w.updated_at)}
        for w in store.csat.failed(tenant_id, limit=20)
    ]
    return {"not_asked": not_asked, "ratings_not_written": refused}


def dashboard_html(tenant_id: int, tenant_name: str, args: Mapping[str, str], *, action: str,
                   auth: Mapping[str, str], layout: str | None = None, **page: Any) -> str:  # fmt: skip
    """The page for one authenticated tenant. ``action`` is where the filter form posts back and
    ``auth`` the hidden fields that authenticate that post (this front door's own session).
    ``layout`` is the template around the dashboard (default: a page of its own, for Zendesk's
    iframe; the console passes its own, with its nav bar) and ``page`` what that layout needs."""
    rt = runtime()
    data = metrics_for(tenant_id, args)
    return render_template(
        "dashboard.html",
        layout=layout,
        **page,
        tenant=tenant_name,
        metrics=data,
        totals=data["totals"],
        charts=charts.all_charts(data),
        action=action,
        auth=auth,
        periods=list(figures.PERIODS),
        networks=sorted(rt.registry.connectors),
        accounts=rt.store.accounts(tenant_id),
        selected=data["filters"],
    )


@bp.post("/dashboard/")
def page() -> Any:
    """Opened from the Zendesk admin UI (``flow``) or by Zendesk with the instance ``metadata``."""
    rt = runtime()
    flow = form_field("flow", required=False, max_length=5000)
    metadata = form_field("metadata", required=False, max_length=5000)
    if metadata:
        granted = trust.from_metadata(rt, metadata, level=trust.Level.TENANT)
        auth = {"metadata": metadata}
    else:
        granted = trust.from_admin_session(rt, flow)
        auth = {"flow": flow or ""}
    html = dashboard_html(granted.tenant_id, granted.tenant, request.form, action="/dashboard/", auth=auth)
    return _framed(html, granted.tenant)


@bp.get("/api/metrics")
def api_metrics() -> Any:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization: Bearer <the tenant's signed metadata> is required", status=401)
    granted = trust.from_metadata(runtime(), token.strip(), level=trust.Level.TENANT)
    return jsonify(metrics_for(granted.tenant_id, request.args))
