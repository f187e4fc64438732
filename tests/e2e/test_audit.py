"""The demo's audit counts a reply posted twice by its reference, never by posts minus sent replies:
a reply killed mid-send is on the network once but recorded ``uncertain``, and is no duplicate."""

from __future__ import annotations

from sandbox.demo.audit import REF, extra_copies, reply_ref
from sandbox.demo.script import agent_text


def test_every_agent_reply_carries_a_reference_the_audit_finds() -> None:
    text = agent_text("en", False, "Ana Souza", 42)
    assert REF.findall(text) == ["42"]
    assert REF.findall(f"Thanks! {reply_ref('sf-0ST000000000001')}") == ["sf-0ST000000000001"]


def test_extra_copies_counts_repeats_only() -> None:
    assert extra_copies(["a", "a", "a", "b", None, ""]) == 2
    assert extra_copies([("Twitter", "1"), ("Facebook", "1")]) == 0
