"""What the demo stages for the admin's pages once its audited traffic is done (issue 15, point 5).

Staged after the summary, so the figures it prints (``lost``, ``duplicates``) are about the
scripted traffic only, and each staged problem is named on screen for what it is:

- a second Mastodon brand account (connected through its guided flow, like every demo account) whose
  access token the instance then revoked (every poll gets 401);
- one mention whose Zendesk push is refused (the fake answers 422 ``RecordInvalid`` once), so the
  failures page has a failed delivery to retry (the retry then succeeds);
- a demo operator with a one-time password, printed once, for the console's login.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugin.console import passwords
from sandbox.demo.connect import Flow, connect

if TYPE_CHECKING:
    from rich.console import Console

    from sandbox.demo.run import World

DEMO_ADMIN = "demo-admin"
PUSH_PATH = "/api/v2/any_channel/push"


@dataclass(frozen=True)
class Showcase:
    admin: str
    password: str
    expired_account_id: int | None
    failed_delivery_id: int | None


def demo_admin(world: World) -> tuple[str, str]:
    """An operator for the demo's console, with a one-time password (changed at first login)."""
    rt = world.runtime
    password = passwords.one_time_password()
    hashed = passwords.hash_password(rt.settings, password)
    existing = rt.store.admins.by_name(DEMO_ADMIN)
    if existing is None:
        rt.store.admins.create(DEMO_ADMIN, hashed, "operator", None, must_change=True)
    else:
        rt.store.admins.set_password(existing.id, hashed, must_change=True)
    return DEMO_ADMIN, password


def expired_token_account(world: World) -> int | None:
    """A brand account on the demo's Mastodon whose token the instance revoked."""
    mastodon = next((n for n in world.networks if n.name == "mastodon"), None)
    tenant_id = world.runtime.store.tenant_id("acme")
    if mastodon is None or tenant_id is None:
        return None
    state = mastodon.harness.app.state
    account = state.add_account("acme_eu", display_name="Acme EU (token revoked)")
    flow = Flow("mastodon", {"api_base": mastodon.harness.url}, consent_user=str(account["id"]))
    (connected,) = connect(world.runtime, world.web.url, tenant_id, flow)  # as the brand's first one
    assert connected.account_id is not None
    world.runtime.store.update_account_settings(connected.account_id, {"poll_interval_seconds": 5})
    # Then someone revokes horseshoe's access in the instance's settings: every token it was issued is gone.
    with state.lock:
        issued = [token for token, owner in state.tokens.items() if owner == account["id"]]
    for token in issued:
        state.revoke_token(token)
    return connected.account_id


def refused_delivery(world: World, timeout: float = 30.0) -> int | None:
    """One customer toot whose Zendesk push Zendesk refuses once (422): a failed delivery, for real."""
    mastodon = next((n for n in world.networks if n.name == "mastodon"), None)
    if mastodon is None:
        return None
    plan = world.zd_app.plan
    plan.configure(paths=(PUSH_PATH,), methods=("POST",), scripted=[422])
    try:
        external_id = mastodon.harness.inject_public("I was charged twice for order 4411, please check")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [
                d for d in world.runtime.store.failures.failed_deliveries(None)
                if d.network == "mastodon" and d.external_id == external_id and d.sink == "zendesk"
            ]  # fmt: skip
            if found:
                return found[0].id
            time.sleep(0.2)
        return None
    finally:
        plan.configure(paths=(), methods=(), scripted=[])


def stage(world: World) -> Showcase:
    name, password = demo_admin(world)
    return Showcase(name, password, expired_token_account(world), refused_delivery(world))


def print_pages(out: Console, world: World, staged: Showcase) -> None:
    """Where the admin's pages are and how to log in."""
    web = world.web.url
    lines = [
        "[bold]admin pages[/bold]",
        f"  console          {web}/console/  (standalone login; `/` leads there)",
        f"    log in as      {staged.admin}  one-time password: {staged.password}  (then choose your own)",
        f"  failures         {web}/console/failures  (failed deliveries, uncertain replies)",
        f"  identity page    {web}/identity/console  (inside Zendesk: POSTed to {web}/identity/)",
        f"  Zendesk admin UI {web}/zendesk/admin  (Zendesk POSTs the admin there, framed in Admin Center)",
        f"  health           {web}/healthz",
        f"  metrics          {web}/metrics",
        "[bold]staged for these pages[/bold] (after the summary above: its figures are the traffic's only)",
    ]
    if staged.expired_account_id is not None:
        lines.append(f"  account {staged.expired_account_id}: Mastodon @acme_eu, its token was revoked (polls get 401)")
    if staged.failed_delivery_id is not None:
        lines.append(f"  delivery {staged.failed_delivery_id}: a toot Zendesk refused (422); retry it under failures")
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True)  # URLs stay whole in a narrow terminal
