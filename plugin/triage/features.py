"""The features the shipped intent/sentiment model reads, shared by training and inference.

One function builds them for both, so the pure-Python inference in ``classifier`` sees exactly what
scikit-learn saw when ``python -m plugin.triage.train`` fitted the weights.
"""

from __future__ import annotations

import math
import re
import unicodedata

URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|biz|info|top|xyz|shop|ru|pl|de|ly|me)(?:/\S*)?\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HANDLE = re.compile(r"@\w+")
DIGITS = re.compile(r"\d")
SPACES = re.compile(r"\s+")
WORD = re.compile(r"[^\W\d_]+|[^\w\s]", re.UNICODE)
NGRAM_SIZES = (2, 3, 4)


def normalize(text: str) -> str:
    """NFKC, lower case, emails, links and @handles reduced to a placeholder (their words are noise),
    digits to 0."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = EMAIL.sub(" ⟨email⟩ ", text)
    text = URL.sub(" ⟨url⟩ ", text)
    text = HANDLE.sub(" ⟨at⟩ ", text)
    text = DIGITS.sub("0", text)
    return SPACES.sub(" ", text).strip()


def features(text: str) -> dict[str, float]:
    """Character n-grams inside words (2-4), whole words and punctuation, sublinear tf, L2-normalised."""
    norm = normalize(text)
    counts: dict[str, float] = {}
    for token in WORD.findall(norm):
        key = "w:" + token
        counts[key] = counts.get(key, 0.0) + 1.0
        if len(token) > 1:
            padded = f" {token} "
            for size in NGRAM_SIZES:
                for start in range(len(padded) - size + 1):
                    gram = "c:" + padded[start : start + size]
                    counts[gram] = counts.get(gram, 0.0) + 1.0
    for marker in ("⟨url⟩", "⟨at⟩", "⟨email⟩"):
        if marker in norm:
            counts["m:" + marker] = float(norm.count(marker))
    if not counts:
        return {}
    weighted = {k: 1.0 + math.log(v) for k, v in counts.items()}
    norm2 = math.sqrt(sum(v * v for v in weighted.values()))
    return {k: v / norm2 for k, v in weighted.items()}
