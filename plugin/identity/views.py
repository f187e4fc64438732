"""Identity suggestions and audit log for agents: a JSON API and an HTML page framed by Zendesk.

Authorization: the tenant's signed instance metadata (what the admin UI returned to Zendesk, see
``zendesk_tokens.issue_metadata``) in ``Authorization: Bearer ...`` (API) or the ``metadata`` form
field (page, POSTed by Zendesk like the admin UI). It authorizes that tenant only; every query is
scoped to it, and ids of another tenant's rows answer 404 (no existence leak). Standalone, the same
page is served behind the console's login (``identity_console.py``).

The audit's "who" is never typed by the user: inside Zendesk it is what Zendesk vouches for (the
tenant and channel instance the signed metadata names, ``zendesk_actor``); in the console it is the
logged-in admin. A ``by`` field in the request body is ignored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request

from plugin.errors import BadInput, Unauthorized
from plugin.identity.adapter import NotReversible
from plugin.identity.plugin import IdentityPlugin
from plugin.store.identity import AuditEntry, IdentityLink
from plugin.web.extension import runtime
from plugin.web.forms import form_field, json_body
from plugin.zendesk import trust
from plugin.zendesk.admin import _framed

bp = Blueprint("identity", __name__, template_folder="templates", url_prefix="/identity")
MAX_NAME = 255


def zendesk_actor(granted: trust.Trust) -> str:
    """Who acted, as far as Zendesk vouches: its account and the channel instance the metadata names."""
    return f"zendesk:{granted.tenant}/{granted.instance}" if granted.instance else f"zendesk:{granted.tenant}"


def _trust(token: str | None) -> trust.Trust:
    if not token:
        raise Unauthorized("the tenant's signed metadata is required", status=401)
    # Identity data is tenant-wide: only metadata of a trusted, unrevoked instance opens it.
    return trust.from_metadata(runtime(), token, level=trust.Level.TENANT)


def _tenant(token: str | None) -> tuple[int, str]:
    granted = _trust(token)
    return granted.tenant_id, granted.tenant


def _api_trust() -> trust.Trust:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return _trust(token.strip() if scheme.lower() == "bearer" else None)


def _api_tenant() -> tuple[int, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return _tenant(token.strip() if scheme.lower() == "bearer" else None)


def identity_plugin() -> IdentityPlugin:
    plugin = runtime().pm.get_plugin("identity")
    if not isinstance(plugin, IdentityPlugin):
        raise BadInput("identity resolution is not enabled", status=404)
    return plugin


def _body() -> dict[str, Any]:
    data = json_body()  # 400 for bad JSON, deep nesting and lone surrogates (found by bench fuzz)
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
    return jsonify(suggestions=[_suggestion_json(r) for r in identity_plugin().suggestions(tenant_id)])


@bp.post("/api/suggestions/<row_id:link_id>/<any(accept, reject):decision>")
def decide(link_id: int, decision: str) -> Any:
    granted = _api_trust()
    record = _text(_body(), "record_id", required=False)
    try:
        row = identity_plugin().decide_suggestion(
            link_id, decision == "accept", zendesk_actor(granted), record, tenant_id=granted.tenant_id
        )
    except LookupError as exc:
        raise BadInput(str(exc), status=404) from None
    except ValueError as exc:
        raise BadInput(str(exc), status=409) from None
    return jsonify(status=row.status, record_id=row.record_id)


@bp.get("/api/audit")
def audit() -> Any:
    tenant_id, _ = _api_tenant()
    return jsonify(audit=[_audit_json(r) for r in runtime().store.identity.audit_log(tenant_id)])


@bp.post("/api/audit/<row_id:audit_id>/undo")
def undo(audit_id: int) -> Any:
    granted = _api_trust()
    try:
        done = identity_plugin().undo(audit_id, zendesk_actor(granted), tenant_id=granted.tenant_id)
    except LookupError as exc:
        raise BadInput(str(exc), status=404) from None
    except (NotReversible, ValueError) as exc:
        raise BadInput(str(exc), status=409) from None
    return jsonify(done)


@bp.post("/api/forget")
def forget() -> Any:
    """Delete request (right to be forgotten) for one social profile of this tenant."""
    granted = _api_trust()
    data = _body()
    network, author = _text(data, "network"), _text(data, "author_external_id")
    assert network is not None and author is not None
    reason = "delete request (right to be forgotten)"
    result = identity_plugin().forget(granted.tenant_id, network, author, zendesk_actor(granted), reason)
    return jsonify(result)


@bp.post("/")
def page() -> Any:
    """The agents' page, POSTed by Zendesk (or a sidebar app) with the instance metadata."""
    token = form_field("metadata", max_length=5000)
    granted = _trust(token)
    tenant_id, key = granted.tenant_id, granted.tenant
    html = render_template(
        "identity.html",
        tenant=key,
        token=token,
        actor=zendesk_actor(granted),
        suggestions=identity_plugin().suggestions(tenant_id),
        audit=runtime().store.identity.audit_log(tenant_id),
    )
    return _framed(html, key)
