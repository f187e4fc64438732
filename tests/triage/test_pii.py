"""The PII detector the reply guard and inbound triage share (issue 10 item 5's obfuscations included)."""

from __future__ import annotations

import re

import pytest

from plugin.triage.pii import detect_pii, luhn, scan


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane.doe at example dot com please", "email"),
        ("jane.doe＠example.com", "email"),  # full-width at sign  # noqa: RUF001
        ("jane.doe (at) example (dot) com", "email"),
        ("jane.doe[at]example[dot]com", "email"),
        ("plain jane.doe@example.com", "email"),
        ("call me 555.123.4567", "phone"),
        ("ruf an: 030/1234567", "phone"),
        ("my number +49\u00a030\u00a012345678", "phone"),  # no-break spaces
        ("+44 7700 900123 after 6pm", "phone"),
        ("card 4111.1111.1111.1111", "card_number"),
        ("card 4111\u202f1111\u202f1111\u202f1111", "card_number"),  # narrow no-break spaces
        ("4111-1111-1111-1111 exp 12/29", "card_number"),
        ("IBAN DE89370400440532013000 thanks", "iban"),
        ("GB82 WEST 1234 5698 7654 32", "iban"),
    ],
)
def test_each_kind_is_found_however_it_is_written(text: str, kind: str) -> None:
    assert kind in detect_pii(text), (text, scan(text))


@pytest.mark.parametrize(
    "text",
    [
        "order #77120 still not here",
        "4111 1111 1111 1112 fails Luhn",  # not a card
        "DE89370400440532013001 bad checksum",
        "meet me at the store at noon",
        "it happened on 2024-05-01",
    ],
)
def test_ordinary_text_and_invalid_numbers_are_not_flagged(text: str) -> None:
    found = scan(text).kinds
    assert "card_number" not in found and "iban" not in found
    if "Luhn" not in text and "checksum" not in text:
        assert found == []


def test_spans_make_a_redacted_copy_and_cards_are_not_also_phones() -> None:
    result = scan("card 4111 1111 1111 1111, mail jane at example dot com, tel 030/1234567")
    assert result.kinds == ["card_number", "email", "phone"]
    assert result.redacted() == "card [card_number], mail [email], tel [phone]"


def test_admin_patterns_are_a_kind_of_their_own() -> None:
    result = scan("my order ACME-123456 is late", patterns={"order_number": re.compile(r"ACME-\d{6}")})
    assert result.kinds == ["order_number"]
    assert result.redacted() == "my order [order_number] is late"


def test_luhn() -> None:
    assert luhn("4111111111111111") and not luhn("4111111111111112")
