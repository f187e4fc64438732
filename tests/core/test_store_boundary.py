"""The store owns all SQL, and its status enums keep the values already in people's databases."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from plugin.sink import OutcomeStatus
from plugin.store.statuses import DeliveryStatus, LinkStatus, MentionStatus, Outcome, ReplyStatus

PLUGIN = Path(__file__).resolve().parents[2] / "plugin"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_outside_the_store_speaks_sql() -> None:
    offenders = {}
    for path in sorted(PLUGIN.rglob("*.py")):
        if path.is_relative_to(PLUGIN / "store"):
            continue
        bad = {
            name
            for name in _imports(path)
            if name == "sqlalchemy" or name.startswith("sqlalchemy.") or name.startswith("plugin.store.tables")
        }
        if bad:
            offenders[str(path.relative_to(PLUGIN))] = sorted(bad)
    assert offenders == {}


def test_stored_status_values_never_change() -> None:
    # These strings are in existing databases: renaming one needs a migration, not just an edit here.
    assert [s.value for s in MentionStatus] == ["received", "routed", "skipped"]
    # "discarded" (issue 15) and "held" (issue 14): added, not renamed; older rows never hold them.
    assert [s.value for s in DeliveryStatus] == ["pending", "delivered", "failed", "discarded"]
    assert [s.value for s in ReplyStatus] == ["pending", "sending", "sent", "failed", "uncertain", "held"]
    assert [s.value for s in LinkStatus] == ["linked", "suggested", "rejected", "new", "undone", "forgotten"]


def test_outcome_enum_matches_the_public_sink_literal() -> None:
    assert {o.value for o in Outcome} == set(get_args(OutcomeStatus))


def test_final_reply_states() -> None:
    # Held replies are final too: reported back to their CRM record with the reason, never posted blindly.
    final = {ReplyStatus.SENT, ReplyStatus.FAILED, ReplyStatus.UNCERTAIN, ReplyStatus.HELD}
    assert {s for s in ReplyStatus if s.final} == final
