"""Language of short, noisy posts: lingua (offline, ships its models), restricted to the tenant's languages.

Restricting the candidates is what makes short posts work: "Danke!" is German among ten languages,
anything among seventy-five. Posts with fewer words than the tenant's minimum are not guessed; the
network's own tag is used when it is one of the tenant's languages (networks say ``und``, ``qme``,
``zxx`` for "unknown", "emoji only" and "no linguistic content": those are never a language).
"""

from __future__ import annotations

import re
import threading
from functools import cache

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from plugin.triage.features import EMAIL, HANDLE, URL

WORDS = re.compile(r"[^\W\d_]{2,}")
NOT_A_LANGUAGE = frozenset({"und", "qme", "qht", "qam", "qct", "zxx", "mul", "art"})
_lock = threading.Lock()


def _iso(code: str) -> IsoCode639_1:
    try:
        return IsoCode639_1.from_str(code.lower())
    except ValueError as exc:
        raise ValueError(f"unknown language code {code!r} in the triage rules (use ISO 639-1, e.g. 'de')") from exc


# Lingua's high-accuracy mode (n-grams up to 5) is what tells short posts apart; on longer ones its
# low-accuracy mode (trigrams) is as good and about six times faster.
LONG_POST_WORDS = 8


@cache
def detector(languages: tuple[str, ...], short: bool) -> LanguageDetector:
    """One detector per language set and mode, built once (models load on first use)."""
    codes = sorted({_iso(code) for code in languages}, key=str)
    if len(codes) < 2:
        raise ValueError("language detection needs at least two configured languages")
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    with _lock:
        return builder.build() if short else builder.with_low_accuracy_mode().build()


def _clean(text: str) -> str:
    return HANDLE.sub(" ", URL.sub(" ", EMAIL.sub(" ", text)))


def word_count(text: str) -> int:
    return len(WORDS.findall(_clean(text)))


def detect(text: str, languages: tuple[str, ...], min_words: int, network_lang: str | None = None) -> str | None:
    """ISO 639-1 code of ``text`` among ``languages``, or None when it cannot be told."""
    hint = (network_lang or "").split("-")[0].lower() or None
    hint = hint if hint in languages and hint not in NOT_A_LANGUAGE else None
    clean = _clean(text)
    words = word_count(clean)
    if words < min_words or len(languages) < 2:
        return hint
    found = detector(languages, words < LONG_POST_WORDS).detect_language_of(clean)
    if found is None:
        return hint
    return str(found.iso_code_639_1.name).lower()


def preload(languages: tuple[str, ...]) -> None:
    """Load the models of ``languages`` for both modes now. Lingua otherwise loads them on the first post
    that needs them, holding the interpreter lock meanwhile: the high-accuracy models of the ten default
    languages are ~2.3 s of CPU and ~325 MB, paid in the middle of live traffic by the first short post
    of each process (every request thread of that process waits). Models are shared by every detector of
    the process, so the ones built here only load them. ``horseshoe serve`` calls this while a worker
    process boots, before it takes requests."""
    codes = sorted({_iso(code) for code in languages}, key=str)
    if len(codes) < 2:
        return  # nothing is ever detected (see ``detect``)
    with _lock:
        for low_accuracy in (False, True):
            builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            builder = builder.with_low_accuracy_mode() if low_accuracy else builder
            builder.with_preloaded_language_models().build()
