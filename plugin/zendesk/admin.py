"""The Channel Framework admin UI: Zendesk POSTs the admin's browser here when an integration
account is added or edited; the admin picks network accounts; we return ``name`` and ``metadata`` to
Zendesk by auto-submitting a form to ``return_url`` (Channel framework docs, "Administrative
interface"). It is shown inside Zendesk's iframe, so framing by Zendesk is allowed explicitly.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import make_response, render_template, request

from plugin.errors import AuthError, BadInput, RetriableError
from plugin.web.extension import runtime
from plugin.web.forms import form_field
from plugin.zendesk.admin_accounts import connect_account, network_forms
from plugin.zendesk.blueprint import bp
from plugin.zendesk.instances import instances, with_instance, with_selection
from plugin.zendesk.push import ZendeskPushClient
from plugin.zendesk.tokens import InstanceMetadata, issue_metadata, read_metadata

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


def _zendesk_base(subdomain: str) -> str:
    base = runtime().settings.zendesk_api_base
    return base.rstrip("/") if base else f"https://{subdomain}.zendesk.com"


def _check_return_url(return_url: str, subdomain: str) -> None:
    """Only ever post metadata back to the tenant's own Zendesk (no open redirect)."""
    expected = urlsplit(_zendesk_base(subdomain))
    given = urlsplit(return_url)
    if (given.scheme, given.netloc) != (expected.scheme, expected.netloc):
        raise BadInput("return_url is not on this Zendesk account's domain", status=403)


def _framed(html: str, subdomain: str) -> Any:
    response = make_response(html)
    origin = urlsplit(_zendesk_base(subdomain))
    response.headers["Content-Security-Policy"] = (
        f"frame-ancestors 'self' https://*.zendesk.com {origin.scheme}://{origin.netloc}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/admin")
def admin_start() -> Any:
    rt = runtime()
    subdomain = form_field("subdomain", max_length=255)
    return_url = form_field("return_url", max_length=2048)
    assert subdomain is not None and return_url is not None
    _check_return_url(return_url, subdomain)
    name = form_field("name", required=False, max_length=255) or f"horseshoe ({subdomain})"
    locale = form_field("locale", required=False, max_length=32) or "en"
    push_id = form_field("instance_push_id", required=False, max_length=255)
    token = form_field("zendesk_access_token", required=False, max_length=1024)
    existing = form_field("metadata", required=False, max_length=5000)
    selected: tuple[int, ...] = ()
    known_tenant = rt.store.tenant_id(subdomain)
    # The first Zendesk install of a tenant cannot be confirmed (Zendesk honours a new instance's
    # token only after the admin UI returns), so it is trusted; every later flow must be vouched for.
    first_install = known_tenant is None or rt.store.sink_connection(known_tenant, "zendesk") is None
    # The admin UI is reached by a browser POST that Zendesk does not sign. A tenant's existing
    # accounts, REST credentials and tenant-wide pages are only for a flow Zendesk vouches for: the
    # very first install, metadata we signed for a trusted flow, or a push token Zendesk confirms.
    trusted = first_install
    if existing:
        meta = read_metadata(rt.box, existing)
        if meta.tenant != subdomain:
            raise BadInput("metadata belongs to another Zendesk account", status=403)
        selected = meta.account_ids
        trusted = trusted or meta.trusted
    if not trusted and push_id and token:
        trusted = _zendesk_confirms(subdomain, push_id, token)
    tenant_id = rt.store.ensure_tenant(subdomain)
    if push_id and token:
        _store_instance(tenant_id, subdomain, push_id, token)
    flow = rt.box.sign(
        {
            "kind": "zd-admin",
            "t": subdomain,
            "p": push_id,
            "tr": trusted,
            "r": return_url,
            "n": name,
            "l": locale,
            "exp": int(time.time()) + FLOW_SECONDS,
        }
    )
    html = _admin_page(tenant_id, subdomain, name, flow, set(selected) or _unassigned(tenant_id), trusted=trusted)
    return _framed(html, subdomain)


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
    trusted: bool,
    refill: bool = False,
) -> str:
    """The page; ``refill``: show again what the admin typed (after an error, or picking a network)."""
    rt = runtime()
    refill = refill or error is not None
    new = {
        key: request.form.get(f"new_{key}", "") if refill else ""
        for key in ("network", "external_id", "handle", "api_base")
    }
    return render_template(
        "zendesk_admin.html",
        subdomain=subdomain,
        name=name,
        flow=flow,
        trusted=trusted,
        # An unconfirmed flow sees none of the tenant's accounts: it may only connect new ones.
        accounts=rt.store.accounts(tenant_id) if trusted else [],
        selected=selected,
        # One credentials/settings form per network; the chosen one refilled (its secrets never are).
        networks=network_forms(rt.registry.connectors.values(), new["network"], request.form if refill else {}, error),
        rest=_rest_status(rt.store.sink_connection(tenant_id, "zendesk")),
        error=str(error) if error is not None else "",
        new=new,
    )


@bp.post("/admin/save")
def admin_save() -> Any:
    rt = runtime()
    flow = rt.box.verify(form_field("flow", max_length=5000), "admin session")
    if flow.get("kind") != "zd-admin" or int(flow.get("exp", 0)) < time.time():
        raise BadInput("the admin session expired; open the integration again from Zendesk", status=403)
    subdomain = str(flow["t"])
    tenant_id = rt.store.ensure_tenant(subdomain)
    name = form_field("name", required=False, max_length=255) or str(flow["n"])
    picked = {int(v) for v in request.form.getlist("account") if v.isdigit()}
    action = form_field("action", required=False, max_length=16) or "save"
    if action not in ("save", "pick"):
        raise BadInput("action must be 'save' or 'pick'")
    if action == "pick":
        # Without JavaScript, choosing a network reloads the page to show that network's fields.
        html = _admin_page(
            tenant_id, subdomain, name, str(request.form["flow"]), picked, trusted=flow.get("tr") is True, refill=True
        )
        return _framed(html, subdomain)
    try:
        return _save(flow, subdomain, tenant_id, name)
    except BadInput as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        # The admin sees the form again, with what they entered and the reason, not a JSON error.
        html = _admin_page(
            tenant_id, subdomain, name, str(request.form["flow"]), picked, error=exc, trusted=flow.get("tr") is True
        )
        response = _framed(html, subdomain)
        response.status_code = exc.status
        return response


def _save(flow: dict[str, Any], subdomain: str, tenant_id: int, name: str) -> Any:
    rt = runtime()
    trusted = flow.get("tr") is True
    known = {a.id for a in rt.store.accounts(tenant_id)} if trusted else set()
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
        rt.store.set_sink_connection(tenant_id, "zendesk", _rest_from_form(selected) if trusted else selected)
    elif config is not None and trusted:
        rt.store.set_sink_connection(tenant_id, "zendesk", _rest_from_form(config))
    metadata = issue_metadata(
        rt.box, InstanceMetadata(tenant=subdomain, account_ids=tuple(chosen), name=name, trusted=trusted)
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
