"""``horseshoe triage FILE``: JSON lines in, one JSON line of labels out per input line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from pydantic import ValidationError

from plugin.models import Author, Mention
from plugin.plugins import get_plugin_manager
from plugin.triage import merge_labels

FIELDS = ("language", "intent", "sentiment", "pii", "priority", "engage")


def triage_lines(lines: Iterable[str]) -> Iterator[str]:
    pm = get_plugin_manager()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError("each line needs a JSON object with a string 'text'")
            author = item.get("author") or "anonymous"
            mention = Mention(
                network=str(item.get("network") or "unknown"),
                external_id=f"line-{number}",
                author=Author(external_id=str(author), handle=str(author)),
                text=item["text"],
                lang=item.get("lang"),
                created_at=datetime.now(UTC),
                account=str(item.get("to_handle") or "brand"),
            )
        except (ValueError, ValidationError) as exc:
            yield json.dumps({"line": number, "error": str(exc).splitlines()[0]})
            continue
        labels = merge_labels(pm.hook.horseshoe_triage(mention=mention)).model_dump()
        yield json.dumps({name: labels.get(name) for name in FIELDS}, ensure_ascii=False)
