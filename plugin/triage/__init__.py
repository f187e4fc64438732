"""Triage: every ``horseshoe_triage`` implementation runs; results merge into one ``Labels``."""

from __future__ import annotations

from collections.abc import Iterable

from plugin.models import Labels


def merge_labels(results: Iterable[Labels | None]) -> Labels:
    """Earlier plugins win for scalar fields; list fields are united; ``engage`` is False if any says so."""
    merged: dict[str, object] = {}
    engage: bool | None = None
    for labels in results:
        if labels is None:
            continue
        for key, value in labels.model_dump(exclude_none=True).items():
            if key == "engage":
                engage = bool(value) if engage is None else (engage and bool(value))
            elif isinstance(value, list):
                existing = merged.get(key) or []
                assert isinstance(existing, list)
                merged[key] = existing + [v for v in value if v not in existing]
            else:
                merged.setdefault(key, value)
    if engage is not None:
        merged["engage"] = engage
    return Labels.model_validate(merged)
