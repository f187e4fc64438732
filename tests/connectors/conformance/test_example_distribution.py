"""examples/horseshoe-echo installs into a fresh venv and its own tests pass there.

A third party's experience, end to end: a new venv (no system site-packages, nothing of ours on
sys.path), ``pip install`` of horseshoe and the example with its test extra (the packaged conformance
suite arrives as horseshoe's pytest plugin), then the example's pytest run. pip resolves every wheel
from the machine's local index, so this takes about a minute; it stays in the default suite (marked
slow, not skipped) so CI fails whenever the example or the kit breaks for a third party.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "horseshoe-echo"
# What the horseshoe distribution is built from (pyproject's packages.find and package data).
SOURCES = ("pyproject.toml", "README.md", "manifest.json", "plugin", "connectors", "sandbox", "mappings")
JUNK = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache", ".mypy_cache", "*.db", "build")


def _copy_sources(into: Path) -> tuple[Path, Path]:
    """Build from copies, so pip's in-tree build leaves nothing (egg-info, build/) in the checkout."""
    horseshoe, example = into / "horseshoe", into / "horseshoe-echo"
    horseshoe.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, horseshoe / name, ignore=JUNK)
        elif source.exists():
            shutil.copy2(source, horseshoe / name)
    shutil.copytree(EXAMPLE, example, ignore=JUNK)
    return horseshoe, example


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing of this test process (PYTHONPATH, our venv) may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PYTEST"))}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_example_installs_in_a_fresh_venv_and_passes_its_tests(tmp_path: Path) -> None:
    horseshoe, example = _copy_sources(tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False, clear=True)
    python = env_dir / "bin" / "python"

    install = _run(
        [str(python), "-m", "pip", "install", "-q", str(horseshoe), f"{example}[test]"], tmp_path, timeout=900
    )
    assert install.returncode == 0, install.stdout[-4000:] + install.stderr[-4000:]

    isolated = _run([str(python), "-c", "import sys, plugin; print(sys.prefix, plugin.__file__)"], tmp_path, 60)
    prefix, location = isolated.stdout.split()
    assert Path(prefix) == env_dir and location.startswith(str(env_dir)), isolated.stdout

    tests = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], example, timeout=600)
    output = tests.stdout[-6000:] + tests.stderr[-2000:]
    assert tests.returncode == 0, output
    # The packaged suite really ran against the echo harness (not just the example's own tests).
    collected = _run([str(python), "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"], example, 120)
    assert "TestEchoConformance::test_cursor_resumes_after_restart[echo]" in collected.stdout, collected.stdout


def test_the_example_is_its_own_gpl_distribution() -> None:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "GPL-3.0-or-later"
    assert "horseshoe" in project["dependencies"]
