"""Identity suggestions and audit log for agents: a JSON API and an HTML page framed by Zendesk.

Authorization: the tenant's signed instance metadata (what the admin UI returned to Zendesk, see
``zendesk_tokens.issue_metadata``) in ``Authorization: Bearer ...`` (API) or the ``metadata`` form
field (page, POSTed by Zendesk like the admin UI). It authorizes that tenant only; every query is
scoped to it, and ids of another tenant's rows answer 404 (no existence leak).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request

from plugin.errors import BadInput, Unauthorized
from plugin.identity.adapter import NotReversible
from plugin.identity.plugin import IdentityPlugin
from plugin.store.identity import AuditEntry, IdentityLink
from plugin.web.extension import runtime
from plugin.web.forms import form_field
from plugin.zendesk import trust
from plugin.zendesk.admin import _framed

bp = Blueprint("identity", __name__, template_folder="templates", url_prefix="/identity")
MAX_NAME = 255


def _tenant(token: str | None) -> tuple[int, str]:
    if not token:
        raise Unauthorized("the tenant's signed metadata is required", status=401)
    # Identity data is tenant-wide: only metadata of a trusted, unrevoked instance opens it.
    granted = trust.from_metadata(runtime(), token, level=trust.Level.TENANT)
    return granted.tenant_id, granted.tenant


def _api_tenant() -> tuple[int, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return _tenant(token.strip() if scheme.lower() == "bearer" else None)


def _plugin() -> IdentityPlugin:
    plugin = runtime().pm.get_plugin("identity")
    if not isinstance(plugin, IdentityPlugin):
        raise BadInput("identity resolution is not enabled", status=404)
    return plugin


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadInput("expected a JSON object")
    return data


def _text(data: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise BadInput(f"{name} must be a non-empty string of at most {MAX_NAME} characters")
    return value.strip()


def _suggestion_json(row: IdentityLink) -> dict[str, Any]:
    keys = ("id", "sink", "network", "author_external_id", "record_id", "record_type", "confidence", "evidence",
            "candidates", "profile", "created_at")  # fmt: skip
    return {k: getattr(row, k) for k in keys}


def _audit_json(row: AuditEntry) -> dict[str, Any]:
    keys = ("id", "sink", "action", "actor", "network", "author_external_id", "record_id", "reason", "evidence",
            "reversible", "undone_by", "created_at")  # fmt: skip
    return {k: getattr(row, k) for k in keys}


@bp.get("/api/suggestions")
def suggestions() -> Any:
    tenant_id, _ = _api_tenant()
    return jsonify(suggestions=[_suggestion_json(r) for r in _plugin().suggestions(tenant_id)])


@bp.post("/api/suggestions/<int:link_id>/<any(accept, reject):decision>")
def decide(link_id: int, decision: str) -> Any:
    tenant_id, _ = _api_tenant()
    data = _body()
    by = _text(data, "by")
    record = _text(data, "record_id", required=False)
    assert by is not None
    try:
        row = _plugin().decide_suggestion(link_id, decision == "accept", f"agent:{by}", record, tenant_id=tenant_id)
    except LookupError as exc:
        raise BadInput(str(exc), status=404) from None
    except ValueError as exc:
        raise BadInput(str(exc), status=409) from None
    return jsonify(status=row.status, record_id=row.record_id)


@bp.get("/api/audit")
def audit() -> Any:
    tenant_id, _ = _api_tenant()
    return jsonify(audit=[_audit_json(r) for r in runtime().store.identity.audit_log(tenant_id)])


@bp.post("/api/audit/<int:audit_id>/undo")
def undo(audit_id: int) -> Any:
    tenant_id, _ = _api_tenant()
    by = _text(_body(), "by")
    try:
        done = _plugin().undo(audit_id, f"agent:{by}", tenant_id=tenant_id)
    except LookupError as exc:
        raise BadInput(str(exc), status=404) from None
    except (NotReversible, ValueError) as exc:
        raise BadInput(str(exc), status=409) from None
    return jsonify(done)


@bp.post("/api/forget")
def forget() -> Any:
    """Delete request (right to be forgotten) for one social profile of this tenant."""
    tenant_id, _ = _api_tenant()
    data = _body()
    network, author, by = _text(data, "network"), _text(data, "author_external_id"), _text(data, "by")
    assert network is not None and author is not None and by is not None
    result = _plugin().forget(tenant_id, network, author, f"agent:{by}", "delete request (right to be forgotten)")
    return jsonify(result)


@bp.post("/")
def page() -> Any:
    """The agents' page, POSTed by Zendesk (or a sidebar app) with the instance metadata."""
    token = form_field("metadata", max_length=5000)
    tenant_id, key = _tenant(token)
    html = render_template(
        "identity.html",
        tenant=key,
        token=token,
        suggestions=_plugin().suggestions(tenant_id),
        audit=runtime().store.identity.audit_log(tenant_id),
    )
    return _framed(html, key)
