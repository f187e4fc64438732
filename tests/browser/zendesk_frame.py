"""Helpers for browser tests of the admin UI: the page Zendesk frames it in, and the account form."""

from __future__ import annotations

from typing import Any

from sandbox.demo.run import SUBDOMAIN, World


def frame_page(world: World, *, edit: bool = False, code: bool = True) -> tuple[str, str]:
    """HTML Zendesk would serve: a form POSTing the admin UI fields into an iframe.

    ``edit``: the admin reopens the existing channel (Zendesk sends its metadata and push token);
    otherwise a new channel instance is being added. Zendesk cannot vouch for a new instance, so
    (``code``) its admin brings the operator's install code (README, Security model).
    """
    if edit:
        instance = world.driver.instance
        assert instance is not None
        found = world.zd_state.find_instance(instance.instance_push_id)
        assert found is not None
        instance = found[1]
        name, metadata, state = instance.name, instance.metadata, instance.state or ""
    else:
        instance = world.zd_state.begin_install(
            SUBDOMAIN, f"{world.web.url}/zendesk/manifest.json", world.driver.fetch_manifest()
        )
        name, metadata, state = "", "", ""
    fields = {
        "name": name, "metadata": metadata, "state": state, "subdomain": SUBDOMAIN, "locale": "en-US",
        "return_url": f"{world.zd_server.url}/zendesk/channels/integration_service_instances/editor_finalizer"
                      f"?instance_push_id={instance.instance_push_id}",
        "instance_push_id": instance.instance_push_id,
        "zendesk_access_token": instance.zendesk_access_token or "",
    }  # fmt: skip
    if not edit and code:
        fields["install_code"] = world.runtime.store.trust.invite(SUBDOMAIN)
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return (
        "<html><head><meta charset='utf-8'></head><body style='margin:0;font-family:sans-serif'>"
        "<div style='background:#03363d;color:#fff;padding:10px 16px'>Zendesk Admin Center — Channel integrations</div>"
        f"<form id='f' method='post' target='cf' action='{world.web.url}/zendesk/admin'>{inputs}</form>"
        "<iframe name='cf' style='width:100%;height:820px;border:0'></iframe>"
        "<script>document.getElementById('f').submit()</script></body></html>"
    ), instance.instance_push_id


def fill_credentials(frame: Any, world: World, network: str, values: dict[str, str]) -> None:
    """Type credentials into the chosen network's part of the form (fields generated from its models)."""
    connector = world.runtime.registry.connector(network)
    scope = frame.locator(f'fieldset[data-network="{network}"]')
    assert connector is not None
    for name, value in values.items():
        scope.locator(f'[name="credentials.{network}.{name}"]').fill(value)


def open_in_admin_center(browser: Any, world: World, html: str, viewport: dict[str, int]) -> tuple[Any, Any]:
    """A new page showing ``html`` (``frame_page``) from the fake Zendesk's origin, as Zendesk serves
    its admin center: the page and the iframe the admin UI is posted into."""
    page = browser.new_page(viewport=viewport)
    url = f"{world.zd_server.url}/admin-center"
    page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(url)
    return page, page.frame_locator("iframe[name=cf]")
