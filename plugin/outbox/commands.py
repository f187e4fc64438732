"""The agent's commands in a reply (``#handoff``, ``#unquoted``): a marker that opens the first line."""

from __future__ import annotations


def command(text: str, marker: str) -> tuple[str, str] | None:
    """``(rest of the marker line, the lines after it)``, both stripped, when the first line of ``text``
    is ``marker`` or starts with ``marker`` and a space (case ignored); None otherwise."""
    first, _, rest = text.strip().partition("\n")
    head = first.strip()
    if head.lower() != marker and not head.lower().startswith(marker + " "):
        return None
    return head[len(marker) :].strip(), rest.strip()
