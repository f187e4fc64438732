"""The installed distribution is found the way an operator's horseshoe finds it: by entry point."""

from __future__ import annotations

from click.testing import CliRunner
from horseshoe_echo import EchoConnector, EchoCredentials, EchoSettings

from plugin.cli.main import main as cli
from plugin.plugins import Registry, get_plugin_manager


def test_entry_point_registers_the_connector_with_its_distribution() -> None:
    registry = Registry(get_plugin_manager())
    assert isinstance(registry.connector("echo"), EchoConnector)
    [entry] = [e for e in registry.entries if e.name == "echo"]
    assert (entry.kind, entry.distribution) == ("connector", "horseshoe-echo")


def test_cli_lists_the_connector() -> None:
    result = CliRunner().invoke(cli, ["connectors"])
    assert result.exit_code == 0, result.output
    [line] = [ln for ln in result.output.splitlines() if ln.split()[1:2] == ["echo"]]
    assert line.rstrip().endswith("horseshoe-echo")


def test_models_are_what_the_admin_form_is_built_from() -> None:
    connector = EchoConnector()
    assert connector.credentials_model is EchoCredentials and connector.settings_model is EchoSettings
    assert EchoCredentials.model_json_schema()["required"] == ["token"]
    assert EchoSettings().page_size == 50
