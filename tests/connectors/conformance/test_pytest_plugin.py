"""The conformance kit's pytest plugin, as a third party's test run meets it (a separate pytest process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _pytest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_kit.py").write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "from plugin.testing import ConnectorConformance\nclass TestMine(ConnectorConformance):\n    pass\n",
            "TestMine uses the horseshoe conformance suite but lists no harnesses",
        ),
        (
            "from plugin.testing import ConnectorConformance\n"
            "class TestMine(ConnectorConformance):\n    harnesses = [dict]\n",
            "made dict, not a plugin.testing.Harness",
        ),
    ],
    ids=["no-harnesses", "not-a-harness"],
)
def test_a_class_without_a_real_harness_fails_with_the_reason(tmp_path: Path, source: str, reason: str) -> None:
    result = _pytest(tmp_path, source)
    assert result.returncode != 0
    assert reason in result.stdout + result.stderr, result.stdout[-3000:]


def test_the_plugin_is_loaded_through_its_entry_point(tmp_path: Path) -> None:
    # No conftest, no pytest_plugins: the fixtures come from the installed distribution's pytest11 entry.
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "fixtures defined from plugin.testing.pytest_plugin" in result.stdout, result.stdout[-3000:]
    assert "horseshoe_harness" in result.stdout


def test_a_module_level_harness_list_serves_plain_test_functions(tmp_path: Path) -> None:
    source = (
        "from sandbox.networks import BUILTIN\n"
        "harnesses = [BUILTIN['mastodon']]\n"
        "def test_started_and_reset(horseshoe_harness):\n"
        "    assert horseshoe_harness.url.startswith('http://127.0.0.1:')\n"
        "    assert horseshoe_harness.posted() == []\n"
    )
    result = _pytest(tmp_path, source)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout
