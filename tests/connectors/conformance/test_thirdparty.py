"""A third-party connector, installed as its own distribution, is listed by the host and passes the suite.

``tests/thirdparty/horseshoe_echo`` is laid out as pip would install it (module + ``.dist-info`` with
its ``entry_points.txt``) in a temporary directory put on ``sys.path``; the host finds it only through
its ``horseshoe.connectors`` entry point, exactly as it would find a package from an index.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from plugin.cli.main import main as cli
from plugin.connector import AccountContext, Connector, InboundRequest
from sandbox.faults import FaultPlan
from sandbox.networks.harness import Harness, Posted, json_request, with_headers

from .suite import ConnectorConformance

DIST = Path(__file__).resolve().parents[2] / "thirdparty" / "horseshoe_echo"
TOKEN = "echo-token"
WEBHOOK_SECRET = "echo-webhook-secret"


def install(target: Path) -> None:
    """What pip puts in site-packages for this distribution: the module and a ``.dist-info``.

    Written from the distribution's own pyproject.toml (name, version, entry points) because a wheel
    build needs the ``wheel`` package, which the offline venv does not have.
    """
    project = tomllib.loads((DIST / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for module in ("horseshoe_echo.py",):
        shutil.copy(DIST / module, target / module)
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
        sys.modules.pop("horseshoe_echo", None)


def test_cli_lists_the_entry_point_connector_with_its_distribution(installed: ModuleType) -> None:
    result = CliRunner().invoke(cli, ["connectors"])
    assert result.exit_code == 0, result.output
    [line] = [ln for ln in result.output.splitlines() if ln.split()[1:2] == ["echo"]]
    assert line.split()[0] == "connector" and line.rstrip().endswith("horseshoe-echo-connector")
    assert installed.__file__ is not None
    assert str(Path(installed.__file__).resolve()).startswith(str(Path(sys.path[0]).resolve()))


class EchoHarness(Harness):
    network = "echo"
    fixture_files = ((str(DIST / "fixtures" / "mentions.json"), "b1"),)

    def __init__(self, module: ModuleType) -> None:
        super().__init__()
        self.module = module
        self.extra_plugins = (("horseshoe-echo-connector", module),)

    def create_app(self) -> Any:
        return self.module.create_app(self.module.EchoState(token=TOKEN), FaultPlan(seed=3))

    def reset_state(self) -> None:
        self.app.state.reset()

    def connector(self) -> Connector:
        return self.module.EchoConnector()

    def account(self, *, bad_credentials: bool = False) -> AccountContext:
        return AccountContext(
            network="echo",
            external_id="b1",
            handle="brand",
            credentials={"token": "wrong" if bad_credentials else TOKEN, "webhook_secret": WEBHOOK_SECRET},
            api_base=self.url,
        )

    @property
    def customer_id(self) -> str:
        return "u7"

    def inject_public(self, text: str, reply_to: str | None = None) -> str:
        return str(self.app.state.add("u7", "ann", text, parent=reply_to)["id"])

    def inject_private(self, text: str) -> str | None:
        return str(self.app.state.add("u7", "ann", text, private=True)["id"])

    def signed_webhook(self, external_id: str) -> InboundRequest | None:
        [item] = [i for i in self.app.state.items if i["id"] == external_id]
        request = json_request({"items": [item]}, {})
        signature = self.module.sign(WEBHOOK_SECRET, request.body)
        return with_headers(request, lambda h: h.update({"X-Echo-Signature": signature}))

    def forged_webhooks(self, genuine: InboundRequest) -> list[InboundRequest]:
        forged = self.module.sign("wrong", genuine.body)
        tampered = json.loads(genuine.body)
        tampered["items"][0]["text"] = "tampered"
        return [
            with_headers(genuine, lambda h: h.update({"X-Echo-Signature": forged})),
            with_headers(genuine, lambda h: h.pop("X-Echo-Signature")),
            InboundRequest("POST", genuine.path, dict(genuine.headers), json.dumps(tampered).encode()),
        ]

    def posted(self) -> list[Posted]:
        return [Posted(p["id"], p["text"], p["parent_id"], p["private"]) for p in self.app.state.posted()]


@pytest.fixture(scope="module")
def _echo(installed: ModuleType) -> Iterator[Harness]:
    harness = EchoHarness(installed)
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


class TestEchoConnector(ConnectorConformance):
    @pytest.fixture
    def harness(self, _echo: Harness) -> Harness:
        _echo.reset()
        return _echo
