"""A demo world whose networks' fakes the guided connect flows reach (``connect_api_bases``), and the
browser steps shared by the connect-flow tests: open the flow from the Zendesk admin page, screenshot."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from plugin.testing import RunningServer, serve_in_thread
from sandbox import bluesky, mastodon, meta, telegram, vk, x
from sandbox.demo.run import World, build_world
from sandbox.salesforce.org import RunningOrg, start_org
from tests.browser.zendesk_frame import frame_page

SIZES = {"1280": {"width": 1280, "height": 900}, "800x600": {"width": 800, "height": 600}}


@dataclass
class ConnectWorld:
    world: World
    fakes: dict[str, Any] = field(default_factory=dict)  # network -> the fake's app (its ``state``)
    servers: dict[str, RunningServer] = field(default_factory=dict)
    org: RunningOrg | None = None

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.org is not None:
            self.org.stop()
        self.world.stop()


def start_world() -> Iterator[ConnectWorld]:
    world = build_world(tempfile.mkdtemp(prefix="horseshoe-connect-"), 0, 1)
    found = ConnectWorld(world)
    found.fakes = {
        "telegram": telegram.create_app(),
        "bluesky": bluesky.create_app(),
        "mastodon": mastodon.create_app(),
        "meta": meta.create_app(),
        "vk": vk.create_app(),
        "x": x.create_app(),
    }
    found.servers = {name: serve_in_thread(app) for name, app in found.fakes.items()}
    # Self-hosted networks (Mastodon) are reached at the server the admin types, not through this.
    bases = ",".join(f"{name}={server.url}" for name, server in found.servers.items() if name != "mastodon")
    # One Meta fake stands for graph.facebook.com and www.facebook.com, for its three connectors.
    bases += "".join(f",{name}={found.servers['meta'].url}" for name in ("facebook", "messenger", "instagram"))
    found.org = start_org()  # a Salesforce org on the fake, served over TLS with its own certificate
    bases += f",salesforce={found.org.base}"
    world.runtime.settings = replace(world.runtime.settings, connect_api_bases=bases, connect_ca_bundle=found.org.cert)
    yield found
    found.stop()


def open_connect(cw: ConnectWorld, browser: Any, shots: Path | None = None) -> Any:
    """The admin opens the Zendesk admin page (in Zendesk's iframe) and the guided flow from it."""
    html, _push_id = frame_page(cw.world, edit=True)
    # The Salesforce fake's certificate is its own; the browser accepts it as the flows' requests do.
    context = browser.new_context(viewport=SIZES["1280"], ignore_https_errors=True)
    page = context.new_page()
    url = f"{cw.world.zd_server.url}/admin-center"
    page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(url)
    frame = page.frame_locator("iframe[name=cf]")
    frame.locator("#connect-guided-open").wait_for()
    if shots is not None:
        shoot(page, shots, "zendesk-admin-page")
    with context.expect_page() as opened:
        frame.locator("#connect-guided-open").click()
    flow = opened.value
    flow.wait_for_load_state()
    flow.locator("h1", has_text="Connect an account").wait_for()
    return flow


def shoot(page: Any, shots: Path, name: str) -> None:
    """Full-page screenshots at 1280 wide and 800x600, then back to 1280."""
    for label, size in reversed(SIZES.items()):
        page.set_viewport_size(size)
        page.screenshot(path=str(shots / f"connect-{name}-{label}.png"), full_page=True)


def choose(page: Any, network: str) -> None:
    page.locator(f'button[data-network="{network}"]').click()
    page.locator("h1", has_text="Connect").wait_for()


def fill(page: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.locator(f'[name="start.{name}"]').fill(value)


def submit(page: Any) -> None:
    page.locator("button[name=action][value=begin]").click()
    page.wait_for_load_state()
