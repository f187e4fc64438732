"""The house rules that are not import rules (those are in pyproject.toml, checked by lint-imports)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", _modules("plugin", "connectors"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_500_lines(path: Path) -> None:
    """Small modules with one job: a module past this size is a package waiting to be split."""
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (max {MAX_LINES})"


def test_the_host_has_no_flat_concern_modules() -> None:
    """Concerns live in packages, not behind name prefixes at the top of plugin/."""
    top = {p.stem for p in (ROOT / "plugin").glob("*.py")}
    prefixed = sorted(name for name in top if "_" in name and name.split("_")[0] in top | {"identity", "zendesk"})
    assert not prefixed, prefixed
