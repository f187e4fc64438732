"""Declarative field maps (YAML) from a normalized mention to CRM resources."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def load_mapping(name: str) -> dict[str, Any]:
    """Load ``mappings/<name>.yaml``; cached because the files are read-only at run time."""
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"mapping {name!r} must be a YAML mapping")
    return data
