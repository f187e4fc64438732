"""The documented payload fixtures under tests/fixtures/<network>/ (the built-in harnesses' fixture_files)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
