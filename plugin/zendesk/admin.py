"""The Channel Framework admin UI: Zendesk POSTs the admin's browser here when an integration
account is added or edited; the admin picks network accounts; we return ``name`` and ``metadata`` to
Zendesk by auto-submitting a form to ``return_url`` (Channel framework docs, "Administrative
interface"). It is shown inside Zendesk's iframe, so framing by Zendesk is allowed explicitly.
"""

from __future__ import annotations

import time
from typing import Any

from flask import make_response, render_template, request

from plugin import healthwords
from plugin.connect.grant import mint_connect_grant
from plugin.errors import AuthError, BadInput, RetriableError
from plugin.web import service_settings
from plugin.web.extension import runtime
from plugin.web.forms import form_field
from plugin.zendesk import admin_quarantine, trust
from plugin.zendesk.admin_accounts import connect_account, network_forms
from plugin.zendesk.blueprint import bp
from plugin.zendesk.instances import instances, with_instance, with_selection
from plugin.zendesk.push import ZendeskPushClient
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata

FLOW_SECONDS = 3600


def _rest_from_form(config: dict[str, Any]) -> dict[str, Any]:
    """Apply the admin's REST API credential fields (identity resolution needs the REST API, which the
    push token does not open). They live in the connection config, encrypted, beside the instances;
    a blank secret keeps the stored one, which is never shown back."""
    email = form_field("api_email", required=False, max_length=255)
    token = form_field("api_token", required=False, max_length=1024)
    oauth = form_field("oauth_token", required=False, max_length=1024)
    updated = dict(config)
    if email is not None and email.strip():
        updated["api_email"] = email.strip()
    if token:
        updated["api_token"] = token
    if oauth:
        updated["oauth_token"] = oauth
    return updated


def _framed(html: str, subdomain: str) -> Any:
    """Only this tenant's own Zendesk (or the operator's configured one) may frame the page."""
    response = make_response(html)
    response.headers["Content-Security-Policy"] = (
        f"frame-ancestors 'self' {trust.zendesk_origin(runtime(), subdomain)}; "
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        f"form-action 'self' {trust.zendesk_origin(runtime(), subdomain)}; base-uri 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/admin")
def admin_start() -> Any:
    rt = runtime()
    subdomain = trust.check_subdomain(form_field("subdomain", max_length=63))
    return_url = form_field("return_url", max_length=2048)
    assert return_url is not None
    trust.check_return_url(rt, return_url, subdomain)
    name = form_field("name", required=False, max_length=255) or f"horseshoe ({subdomain})"
    locale = form_field("locale", required=False, max_length=32) or "en"
    push_id = form_field("instance_push_id", required=False, max_length=255)
    token = form_field("zendesk_access_token", required=False, max_length=1024)
    existing = form_field("metadata", required=False, max_length=5000)
    code = form_field("install_code", required=False, max_length=128)
    # Zendesk is asked only for a tenant that is installed already (it cannot vouch for a first one).
    known = rt.store.tenant_id(subdomain)
    confirms = bool(
        push_id
        and token
        and known is not None
        and rt.store.sink_connection(known, "zendesk") is not None
        and _zendesk_confirms(subdomain, push_id, token)
    )
    granted = trust.for_admin(rt, subdomain, metadata=existing, zendesk_confirms=confirms, install_code=code)
    flow = _flow_token(subdomain, push_id, token, granted, return_url, name, locale)
    if granted is None:
        # Untrusted: the page only asks for the operator's install code; nothing is read or stored.
        return _framed(render_template("zendesk_install_code.html", subdomain=subdomain, flow=flow), subdomain)
    if push_id and token:
        _store_instance(granted.tenant_id, subdomain, push_id, token)
    selected = set(granted.account_ids) if existing else set()
    html = _admin_page(granted.tenant_id, subdomain, name, flow, selected or _unassigned(granted.tenant_id))
    return _framed(html, subdomain)


def _flow_token(
    subdomain: str,
    push_id: str | None,
    token: str | None,
    granted: trust.Trust | None,
    return_url: str,
    name: str,
    locale: str,
) -> str:
    """The admin session, signed; the push token inside is encrypted (the page holds the session)."""
    rt = runtime()
    return rt.box.sign(
        {
            "kind": "zd-admin",
            "t": subdomain,
            "p": push_id,
            "zt": rt.box.encrypt_json(token) if token else None,
            "tr": granted is not None,
            "via": granted.via if granted is not None else None,
            "g": rt.store.trust.generation(subdomain),
            "r": return_url,
            "n": name,
            "l": locale,
            "exp": int(time.time()) + FLOW_SECONDS,
        }
    )


def _zendesk_confirms(subdomain: str, push_id: str, token: str) -> bool:
    config = {"subdomain": subdomain, "instance_push_id": push_id, "zendesk_access_token": token}
    if runtime().settings.zendesk_api_base:
        config["api_base"] = runtime().settings.zendesk_api_base
    try:
        return ZendeskPushClient(config).validate_token()
    except (AuthError, RetriableError):
        return False


def _admin_page(
    tenant_id: int,
    subdomain: str,
    name: str,
    flow: str,
    selected: set[int],
    error: BadInput | None = None,
    *,
    refill: bool = False,
    notice: str = "",
) -> str:
    """The page; ``refill``: show again what the admin typed (after an error, or picking a network)."""
    rt = runtime()
    refill = refill or error is not None
    crm = rt.store.health.sinks(tenant_id)
    connected = {c.sink for c in crm}
    new = {
        key: request.form.get(f"new_{key}", "") if refill else ""
        for key in ("network", "external_id", "handle", "api_base")
    }
    return render_template(
        "zendesk_admin.html",
        subdomain=subdomain,
        name=name,
        flow=flow,
        trusted=True,  # an untrusted flow never gets this page (zendesk_install_code.html)
        accounts=rt.store.accounts(tenant_id),
        # Health that tells the truth (issues 12 and 15): a badge per account, refused CRM
        # credentials, and what could not be parsed.
        health={
            h.account_id: h for h in rt.store.health.accounts(tenant_id, stuck_after=rt.settings.stuck_after_polls)
        },
        # Each CRM connection's health (last accepted batch, last error, session expiry, attention);
        # refused credentials of a CRM with no connection row left are listed under "Needs a look".
        crm_health=crm,
        # Their states and sentences are shared with the console and doctor (plugin/healthwords.py).
        account_state=healthwords.account_state,
        sink_state=healthwords.sink_state,
        attention_state=healthwords.attention_state,
        crm_attention=[a for a in rt.store.health.attention(tenant_id) if a.sink not in {None, *connected}],
        quarantined=rt.store.quarantine.list(tenant_id=tenant_id, limit=20),
        selected=selected,
        # One credentials/settings form per network; the chosen one refilled (its secrets never are).
        networks=network_forms(rt.registry.connectors.values(), new["network"], request.form if refill else {}, error),
        rest=_rest_status(rt.store.sink_connection(tenant_id, "zendesk")),
        error=str(error) if error is not None else "",
        notice=notice,
        new=new,
        # The guided connect pages trust only this grant (plugin/connect/grant.py); Zendesk vouched for
        # this session as the tenant's admin, but does not say which admin, hence the tenant as actor.
        connect_grant=mint_connect_grant(rt, tenant_id, f"zendesk-admin:{subdomain}"),
        service=service_settings.current(rt, tenant_id),
        service_errors=service_settings.field_error(error),
        service_refill=request.form if refill else None,
    )


@bp.post("/admin/save")
def admin_save() -> Any:
    rt = runtime()
    flow = rt.box.verify(form_field("flow", max_length=5000), "admin session")
    if flow.get("kind") != "zd-admin" or int(flow.get("exp", 0)) < time.time():
        raise BadInput("the admin session expired; open the integration again from Zendesk", status=403)
    subdomain = trust.check_subdomain(str(flow["t"]))
    if flow.get("g") != rt.store.trust.generation(subdomain):
        raise BadInput("this admin session was revoked; open the integration again from Zendesk", status=403)
    name = form_field("name", required=False, max_length=255) or str(flow["n"])
    action = form_field("action", required=False, max_length=32) or "save"
    if action not in ("save", "pick", "unlock") and not admin_quarantine.is_action(action):
        raise BadInput("action must be 'save', 'pick', 'unlock' or a quarantine action")
    if action == "unlock" or flow.get("tr") is not True:
        return _unlock(flow, subdomain, name)
    tenant_id = rt.store.tenant_id(subdomain)
    if tenant_id is None:
        raise BadInput("this Zendesk account is not installed here", status=403)
    picked = {int(v) for v in request.form.getlist("account") if v.isdigit()}
    if admin_quarantine.is_action(action):
        try:
            done, problem = admin_quarantine.act(tenant_id, subdomain, action), None
        except BadInput as exc:
            if exc.status == 404:
                raise
            done, problem = "", exc
        html = _admin_page(tenant_id, subdomain, name, str(request.form["flow"]), picked, problem, notice=done)
        return _framed(html, subdomain)
    if action == "pick":
        # Without JavaScript, choosing a network reloads the page to show that network's fields.
        html = _admin_page(tenant_id, subdomain, name, str(request.form["flow"]), picked, refill=True)
        return _framed(html, subdomain)
    try:
        return _save(flow, subdomain, tenant_id, name)
    except BadInput as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        # The admin sees the form again, with what they entered and the reason, not a JSON error.
        html = _admin_page(tenant_id, subdomain, name, str(request.form["flow"]), picked, error=exc)
        response = _framed(html, subdomain)
        response.status_code = exc.status
        return response


def _unlock(flow: dict[str, Any], subdomain: str, name: str) -> Any:
    """The install code page's answer: redeem the code, then show the real page in a trusted session."""
    rt = runtime()
    code = form_field("install_code", required=False, max_length=128)
    if not code:
        raise BadInput(
            "this Zendesk account is not authorized here yet: enter the install code your horseshoe operator "
            "created with `horseshoe tenants invite`",
            status=403,
        )
    granted = trust.redeem(rt, subdomain, code)
    push_id = flow.get("p")
    token = rt.box.decrypt_json(str(flow["zt"])) if flow.get("zt") else None
    if isinstance(push_id, str) and isinstance(token, str):
        _store_instance(granted.tenant_id, subdomain, push_id, token)
    session = _flow_token(
        subdomain,
        push_id if isinstance(push_id, str) else None,
        token if isinstance(token, str) else None,
        granted,
        str(flow["r"]),
        name,
        str(flow.get("l") or "en"),
    )
    html = _admin_page(granted.tenant_id, subdomain, name, session, _unassigned(granted.tenant_id))
    return _framed(html, subdomain)


def _save(flow: dict[str, Any], subdomain: str, tenant_id: int, name: str) -> Any:
    rt = runtime()
    # First, so a bad value shows next to its field before anything else is stored. Zendesk vouches
    # for the tenant's admin, not for which one (the same actor as the connect grants).
    service_settings.apply(rt, tenant_id, request.form, actor=f"zendesk-admin:{subdomain}")
    known = {a.id for a in rt.store.accounts(tenant_id)}
    chosen: list[int] = []
    for raw in request.form.getlist("account"):
        try:
            account_id = int(raw)
        except ValueError as exc:
            raise BadInput("account must be an id") from exc
        if account_id not in known:
            raise BadInput("account does not belong to this Zendesk account", status=403)
        chosen.append(account_id)
    new_network = form_field("new_network", required=False, max_length=64)
    if new_network:
        chosen.append(connect_account(tenant_id, new_network))
    if not chosen:
        raise BadInput("pick at least one social account")
    chosen = sorted(set(chosen))
    push_id = flow.get("p")
    config = rt.store.sink_connection(tenant_id, "zendesk")
    if push_id and config is not None:
        by_id = {a.id: a for a in rt.store.accounts(tenant_id)}
        keys = [(by_id[i].network, by_id[i].external_id) for i in chosen]
        try:
            selected = with_selection(config, str(push_id), keys)
        except KeyError:
            raise BadInput("this channel instance is not known here; open the integration again from Zendesk") from None
        rt.store.set_sink_connection(tenant_id, "zendesk", _rest_from_form(selected))
    elif config is not None:
        rt.store.set_sink_connection(tenant_id, "zendesk", _rest_from_form(config))
    metadata = issue_metadata(
        rt.box,
        InstanceMetadata(
            tenant=subdomain,
            account_ids=tuple(chosen),
            name=name,
            trusted=True,
            instance=str(push_id) if push_id else None,
            generation=rt.store.trust.generation(subdomain),
        ),
    )
    html = render_template("zendesk_return.html", return_url=flow["r"], name=name, metadata=metadata)
    return _framed(html, subdomain)


def _rest_status(config: dict[str, Any] | None) -> dict[str, Any]:
    """What the form may show about stored REST credentials: the email, and whether a secret is set."""
    config = config or {}
    return {
        "api_email": config.get("api_email") or "",
        "has_secret": bool(config.get("api_token") or config.get("oauth_token")),
    }


def _unassigned(tenant_id: int) -> set[int]:
    """Accounts no channel instance feeds yet: a new instance must not silently take others' accounts."""
    rt = runtime()
    config = rt.store.sink_connection(tenant_id, "zendesk")
    taken = {key for i in instances(config) if i.accounts for key in i.accounts} if config else set()
    return {a.id for a in rt.store.accounts(tenant_id) if (a.network, a.external_id) not in taken}


def _store_instance(tenant_id: int, subdomain: str, push_id: str, token: str) -> None:
    """Remember an instance's push credentials.

    Zendesk may only honour a new instance's token once the admin UI has returned, so a new
    instance is stored as given: it receives nothing until its admin UI run selects accounts, and
    Zendesk checks the token on every push. Changing the token of a known instance needs Zendesk to
    confirm the new one first, so a forged form cannot cut a working channel off.
    """
    rt = runtime()
    config = rt.store.sink_connection(tenant_id, "zendesk")
    api_base = rt.settings.zendesk_api_base or None
    known = {i.push_id: i for i in instances(config)} if config else {}
    if push_id in known and known[push_id].token != token:
        candidate = {"subdomain": subdomain, "instance_push_id": push_id, "zendesk_access_token": token}
        if api_base:
            candidate["api_base"] = api_base
        try:
            valid = ZendeskPushClient(candidate).validate_token()
        except AuthError:
            valid = False
        except RetriableError as exc:
            raise BadInput(f"Zendesk could not be reached to confirm the push token: {exc}", status=502) from exc
        if not valid:
            raise BadInput("Zendesk did not confirm the new zendesk_access_token for this instance", status=403)
    rt.store.set_sink_connection(tenant_id, "zendesk", with_instance(config, subdomain, push_id, token, api_base))
