"""The quarantine page: items a connector could not read, for the admin's tenants; show, retry, discard.

Retry re-parses with the connector as installed now (after a fix, what it yields goes into the inbox);
discard needs a reason. Both are recorded with the admin's name (``pipeline/quarantine.py``) and, like
every console form, need the session's CSRF token (``require_admin``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import redirect, render_template, request, url_for

from plugin.console.auth import Principal, current_admin, require_admin
from plugin.console.blueprint import bp
from plugin.console.failures import check_why
from plugin.errors import BadInput
from plugin.pipeline import quarantine as host_quarantine
from plugin.store.quarantine import QuarantineRow
from plugin.web.extension import runtime
from plugin.web.forms import form_field

SHOWN = 200
MAX_PAYLOAD_CHARS = 20_000


def _rows(me: Principal) -> list[QuarantineRow]:
    store = runtime().store
    if me.tenant_ids is None:
        return store.quarantine.list(limit=SHOWN)
    rows = [r for tenant_id in me.tenant_ids for r in store.quarantine.list(tenant_id=tenant_id, limit=SHOWN)]
    return sorted(rows, key=lambda r: r.id, reverse=True)[:SHOWN]


def _payload(row: QuarantineRow) -> str:
    text = json.dumps(row.payload, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_PAYLOAD_CHARS else text[:MAX_PAYLOAD_CHARS] + "\n… (cut; the CLI shows it all)"


def _page(error: str = "", error_for: str = "", done: str = "", status: int = 200) -> Any:
    me = current_admin()
    rt = runtime()
    tenants = {row.id: row.key for row in rt.store.tenants.all()}
    handles = {a.id: a.handle or a.external_id for a in rt.store.accounts()}
    html = render_template(
        "console_quarantine.html", me=me, items=_rows(me), tenants=tenants, handles=handles, payload=_payload,
        error=error, error_for=error_for, done=done, why=request.form.get("why", "") if error else "",
    )  # fmt: skip
    return html, status


def _item(item_id: int, me: Principal) -> QuarantineRow:
    row = runtime().store.quarantine.get(item_id)
    if row is None or not me.reaches(row.tenant_id):
        raise BadInput("no such quarantined item", status=404)  # another tenant's is not told apart
    return row


@bp.get("/console/quarantine")
@require_admin
def quarantine() -> Any:
    return _page(done=request.args.get("done", "")[:300])


@bp.post("/console/quarantine/<row_id:item_id>/retry")
@require_admin
def quarantine_retry(item_id: int) -> Any:
    me = current_admin()
    row = _item(item_id, me)
    try:
        result = host_quarantine.retry_as(runtime(), row, me.actor)
    except BadInput as exc:
        return _page(str(exc), f"item-{item_id}", status=409)
    if not result.released:
        return _page(f"Still fails: {result.outcome}", f"item-{item_id}", status=409)
    return redirect(url_for("console.quarantine", done=f"Item {item_id} released: {result.outcome}"), 303)


@bp.post("/console/quarantine/<row_id:item_id>/discard")
@require_admin
def quarantine_discard(item_id: int) -> Any:
    me = current_admin()
    row = _item(item_id, me)
    try:
        why = check_why(form_field("why", required=False, max_length=2000))
    except ValueError as exc:
        return _page(f"Why? {str(exc).capitalize()}.", f"item-{item_id}", status=400)
    if not host_quarantine.discard(runtime(), row, me.actor, why):
        return _page(f"Item {item_id} is {row.status} already.", f"item-{item_id}", status=409)
    return redirect(url_for("console.quarantine", done=f"Item {item_id} discarded."), 303)
