"""A third-party connector, installed as its own distribution, is found through its entry point only.

The example distribution ``examples/horseshoe-echo`` is laid out here as pip would install it (package
+ ``.dist-info`` with its ``entry_points.txt``) in a temporary directory put on ``sys.path``: the host
must list it with its distribution's name and read its models, exactly as for a package from an index.
Its own test suite (the packaged conformance suite among it) runs in a fresh venv in
test_example_distribution.py; this is the quick in-process check of the discovery path.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from plugin.cli.main import main as cli
from plugin.plugins import Registry, get_plugin_manager

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "horseshoe-echo"


def install(target: Path) -> None:
    """What pip puts in site-packages for the example: its package and a ``.dist-info``.

    Written from the distribution's own pyproject.toml (name, version, entry points) because a wheel
    build in-process would be slow; the fresh-venv test does the real pip install.
    """
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    shutil.copytree(EXAMPLE / "src" / "horseshoe_echo", target / "horseshoe_echo")
    info = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8"
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {value}" for name, value in entries.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (info / "INSTALLER").write_text("conformance-test\n", encoding="utf-8")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    target = tmp_path_factory.mktemp("site")
    install(target)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(target))  # also invalidates import caches, so metadata sees the new dist
        yield importlib.import_module("horseshoe_echo")
        for name in [m for m in sys.modules if m == "horseshoe_echo" or m.startswith("horseshoe_echo.")]:
            sys.modules.pop(name)


def test_cli_lists_the_entry_point_connector_with_its_distribution(installed: ModuleType) -> None:
    result = CliRunner().invoke(cli, ["connectors"])
    assert result.exit_code == 0, result.output
    [line] = [ln for ln in result.output.splitlines() if ln.split()[1:2] == ["echo"]]
    assert line.split()[0] == "connector" and line.rstrip().endswith("horseshoe-echo")
    assert installed.__file__ is not None
    assert str(Path(installed.__file__).resolve()).startswith(str(Path(sys.path[0]).resolve()))


def test_registry_exposes_the_third_party_models(installed: ModuleType) -> None:
    connector = Registry(get_plugin_manager()).connector("echo")
    assert connector.credentials_model is installed.EchoCredentials
    assert connector.settings_model is installed.EchoSettings
