"""Scoring rules that guard irreversible actions (no CRM needed: the pure decision function)."""

from __future__ import annotations

from plugin.identity.scoring import Candidate, Facts, Policy, decide
from plugin.models import SocialProfile

PROFILE = SocialProfile(network="x", external_id="42", handle="ola", name="Ola Nowak")


def test_a_phone_matching_only_in_its_last_nine_digits_is_a_suggestion_at_most() -> None:
    # +48 123456789 (Poland) and +7 9123456789 (Russia) share their last nine digits.
    facts = Facts(private_phones=frozenset({"+48123456789"}))
    other_country = Candidate(record_id="7", name="Ola Nowak", phones=frozenset({"+79123456789"}))
    decision = decide(PROFILE, facts, [other_country], Policy())
    assert decision.verdict == "suggest"
    same = Candidate(record_id="8", name="Ola Nowak", phones=frozenset({"+48 123 456 789"}))
    assert decide(PROFILE, facts, [same], Policy()).verdict == "link"


def test_staff_are_never_targets_and_names_alone_never_link() -> None:
    facts = Facts(private_emails=frozenset({"ola@example.com"}))
    agent = Candidate(record_id="1", name="Ola Nowak", staff=True, emails=frozenset({"ola@example.com"}))
    assert decide(PROFILE, facts, [agent], Policy()).verdict == "new"
    namesake = Candidate(record_id="2", name="Ola Nowak")
    assert decide(PROFILE, Facts(), [namesake], Policy()).verdict == "new"
