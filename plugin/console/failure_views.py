"""The failures page: failed deliveries and uncertain replies of the admin's tenants, with actions."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from plugin.console.auth import current_admin, require_admin
from plugin.console.blueprint import bp
from plugin.console.failures import DELIVERY_ACTIONS, REPLY_ACTIONS, Action, check_why
from plugin.errors import BadInput
from plugin.store.failures import NotFound, WrongState
from plugin.web.extension import runtime
from plugin.web.forms import form_field


def _page(error: str = "", error_for: str = "", done: str = "", status: int = 200) -> Any:
    me = current_admin()
    store = runtime().store
    scope = list(me.tenant_ids) if me.tenant_ids is not None else None
    html = render_template(
        "console_failures.html", me=me, error=error, error_for=error_for, done=done,
        deliveries=store.failures.failed_deliveries(scope), replies=store.failures.uncertain_replies(scope),
        actions=store.failures.recent_actions(scope), delivery_actions=DELIVERY_ACTIONS, reply_actions=REPLY_ACTIONS,
        why=request.form.get("why", "") if error else "",
    )  # fmt: skip
    return html, status


@bp.get("/console/failures")
@require_admin
def failures() -> Any:
    done = request.args.get("done", "")
    return _page(done=done[:200])


def _act(kind: str, actions: dict[str, Action], row_id: int, action: str) -> Any:
    me = current_admin()
    chosen = actions.get(action)
    if chosen is None:
        raise BadInput(f"action must be one of {', '.join(sorted(actions))}", status=404)
    target = f"{kind}-{row_id}"
    try:
        why = check_why(form_field("why", required=False, max_length=2000))
    except ValueError as exc:
        return _page(f"Why? {str(exc).capitalize()}.", target, status=400)
    scope = list(me.tenant_ids) if me.tenant_ids is not None else None
    try:
        chosen.run(runtime().store, row_id, scope, me.actor, why)
    except NotFound as exc:
        raise BadInput(str(exc), status=404) from None
    except WrongState as exc:
        return _page(str(exc), target, status=409)
    message = f"{kind.capitalize()} {row_id} {chosen.done}."
    return redirect(url_for("console.failures", done=message), 303)


@bp.post("/console/deliveries/<row_id:delivery_id>/<action>")
@require_admin
def delivery_action(delivery_id: int, action: str) -> Any:
    return _act("delivery", DELIVERY_ACTIONS, delivery_id, action)


@bp.post("/console/replies/<row_id:reply_id>/<action>")
@require_admin
def reply_action(reply_id: int, action: str) -> Any:
    return _act("reply", REPLY_ACTIONS, reply_id, action)
