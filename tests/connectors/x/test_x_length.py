"""X's weighted length (twitter-text configuration v3): what X itself would accept or refuse."""

from __future__ import annotations

import pytest

from connectors.x.length import MAX_WEIGHTED_LENGTH, weighted_length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("Привет, как дела?", 17),  # Cyrillic is in the light range
        ("注文がまだ届きません", 20),  # CJK weighs 2
        ("ok 👍", 5),  # an emoji weighs 2
        ("👍🏽", 2),  # with a skin tone, still one emoji
        ("👨\u200d👩\u200d👧", 2),  # a family: three people joined by ZWJ, one emoji
        ("🇵🇱", 2),  # a flag: two regional indicators
        ("1\ufe0f\u20e3", 2),  # a keycap
        ("see https://example.com/a/very/long/path/that/goes/on/and/on?with=query", 4 + 23),
        ("e\u0301", 1),  # NFC: e + combining acute is one é
    ],
)
def test_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_a_japanese_reply_of_150_characters_is_over_the_limit() -> None:
    text = "ご" * 150  # 150 characters, 300 weighted: X would refuse it
    assert len(text) <= MAX_WEIGHTED_LENGTH < weighted_length(text)
