"""The connect pages (``/connect``): pick a network, fill its start form, sign in at the network, pick
the accounts found, see what was registered and what is left to paste into the network's console.

Every POST carries the connect grant (plugin/connect/grant.py); the OAuth callback carries the signed
state and the browser binding cookie instead. Pages are never framed (a network's sign-in page refuses
frames anyway; the Zendesk admin page opens this in a new tab), send no Referer (the callback URL holds
the authorization code) and are never cached.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, render_template, request

from plugin.connect import accounts, flow
from plugin.connect.grant import ConnectGrant, mint_connect_grant, read_connect_grant
from plugin.connectflow import FoundAccount
from plugin.errors import AuthError, BadInput, FatalError, RetriableError
from plugin.web import model_forms
from plugin.web.extension import runtime
from plugin.web.forms import form_field

bp = Blueprint("connect", __name__, template_folder="templates", url_prefix="/connect")
BINDING_COOKIE = "horseshoe_connect"
MAX_PICKED = 100


def _page(template: str, status: int = 200, **context: Any) -> Any:
    response = make_response(render_template(template, **context), status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'unsafe-inline'; script-src 'none'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _grant() -> tuple[ConnectGrant, str]:
    token = form_field("grant", required=False, max_length=4096)
    return read_connect_grant(runtime(), token), str(token)


def _connector(network: str) -> flow.Owner:
    connector = flow.owners(runtime()).get(network)
    if connector is None:
        raise BadInput(f"no guided connection for {network!r}", status=404)
    return connector


@bp.errorhandler(BadInput)
def refused(exc: BadInput) -> Any:
    """A refusal is a page with the reason, in the status it deserves (never a 500)."""
    return _page("connect_error.html", exc.status if 400 <= exc.status < 600 else 400, error=str(exc))


@bp.post("/")
def networks() -> Any:
    grant, token = _grant()
    connectors = sorted(runtime().registry.connectors.values(), key=lambda c: c.display_name or c.name)
    guided = [c for c in connectors if c.connect_flow() is not None]
    manual = [c for c in connectors if c.connect_flow() is None]
    crms = [s for s in runtime().registry.sinks.values() if s.connect_flow() is not None]
    return _page("connect_networks.html", grant=token, tenant=grant.tenant, guided=guided, manual=manual, crms=crms)


def _start_page(connector: flow.Owner, token: str, status: int = 200, error: BadInput | None = None) -> Any:
    guided = flow.flow_of(connector)
    errors = error.fields if isinstance(error, flow.StartInvalid) else {}
    general = (error.general if isinstance(error, flow.StartInvalid) else [str(error)]) if error else []
    values = model_forms.submitted(request.form, flow.START) if error else {}
    fields = model_forms.form_fields(guided.start_model, flow.START, values, errors, from_form=error is not None)
    return _page(
        "connect_start.html", status, grant=token, connector=connector, flow=guided, fields=fields, errors=general
    )


@bp.post("/<network>")
def start(network: str) -> Any:
    grant, token = _grant()
    connector = _connector(network)
    if (form_field("action", required=False, max_length=16) or "show") == "show":
        return _start_page(connector, token)
    try:
        outcome = flow.start(runtime(), grant, connector, request.form)
    except flow.StartInvalid as exc:
        return _start_page(connector, token, 400, exc)
    except AuthError as exc:
        return _start_page(connector, token, 400, BadInput(f"{connector.display_name} refused: {exc}"))
    except (FatalError, RetriableError) as exc:
        return _start_page(connector, token, 502, BadInput(f"{connector.display_name} could not be asked: {exc}"))
    if isinstance(outcome, flow.Redirect):
        response = _page("connect_continue.html", connector=connector, url=outcome.url)
        secure = runtime().settings.public_url.startswith("https://")
        # Lax: sent on the network's top-level redirect back to us, never on a cross-site POST.
        response.set_cookie(
            BINDING_COOKIE, outcome.binding, max_age=flow.STATE_SECONDS, path="/connect", httponly=True,
            secure=secure, samesite="Lax",
        )  # fmt: skip
        return response
    return _pick_page(grant, token, connector.name, outcome)


def _pick_page(grant: ConnectGrant, token: str, network: str, found: list[FoundAccount], error: str = "") -> Any:
    if not found:
        raise BadInput(f"{network} found no account this sign-in may manage", status=404)
    rt = runtime()
    display = {c.name: c.display_name or c.name for c in flow.owners(rt).values()}
    return _page(
        "connect_pick.html", grant=token, sealed=flow.seal(rt, grant, network, found), found=found,
        network=network, display=display, error=error,
    )  # fmt: skip


@bp.get("/callback")
def callback() -> Any:
    rt = runtime()
    params = {k: v for k, v in request.args.items() if len(v) <= 4096}
    try:
        grant, network, found = flow.finish(rt, flow.owners(rt), params, request.cookies.get(BINDING_COOKIE))
    except AuthError as exc:
        raise BadInput(f"the network refused the sign-in: {exc}", status=403) from None
    except (FatalError, RetriableError) as exc:
        raise BadInput(f"the network could not be asked: {exc}", status=502) from None
    # The state was bound to the grant's tenant and actor: the pick page carries a fresh grant for them.
    token = mint_connect_grant(rt, grant.tenant_id, grant.actor, seconds=600)
    response = _pick_page(grant, token, network, found)
    response.delete_cookie(BINDING_COOKIE, path="/connect")
    return response


@bp.post("/save")
def save() -> Any:
    grant, token = _grant()
    network, found = flow.unseal(runtime(), grant, form_field("sealed", max_length=200_000))
    picked = request.form.getlist("pick")
    if len(picked) > MAX_PICKED or not all(p.isdigit() and int(p) < len(found) for p in picked):
        raise BadInput("pick accounts from the list")
    if not picked:
        response = _pick_page(grant, token, network, found, "tick at least one account to connect")
        response.status_code = 400
        return response
    done = [accounts.save(runtime(), grant, network, found[int(i)]) for i in sorted(set(picked), key=int)]
    return _page("connect_done.html", grant=token, done=done)


@bp.post("/activate")
def activate() -> Any:
    grant, token = _grant()
    raw = form_field("account_id", max_length=20)
    if raw is None or not raw.isdigit():
        raise BadInput("account_id must be a number")
    return _page("connect_done.html", grant=token, done=[accounts.activate(runtime(), grant, int(raw))])
