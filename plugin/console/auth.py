"""Who is logged in to the standalone console, and the guards every console page uses.

Other pages (the metrics dashboard, the connect flows, the identity page) mount behind the console
with two names from here (docs/ARCHITECTURE.md, "The standalone console"):

- ``principal()``: the authenticated ``Principal`` of this request (tenant scope and actor name), or
  ``None``;
- ``@require_admin``: the view runs only for a logged-in admin; a browser without a session is sent
  to the login page (an API/POST caller gets 401), and every unsafe method needs the session's CSRF
  token (form field ``csrf_token`` or header ``X-CSRF-Token``), else 403.

Sessions are server-side (``admin_sessions``): the cookie holds a random id, the database its
SHA-256, so a leaked database opens no session; logout, disabling an admin or a new password end them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Response, g, redirect, request, url_for

from plugin.errors import BadInput, Unauthorized
from plugin.store.admins import AdminRow
from plugin.web.extension import runtime

OPERATOR = "operator"
TENANT_ADMIN = "tenant"
ROLES = (OPERATOR, TENANT_ADMIN)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """An authenticated admin: whom actions are recorded under, and which tenants they reach."""

    admin_id: int
    name: str
    role: str
    tenant_key: str | None  # None: an operator, every tenant
    tenant_ids: tuple[int, ...] | None  # None: every tenant
    csrf_token: str
    must_change_password: bool = False

    @property
    def actor(self) -> str:
        """The name audits record (identity decisions, failure actions): never typed by the user."""
        return f"admin:{self.name}"

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR

    def reaches(self, tenant_id: int) -> bool:
        return self.tenant_ids is None or tenant_id in self.tenant_ids


def cookie_name() -> str:
    # ``__Host-``: the browser sends it only to this host, over https, path / (no subdomain can set it).
    return "__Host-horseshoe_console" if secure_cookies() else "horseshoe_console"


def secure_cookies() -> bool:
    """Cookies are ``Secure`` whenever horseshoe is served over https (HORSESHOE_PUBLIC_URL)."""
    return urlsplit(runtime().settings.public_url).scheme == "https"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def principal_of(admin: AdminRow, csrf_token: str) -> Principal:
    if admin.role == OPERATOR:
        scope: tuple[int, ...] | None = None
    else:
        tenant_id = runtime().store.tenant_id(admin.tenant_key or "")
        scope = (tenant_id,) if tenant_id is not None else ()
    return Principal(admin.id, admin.name, admin.role, admin.tenant_key, scope, csrf_token, admin.must_change_password)


def principal() -> Principal | None:
    """The admin logged in on this request, or None. Resolved once per request."""
    if "console_principal" not in g:
        g.console_principal = _resolve()
    found: Principal | None = g.console_principal
    return found


def current_admin() -> Principal:
    """The admin of a view behind ``require_admin``, which already refused everyone else."""
    found = principal()
    assert found is not None  # require_admin ran
    return found


def _resolve() -> Principal | None:
    session_id = request.cookies.get(cookie_name())
    if not session_id or len(session_id) > 128:
        return None
    row = runtime().store.admins.session(_hash(session_id))
    return principal_of(row.admin, row.csrf_token) if row is not None else None


def open_session(response: Response, admin: AdminRow) -> None:
    """Log ``admin`` in: a new session id (never one the browser brought: no session fixation)."""
    rt = runtime()
    session_id = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=rt.settings.console_session_hours)
    rt.store.admins.open_session(admin.id, _hash(session_id), secrets.token_urlsafe(32), lifetime)
    response.set_cookie(
        cookie_name(), session_id, max_age=int(lifetime.total_seconds()), path="/", secure=secure_cookies(),
        httponly=True, samesite="Lax",
    )  # fmt: skip


def close_session(response: Response) -> None:
    session_id = request.cookies.get(cookie_name())
    if session_id:
        runtime().store.admins.close_session(_hash(session_id))
    response.delete_cookie(cookie_name(), path="/", secure=secure_cookies(), httponly=True, samesite="Lax")


def check_csrf(expected: str) -> None:
    """The token the page was given must come back with every unsafe request (form or header)."""
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not given or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise BadInput("the form's security token is missing or stale; reload the page and try again", status=403)


def require_admin(view: F) -> F:
    """Run ``view`` only for a logged-in admin (CSRF-checked on unsafe methods); see the module doc."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        found = principal()
        if found is None:
            if request.method in SAFE_METHODS and request.accept_mimetypes.accept_html:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            raise Unauthorized("log in to the horseshoe console first", status=401)
        if request.method not in SAFE_METHODS:
            check_csrf(found.csrf_token)
        return view(*args, **kwargs)

    return cast(F, guarded)


def require_operator(found: Principal) -> None:
    if not found.is_operator:
        raise BadInput("only an operator may do this", status=403)
