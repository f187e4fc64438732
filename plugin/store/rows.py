"""Helpers shared by the repositories for turning SQLAlchemy results into plain values."""

from __future__ import annotations

from typing import Any


def new_id(result: Any) -> int:
    """Primary key of the row an INSERT just created."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
