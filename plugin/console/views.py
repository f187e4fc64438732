"""Login, logout, password change and the console's home page."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any

from flask import make_response, redirect, render_template, request, url_for

from plugin.connect.grant import mint_connect_grant
from plugin.console import passwords
from plugin.console.auth import (
    check_csrf,
    close_session,
    current_admin,
    open_session,
    principal,
    require_admin,
)
from plugin.console.blueprint import bp
from plugin.console.health import board
from plugin.errors import BadInput
from plugin.web.extension import runtime
from plugin.web.forms import form_field

LOGIN_COOKIE = "horseshoe_login"
LOGIN_FORM_SECONDS = 3600


def _address() -> str:
    # The socket's peer: X-Forwarded-For is the client's to invent, so it never decides a rate limit.
    return request.remote_addr or "unknown"


def _safe_next(target: str | None) -> str:
    """Only a path on this server (no ``//host``, no scheme): the login cannot become an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.home")


def _login_token(nonce: str) -> str:
    digest = hashlib.sha256(nonce.encode("utf-8")).hexdigest()
    return runtime().box.sign({"kind": "console-login", "n": digest, "exp": int(time.time()) + LOGIN_FORM_SECONDS})


def _check_login_token() -> None:
    """The login form's CSRF check: a signed token bound to a cookie only this browser holds (there is
    no session yet to bind it to), so another site cannot log a victim into an attacker's account."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    try:
        claims = runtime().box.verify(request.form.get("csrf_token"), "login form token")
    except BadInput:
        claims = {}
    digest = hashlib.sha256(nonce.encode("utf-8")).hexdigest()
    fresh = claims.get("kind") == "console-login" and int(claims.get("exp", 0)) >= time.time()
    if not nonce or not fresh or not hmac.compare_digest(str(claims.get("n", "")), digest):
        raise BadInput("the login form's security token is missing or stale; reload the page and try again", status=403)


def _login_page(error: str = "", name: str = "", status: int = 200, retry_after: int | None = None) -> Any:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    html = render_template(
        "console_login.html", csrf_token=_login_token(nonce), error=error, name=name,
        next=_safe_next(request.values.get("next")),
    )  # fmt: skip
    response = make_response(html, status)
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_FORM_SECONDS, path="/console/login",
                        httponly=True, samesite="Strict", secure=request.is_secure)  # fmt: skip
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.get("/console/login")
def login() -> Any:
    if principal() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return _login_page()


@bp.post("/console/login")
def login_submit() -> Any:
    _check_login_token()
    rt = runtime()
    name = (form_field("name", required=False, max_length=255) or "").strip()
    password = form_field("password", required=False, max_length=1024) or ""
    if not name or not password:
        return _login_page("Enter your admin name and password.", name, 400)
    window = timedelta(minutes=rt.settings.console_login_window_minutes)
    if rt.store.admins.recent_failures(name, _address(), window) >= rt.settings.console_login_failures:
        seconds = int(window.total_seconds())
        message = f"Too many failed logins. Try again in {seconds // 60} minutes."
        return _login_page(message, name, 429, retry_after=seconds)
    admin = rt.store.admins.by_name(name)
    matches = passwords.verify(rt.settings, admin.password_hash if admin else None, password)
    if not matches or admin is None or admin.disabled:
        rt.store.admins.record_failure(name, _address(), window)
        return _login_page("That admin name and password do not match an active admin.", name, 401)
    if passwords.needs_rehash(rt.settings, admin.password_hash):
        rt.store.admins.rehash(admin.id, passwords.hash_password(rt.settings, password))
    rt.store.admins.clear_failures(name, window)
    rt.store.events.record(None, "console:login", {"admin": admin.name, "address": _address()})
    target = url_for("console.password") if admin.must_change_password else _safe_next(request.form.get("next"))
    response = make_response(redirect(target, 303))
    open_session(response, admin)
    response.delete_cookie(LOGIN_COOKIE, path="/console/login")
    return response


@bp.post("/console/logout")
@require_admin
def logout() -> Any:
    response = make_response(redirect(url_for("console.login"), 303))
    close_session(response)
    return response


@bp.get("/console/")
@require_admin
def home() -> Any:
    me = current_admin()
    if me.must_change_password:
        return redirect(url_for("console.password"))
    rt = runtime()
    scope = list(me.tenant_ids) if me.tenant_ids is not None else None
    tenants = [row for row in rt.store.tenants.all() if me.reaches(row.id)]
    # The guided connect pages trust only a signed grant (plugin/connect/grant.py); the console mints
    # one per tenant this admin administers, naming the admin as the actor for the audit trail.
    grants = {row.id: mint_connect_grant(rt, row.id, f"admin:{me.name}") for row in tenants}
    health = board(rt, me)  # the health page's read: its count on a card, each account's state in the table
    return render_template(
        "console_home.html", me=me, tenants=tenants, grants=grants,
        failed=len(rt.store.failures.failed_deliveries(scope)),
        uncertain=len(rt.store.failures.uncertain_replies(scope)),
        accounts=[a for a in rt.store.accounts() if me.reaches(a.tenant_id)],
        attention=health.needs_attention, states={line.health.account_id: line.state for line in health.accounts},
    )  # fmt: skip


@bp.route("/console/password", methods=["GET", "POST"])
@require_admin
def password() -> Any:
    """Change one's password (required after a one-time password); ends every other session."""
    me = current_admin()
    if request.method == "GET":
        return render_template("console_password.html", me=me, error="")
    check_csrf(me.csrf_token)
    rt = runtime()
    admin = rt.store.admins.by_name(me.name)
    assert admin is not None
    current = form_field("current", required=False, max_length=1024) or ""
    new = form_field("new", required=False, max_length=1024) or ""
    error, field = "", ""
    if not passwords.verify(rt.settings, admin.password_hash, current):
        error, field = "Your current password is not right.", "current"
    elif new != (form_field("repeat", required=False, max_length=1024) or ""):
        error, field = "The two new passwords differ.", "repeat"
    elif new == current:
        error, field = "Choose a password different from the current one.", "new"
    else:
        try:
            new_hash = passwords.hash_password(rt.settings, new)
        except passwords.WeakPassword as exc:
            error, field = f"{str(exc).capitalize()}.", "new"
    if error:
        return render_template("console_password.html", me=me, error=error, field=field), 400
    rt.store.admins.set_password(admin.id, new_hash, must_change=False)
    rt.store.events.record(None, "console:password_changed", {"admin": admin.name})
    response = make_response(redirect(url_for("console.home"), 303))
    open_session(response, admin)  # the old sessions ended with the old password; this one continues
    return response
