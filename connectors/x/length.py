"""X's weighted post length, so a reply that X would refuse is stopped before it is sent.

Rules as published in twitter-text's configuration v3 (github.com/twitter/twitter-text,
config/v3.json): at most 280 weighted characters; text is NFC-normalized; code points in
U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and U+2032-U+2037 weigh 1, every other code point 2;
every URL counts as 23 whatever its length; an emoji counts as 2 however many code points it is
made of (ZWJ sequences, skin tones, flags, keycaps). URLs are recognised with a scheme
(http/https); a bare "example.com" is counted as plain text, which can only over-count.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
EMOJI_WEIGHT = 2
LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)

ZWJ = 0x200D
VARIATION_SELECTOR = 0xFE0F
KEYCAP = 0x20E3


def _light(code: int) -> bool:
    return any(start <= code <= end for start, end in LIGHT_RANGES)


def _regional(code: int) -> bool:
    return 0x1F1E6 <= code <= 0x1F1FF


def _skin_tone(code: int) -> bool:
    return 0x1F3FB <= code <= 0x1F3FF


def _emoji_start(code: int) -> bool:
    return code >= 0x1F000 or 0x2300 <= code <= 0x23FF or 0x2600 <= code <= 0x27BF or 0x2B00 <= code <= 0x2BFF


def _text_weight(text: str) -> int:
    codes = [ord(ch) for ch in text]
    total, i = 0, 0
    while i < len(codes):
        code = codes[i]
        if _regional(code) and i + 1 < len(codes) and _regional(codes[i + 1]):
            total, i = total + EMOJI_WEIGHT, i + 2  # a flag is two regional indicators
            continue
        if code < 0x80 and i + 2 < len(codes) and codes[i + 1] == VARIATION_SELECTOR and codes[i + 2] == KEYCAP:
            total, i = total + EMOJI_WEIGHT, i + 3  # a keycap: digit, FE0F, U+20E3
            continue
        if _emoji_start(code):
            i += 1
            # One emoji: its modifiers and every ZWJ-joined part belong to it.
            while i < len(codes):
                nxt = codes[i]
                if nxt in (VARIATION_SELECTOR, KEYCAP) or _skin_tone(nxt):
                    i += 1
                elif nxt == ZWJ and i + 1 < len(codes):
                    i += 2
                else:
                    break
            total += EMOJI_WEIGHT
            continue
        total += 1 if _light(code) else 2
        i += 1
    return total


def weighted_length(text: str) -> int:
    """The length X counts against its 280 limit."""
    normalized = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in URL.finditer(normalized):
        total += _text_weight(normalized[position : match.start()]) + URL_WEIGHT
        position = match.end()
    return total + _text_weight(normalized[position:])
