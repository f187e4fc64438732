"""Every registered connector's credential form, as an admin sees it in a real browser.

For each connector in the registry (built-ins, and ``formnet``, a test connector using every field
kind) the admin picks the network and the page shows inputs generated from its models: one per field,
named after it, a password input for each ``SecretStr``. A bad value comes back with its message next
to the field. Screenshots (800x600 and 1280 wide) land in test-artifacts/credential-forms/ to look at.
"""

from __future__ import annotations

import tempfile
import typing
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from plugin.connector import Connector
from sandbox.demo.run import World, build_world
from tests.browser.zendesk_frame import frame_page, open_in_admin_center
from tests.support.formnet import FormnetConnector

SIZES = {"800x600": {"width": 800, "height": 600}, "1280": {"width": 1280, "height": 900}}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = build_world(tempfile.mkdtemp(prefix="horseshoe-forms-"), 0, 1)
    # Every connector's declared form, also of those with a guided flow: the operator's by-hand path.
    w.runtime.settings = replace(w.runtime.settings, manual_account_form=True)
    # The demo's runtime loads what is installed; add the every-field-kind connector to its registry
    # (what its plugin's registration hook would have done at start-up).
    w.runtime.registry.connectors["formnet"] = FormnetConnector()
    yield w
    w.stop()


@pytest.fixture
def shots(screenshot_dir: Path) -> Path:
    folder = screenshot_dir / "credential-forms"
    folder.mkdir(exist_ok=True)
    return folder


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _expected(connector: Connector) -> dict[str, str]:
    """input name -> type, from the connector's models (not from the form code under test)."""
    expected: dict[str, str] = {}
    for kind, model in (("credentials", connector.credentials_model), ("settings", connector.settings_model)):
        fields: dict[str, Any] = typing.cast(type[BaseModel], model).model_fields
        for name, info in fields.items():
            expected[f"{kind}.{connector.name}.{name}"] = "password" if _is_secret(info.annotation) else "other"
    return expected


def _shoot(page: Any, frame: Any, scope: Any, path: Path, label: str) -> None:
    """800x600: what an admin sees around the fieldset. 1280 wide: the whole form (the frame is grown
    to the page's height first: Zendesk's iframe would scroll, a screenshot cannot)."""
    if label == "1280":
        height = frame.locator("html").evaluate("e => e.scrollHeight")
        page.evaluate(f"document.querySelector('iframe[name=cf]').style.height = '{height + 20}px'")
        page.screenshot(path=str(path), full_page=True)
        page.evaluate("document.querySelector('iframe[name=cf]').style.height = '820px'")
    else:
        scope.scroll_into_view_if_needed()
        page.screenshot(path=str(path))


def _open(world: World, browser: Any, size: dict[str, int]) -> tuple[Any, Any]:
    html, _ = frame_page(world)
    page, frame = open_in_admin_center(browser, world, html, size)
    frame.locator("select[name=new_network]").wait_for()
    return page, frame


def test_each_connector_gets_a_form_matching_its_models(world: World, browser: Any, shots: Path) -> None:
    connectors = sorted(world.runtime.registry.connectors.values(), key=lambda c: c.name)
    assert "formnet" in {c.name for c in connectors}
    for label, size in SIZES.items():
        page, frame = _open(world, browser, size)
        for connector in connectors:
            frame.locator("select[name=new_network]").select_option(connector.name)
            scope = frame.locator(f'fieldset[data-network="{connector.name}"]')
            scope.wait_for(state="visible")
            # Only the chosen network's fields are visible (and submittable).
            assert frame.locator("fieldset[data-network]:visible").count() == 1
            expected = _expected(connector)
            inputs = scope.locator("input:not([type=hidden]), select, textarea")
            found = {inputs.nth(i).get_attribute("name"): inputs.nth(i) for i in range(inputs.count())}
            assert set(found) == set(expected), connector.name
            for name, kind in expected.items():
                tag_type = found[name].evaluate("e => e.type")
                assert (tag_type == "password") == (kind == "password"), (name, tag_type)
                assert found[name].is_visible() and found[name].is_enabled(), name
            _shoot(page, frame, scope, shots / f"{connector.name}-{label}.png", label)
        page.close()


def test_a_bad_value_is_shown_next_to_its_field(world: World, browser: Any, shots: Path) -> None:
    for label, size in SIZES.items():
        page, frame = _open(world, browser, size)
        frame.locator("select[name=new_network]").select_option("formnet")
        frame.locator("input[name=new_external_id]").fill("brand-1")
        frame.locator('input[name="credentials.formnet.token"]').fill("tok-not-echoed")
        frame.locator('input[name="settings.formnet.page_size"]').fill("0")
        # app_id, required, left empty
        frame.locator("button[type=submit][value=save]").click()
        size_field = frame.locator(".field", has=frame.locator('input[name="settings.formnet.page_size"]'))
        size_field.locator(".field-error", has_text="greater than or equal to 1").wait_for()
        app_field = frame.locator(".field", has=frame.locator('input[name="credentials.formnet.app_id"]'))
        assert app_field.locator(".field-error").inner_text() == "this field is required"
        assert frame.locator('input[name="settings.formnet.page_size"]').get_attribute("aria-invalid") == "true"
        assert frame.locator('input[name="credentials.formnet.token"]').input_value() == ""
        assert "tok-not-echoed" not in frame.locator("body").inner_html()
        scope = frame.locator('fieldset[data-network="formnet"]')
        _shoot(page, frame, scope, shots / f"formnet-error-{label}.png", label)
        page.close()
