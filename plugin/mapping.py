"""Evaluates the declarative field maps in ``mappings/*.yaml`` against a mention and its labels."""

from __future__ import annotations

import re
import string
from typing import Any

from plugin.models import Labels, Mention, iso_utc

_FIELD = re.compile(r"{([a-zA-Z0-9_.]+)}")
_TAG_UNSAFE = re.compile(r"[^a-z0-9_:/-]+")


def context_of(mention: Mention, labels: Labels | None = None) -> dict[str, Any]:
    data = mention.model_dump(mode="json")
    data["created_at"] = iso_utc(mention.created_at)
    data["labels"] = (labels or Labels()).model_dump(mode="json")
    # What agents may see: triage's redacted copy when a public post holds personal data.
    data["display_text"] = data["labels"].get("redacted_text") or mention.text
    # The conversation a mention belongs to: its own thread, or the public thread an agent moved to
    # private messages (a handoff), so the customer's private answer joins that ticket.
    data["conversation_thread"] = mention.extra.get("handoff_thread") or mention.thread_id
    data["network_title"] = mention.network.capitalize() if len(mention.network) > 2 else mention.network.upper()
    data["author_label"] = (
        f"@{mention.author.handle}" if mention.author.handle else (mention.author.name or mention.author.external_id)
    )
    return data


def lookup(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _format(template: str, context: dict[str, Any]) -> str | None:
    names = _FIELD.findall(template)
    values = {name: lookup(context, name) for name in names}
    if any(v is None or v == "" for v in values.values()):
        return None
    flat = {name.replace(".", "__"): str(v) for name, v in values.items()}
    return string.Formatter().vformat(
        _FIELD.sub(lambda m: "{" + m.group(1).replace(".", "__") + "}", template), (), flat
    )


def _cut(value: Any, max_length: int | None) -> Any:
    if max_length and isinstance(value, str) and len(value) > max_length:
        return value[: max_length - 1] + "…" if max_length > 1 else value[:max_length]
    return value


def tag(value: str) -> str:
    return _TAG_UNSAFE.sub("_", value.lower()).strip("_")


def evaluate(spec: Any, context: dict[str, Any]) -> Any:
    """Evaluate one expression (see the header of mappings/zendesk.yaml)."""
    if isinstance(spec, list):
        return [evaluate(item, context) for item in spec]
    if not isinstance(spec, dict):
        return spec
    if "const" in spec:
        return spec["const"]
    if "tags" in spec:
        tags = [_format(t, context) for t in spec["tags"]]
        extra = lookup(context, spec["extra"]) if spec.get("extra") else None
        values = [t for t in tags if t] + [str(e) for e in (extra or [])]
        return sorted({tag(v) for v in values if tag(v)})
    value: Any = None
    if "format" in spec:
        value = _format(spec["format"], context)
    elif "path" in spec:
        for path in str(spec["path"]).split("|"):
            value = lookup(context, path.strip())
            if value not in (None, "", []):
                break
    else:
        return {key: evaluate(item, context) for key, item in spec.items()}
    if "map" in spec:
        # A closed table: only values it lists get through (e.g. language -> Zendesk locale).
        value = spec["map"].get(str(value)) if value not in (None, "", []) else None
    if value in (None, "", []):
        value = spec.get("default")
    return _cut(value, spec.get("max_length"))
