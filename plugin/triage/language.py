"""Language of short, noisy posts: lingua (offline, ships its models), restricted to the tenant's languages.

Restricting the candidates is what makes short posts work: "Danke!" is German among ten languages,
anything among seventy-five. Posts with fewer words than the tenant's minimum are not guessed; the
network's own tag is used when it is one of the tenant's languages (networks say ``und``, ``qme``,
``zxx`` for "unknown", "emoji only" and "no linguistic content": those are never a language).
"""

from __future__ import annotations

import re
import threading

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from plugin.triage.features import EMAIL, HANDLE, URL

WORDS = re.compile(r"[^\W\d_]{2,}")
NOT_A_LANGUAGE = frozenset({"und", "qme", "qht", "qam", "qct", "zxx", "mul", "art"})
_lock = threading.Lock()
_detectors: dict[tuple[tuple[str, ...], bool], LanguageDetector] = {}


def _iso(code: str) -> IsoCode639_1:
    try:
        return IsoCode639_1.from_str(code.lower())
    except ValueError as exc:
        raise ValueError(f"unknown language code {code!r} in the triage rules (use ISO 639-1, e.g. 'de')") from exc


# Lingua's high-accuracy mode (n-grams up to 5) is what tells short posts apart; on longer ones its
# low-accuracy mode (trigrams) is as good and about six times faster.
LONG_POST_WORDS = 8


def _codes(languages: tuple[str, ...]) -> tuple[IsoCode639_1, ...]:
    codes = tuple(sorted({_iso(code) for code in languages}, key=str))
    if len(codes) < 2:
        raise ValueError("language detection needs at least two configured languages")
    return codes


def detector(languages: tuple[str, ...], short: bool) -> LanguageDetector:
    """One detector per language set and mode, built once per process with all its models loaded.

    Lingua loads models lazily by default: the first short post would load the high-accuracy models
    (about 3 s of CPU and ~300 MB) while holding the GIL, stalling every thread of the process, and
    the first post in another script (Cyrillic after Latin) would stall it again. Loading them all
    when the detector is built makes that a single cost, paid by ``preload`` at start-up in the
    processes that triage. Lingua shares loaded models between the detectors of a process, so
    building another detector over languages already loaded costs nothing.
    """
    key = (languages, short)
    found = _detectors.get(key)
    if found is None:
        with _lock:
            found = _detectors.get(key)
            if found is None:
                builder = LanguageDetectorBuilder.from_iso_codes_639_1(*_codes(languages))
                if not short:
                    builder = builder.with_low_accuracy_mode()
                found = _detectors[key] = builder.with_preloaded_language_models().build()
    return found


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
    """Load the models of ``languages`` for both modes now (``RulesFile.languages()``: every tenant's).

    Lingua shares loaded models between all the detectors of a process, so a tenant's own detector, built
    on its first post, finds its languages' models already loaded. ``plugin.runtime.warm_up`` and
    ``horseshoe serve``'s workers call this before they take traffic.
    """
    if len({code.lower() for code in languages}) < 2:
        return  # nothing is ever detected (see ``detect``)
    for short in (True, False):
        detector(languages, short)


def loaded(languages: tuple[str, ...]) -> bool:
    """Whether both detectors of ``languages`` were built in this process (so their models are loaded)."""
    return all((languages, short) in _detectors for short in (True, False))


def forget() -> None:
    """Drop this process's detectors (tests). Their models stay loaded in lingua: rebuilding is free."""
    with _lock:
        _detectors.clear()
