"""Standalone admin access: argon2 passwords, server-side sessions, login rate limit, CSRF, cookies."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from plugin.console import passwords
from plugin.web import create_app
from tests.console.support import PASSWORD, csrf_of, login, make_admin
from tests.security.conftest import Stack


def _login_form(stack: Stack) -> str:
    return csrf_of(stack.client.get("/console/login").get_data(as_text=True))


def test_root_leads_to_the_console_and_its_login(stack: Stack) -> None:
    root = stack.client.get("/")
    assert root.status_code == 302 and root.headers["Location"].endswith("/console/")
    page = stack.client.get("/console/", headers={"Accept": "text/html"})
    assert page.status_code == 302 and "/console/login" in page.headers["Location"]
    assert stack.client.get("/console/", headers={"Accept": "application/json"}).status_code == 401
    form = stack.client.get("/console/login")
    assert form.status_code == 200 and 'name="password"' in form.get_data(as_text=True)
    assert "frame-ancestors 'none'" in form.headers["Content-Security-Policy"]


def test_passwords_are_argon2_hashed_and_never_stored_plain(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    row = stack.rt.store.admins.by_name("ada")
    assert row is not None and row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    settings = stack.rt.settings
    assert passwords.verify(settings, row.password_hash, PASSWORD)
    assert not passwords.verify(settings, row.password_hash, "wrong") and not passwords.verify(settings, None, PASSWORD)


def test_login_refuses_wrong_password_with_a_message_and_opens_a_session_when_right(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    token = _login_form(stack)
    wrong = stack.client.post("/console/login", data={"csrf_token": token, "name": "ada", "password": "nope"})
    assert wrong.status_code == 401 and 'id="login-error"' in wrong.get_data(as_text=True)
    right = stack.client.post("/console/login", data={"csrf_token": token, "name": "ada", "password": PASSWORD})
    assert right.status_code == 303
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert stack.client.get("/console/").status_code == 200


def test_login_without_or_with_a_foreign_csrf_token_is_refused(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    bare = stack.client.post("/console/login", data={"name": "ada", "password": PASSWORD})
    assert bare.status_code == 403 and "security token" in bare.get_data(as_text=True)
    # A token fetched by another browser (an attacker's) is bound to that browser's cookie.
    other = create_app(stack.rt).test_client()
    token = csrf_of(other.get("/console/login").get_data(as_text=True))
    stack.client.get("/console/login")
    forged = stack.client.post("/console/login", data={"csrf_token": token, "name": "ada", "password": PASSWORD})
    assert forged.status_code == 403


def test_login_is_rate_limited_per_name_and_address(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    token = _login_form(stack)
    for _ in range(stack.rt.settings.console_login_failures):
        answer = stack.client.post("/console/login", data={"csrf_token": token, "name": "ada", "password": "guess"})
        assert answer.status_code == 401
    # Even the right password is refused now, with Retry-After; an unknown name counts the same way.
    paused = stack.client.post("/console/login", data={"csrf_token": token, "name": "ada", "password": PASSWORD})
    assert paused.status_code == 429 and int(paused.headers["Retry-After"]) > 0
    assert "Too many failed logins" in paused.get_data(as_text=True)


def test_secure_cookie_flags_over_https(tmp_path: object) -> None:
    from plugin.runtime import build_runtime
    from tests.conftest import fast_settings

    rt = build_runtime(fast_settings(str(tmp_path), public_url="https://horseshoe.example"))
    make_admin(rt, "ada")
    client = create_app(rt).test_client()
    form = client.get("/console/login", base_url="https://horseshoe.example")
    answer = client.post(
        "/console/login", base_url="https://horseshoe.example",
        data={"csrf_token": csrf_of(form.get_data(as_text=True)), "name": "ada", "password": PASSWORD},
    )  # fmt: skip
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("__Host-horseshoe_console=") and "Secure" in cookie and "HttpOnly" in cookie
    rt.db.dispose()


def test_unsafe_requests_without_the_session_csrf_token_are_refused(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    token = login(stack.client, "ada")
    for path in ("/console/logout", "/console/password", "/console/deliveries/1/retry", "/console/replies/1/retry",
                 "/identity/console/suggestions/1/accept"):  # fmt: skip
        assert stack.client.post(path, data={"why": "x", "tenant": "acme"}).status_code == 403, path
        assert stack.client.post(path, data={"csrf_token": "forged", "tenant": "acme"}).status_code == 403, path
    # With the token, logout works; the session is gone server-side (the old cookie opens nothing).
    cookie = stack.client.get_cookie("horseshoe_console")
    assert cookie is not None
    assert stack.client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    stranger = create_app(stack.rt).test_client()
    stranger.set_cookie("horseshoe_console", cookie.value)
    assert stranger.get("/console/", headers={"Accept": "application/json"}).status_code == 401


def test_sessions_expire_and_end_when_the_admin_is_disabled_or_reset(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    admin = stack.rt.store.admins.by_name("ada")
    assert admin is not None
    stack.rt.store.admins.open_session(admin.id, hashlib.sha256(b"old").hexdigest(), "c", timedelta(seconds=-1))
    stack.client.set_cookie("horseshoe_console", "old")
    assert stack.client.get("/console/", headers={"Accept": "application/json"}).status_code == 401
    login(stack.client, "ada")
    stack.rt.store.admins.set_disabled(admin.id, True)
    assert stack.client.get("/console/", headers={"Accept": "application/json"}).status_code == 401
    stack.rt.store.admins.set_disabled(admin.id, False)
    login(stack.client, "ada")
    hashed = passwords.hash_password(stack.rt.settings, "another long password")
    stack.rt.store.admins.set_password(admin.id, hashed, must_change=True)
    assert stack.client.get("/console/", headers={"Accept": "application/json"}).status_code == 401


def test_one_time_password_must_be_changed_first_with_messages_next_to_fields(stack: Stack) -> None:
    hashed = passwords.hash_password(stack.rt.settings, PASSWORD)
    stack.rt.store.admins.create("kim", hashed, "tenant", "acme", must_change=True)
    form = _login_form(stack)
    answer = stack.client.post("/console/login", data={"csrf_token": form, "name": "kim", "password": PASSWORD})
    assert answer.headers["Location"].endswith("/console/password")
    page = stack.client.get("/console/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/console/password")
    token = csrf_of(stack.client.get("/console/password").get_data(as_text=True))
    short = stack.client.post(
        "/console/password", data={"csrf_token": token, "current": PASSWORD, "new": "short", "repeat": "short"}
    )
    assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    wrong = stack.client.post("/console/password", data={"csrf_token": token, "current": "x", "new": "a" * 12,
                                                         "repeat": "a" * 12})  # fmt: skip
    assert wrong.status_code == 400 and "current password is not right" in wrong.get_data(as_text=True)
    new = "kim's own long password"
    done = stack.client.post(
        "/console/password", data={"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new}
    )
    assert done.status_code == 303
    assert stack.client.get("/console/").status_code == 200
    row = stack.rt.store.admins.by_name("kim")
    assert row is not None and not row.must_change_password
    assert passwords.verify(stack.rt.settings, row.password_hash, new)


def test_login_never_redirects_off_site(stack: Stack) -> None:
    make_admin(stack.rt, "ada")
    token = _login_form(stack)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = stack.client.post(
            "/console/login", data={"csrf_token": token, "name": "ada", "password": PASSWORD, "next": target}
        )
        assert answer.headers["Location"].endswith("/console/"), target
        stack.client.post("/console/logout", data={"csrf_token": csrf_of(stack.client.get("/console/").text)})
        token = _login_form(stack)


def test_production_cost_is_argon2s_recommended_profile() -> None:
    from plugin.config import Settings

    encoded = passwords.hash_password(Settings(), "a long enough password")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,")


def test_a_refusal_is_a_page_with_the_reason_for_a_browser_and_json_for_a_script(stack: Stack) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    page = stack.client.post("/console/login", data={"name": "ada"}, headers=browser)
    assert page.status_code == 403 and page.content_type.startswith("text/html")
    assert 'id="reason"' in page.get_data(as_text=True) and "security token" in page.get_data(as_text=True)
    script = stack.client.post("/console/login", data={"name": "ada"}, headers={"Accept": "application/json"})
    assert script.status_code == 403 and script.get_json()["reason"].startswith("the login form's security token")
