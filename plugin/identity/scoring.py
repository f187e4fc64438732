"""Identity resolution core: which CRM record a social profile belongs to, with confidence and evidence.

Pure and deterministic: the same profile, facts and candidates always give the same verdict, whatever
order they arrive in. CRM access lives in the adapters (``identity_adapter.py``), storage in
``identity_store.py`` and the wiring into the hook in ``identity_plugin.py``.

Signals, strongest first: an existing link; the network identity already on a CRM record; an email or
phone the network exposes or the customer gave in a private message (weaker when written in public);
website / profile URL; name similarity (normalized, transliteration-aware) only as a weak signal.
Follower counts are never looked at: nothing here reads them. Staff records are never targets.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Literal

from plugin.models import SocialProfile

Verdict = Literal["link", "suggest", "new"]

# Signal weights. A record's confidence is its strongest signal, nudged by a similar name.
WEIGHTS: dict[str, float] = {
    "existing_link": 1.0,
    "network_identity": 0.99,
    "email_network": 0.95,
    "email_private": 0.92,
    "phone_network": 0.9,
    "phone_private": 0.88,
    "email_public": 0.75,
    "phone_public": 0.7,
    "website": 0.7,
    "name": 0.5,  # times the similarity: alone it never reaches the suggestion threshold
}
NAME_BOOST = 0.04  # added to a record found by another signal when the names agree
NAME_AGREES = 0.85
AMBIGUITY_MARGIN = 0.02


@dataclass(frozen=True)
class Policy:
    """Thresholds: at/above ``auto_link`` link automatically; at/above ``suggest`` queue a suggestion."""

    auto_link: float = 0.9
    suggest: float = 0.6

    def __post_init__(self) -> None:
        if not 0.0 <= self.suggest <= self.auto_link <= 1.0:
            raise ValueError("identity thresholds need 0 <= suggest <= auto_link <= 1")

    @classmethod
    def from_sources(
        cls, env: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
    ) -> Policy:
        """``HORSESHOE_IDENTITY_AUTO_LINK`` / ``HORSESHOE_IDENTITY_SUGGEST``, then per-tenant overrides
        (sink connection keys ``identity_auto_link`` / ``identity_suggest``)."""
        env = os.environ if env is None else env
        values = {"auto_link": cls.auto_link, "suggest": cls.suggest}
        for key in values:
            raw = env.get(f"HORSESHOE_IDENTITY_{key.upper()}")
            if raw:
                values[key] = float(raw)
            override = (overrides or {}).get(f"identity_{key}")
            if override is not None:
                values[key] = float(override)  # type: ignore[arg-type]
        return cls(**values)

    def verdict(self, confidence: float) -> Verdict:
        if confidence >= self.auto_link:
            return "link"
        if confidence >= self.suggest:
            return "suggest"
        return "new"


@dataclass(frozen=True)
class Facts:
    """What we know about the person beyond the profile: contacts from their own messages."""

    private_emails: frozenset[str] = frozenset()
    private_phones: frozenset[str] = frozenset()
    public_emails: frozenset[str] = frozenset()
    public_phones: frozenset[str] = frozenset()

    def fingerprint(self, profile: SocialProfile) -> str:
        """Changes exactly when new evidence appears, so a "new customer" verdict is revisited then."""
        parts = [
            *sorted("e:" + e for e in self.private_emails | self.public_emails),
            *sorted("p:" + p for p in self.private_phones | self.public_phones),
            "pe:" + (normalize_email(profile.email) or ""),
            "pp:" + (normalize_phone(profile.phone) or ""),
            "w:" + (normalize_url(profile.website) or ""),
        ]
        return "|".join(parts)


@dataclass(frozen=True)
class Candidate:
    """A CRM record as an adapter found it. ``identities`` are (type, value) pairs."""

    record_id: str
    record_type: str = "user"
    name: str = ""
    staff: bool = False
    active: bool = True
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    identities: frozenset[tuple[str, str]] = frozenset()
    urls: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Scored:
    record_id: str
    record_type: str
    confidence: float
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    best: Scored | None
    candidates: tuple[Scored, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def confidence(self) -> float:
        return self.best.confidence if self.best else 0.0


# ----------------------------------------------------------------------------- extraction
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{6,}\d(?!\w)")


def normalize_email(value: str | None) -> str | None:
    if not value or "@" not in value:
        return None
    return value.strip().strip(".,;:").lower()


def normalize_phone(value: str | None) -> str | None:
    """Digits only, with a leading + kept; fewer than 7 digits is not a phone number."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return None
    return ("+" if value.strip().startswith("+") else "") + digits


PARTIAL_PHONE = 0.8  # below any auto-link threshold even with the name boost


def _full_digits(value: str) -> str:
    """All digits, without an international "00" prefix, for an exact comparison."""
    digits = re.sub(r"\D", "", value)
    return digits[2:] if digits.startswith("00") else digits


def phone_key(value: str) -> str:
    """Comparison key: the last 9 digits survive country-code and trunk-prefix differences."""
    return re.sub(r"\D", "", value)[-9:]


def normalize_url(value: str | None) -> str | None:
    if not value:
        return None
    url = value.strip().lower()
    url = re.sub(r"^[a-z]+://", "", url)
    url = re.sub(r"^www\.", "", url)
    return url.rstrip("/") or None


def extract_contacts(text: str) -> tuple[set[str], set[str]]:
    """Emails and phone numbers written in a message."""
    emails = {e for e in (normalize_email(m) for m in _EMAIL.findall(text)) if e}
    stripped = _EMAIL.sub(" ", text)
    phones = {p for p in (normalize_phone(m) for m in _PHONE.findall(stripped)) if p}
    return emails, phones


# ----------------------------------------------------------------------------- names
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "ye", "ж": "zh",
    "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
# Letters NFKD does not decompose (Polish ł, German ß, Scandinavian ø...).
_LATIN_EXTRA = {"ł": "l", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th"}
# Spelling variants transliteration produces for the same name (Aleksandr/Alexander, Jurij/Yuriy).
_VARIANTS = (("ks", "x"), ("kh", "h"), ("j", "y"), ("iy", "y"), ("ii", "y"), ("w", "v"), ("sz", "sh"), ("cz", "ch"))


def normalize_name(value: str | None) -> str:
    """Lower-case ASCII words in sorted order: "Łukasz Żółw" == "lukasz zolw", "Юрий" ~ "yuriy"."""
    if not value:
        return ""
    text = value.lower()
    text = "".join(_CYRILLIC.get(ch, _LATIN_EXTRA.get(ch, ch)) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = []
    for word in text.split():
        for old, new in _VARIANTS:
            word = word.replace(old, new)
        words.append(word)
    return " ".join(sorted(words))


def name_similarity(a: str | None, b: str | None) -> float:
    left, right = normalize_name(a), normalize_name(b)
    if not left or not right:
        return 0.0
    return round(SequenceMatcher(None, left, right).ratio(), 4)


# ----------------------------------------------------------------------------- scoring
def network_identity_values(profile: SocialProfile) -> set[tuple[str, str]]:
    """Identity (type, value) pairs a CRM record carries when it already knows this profile."""
    values = {("any_channel", f"{profile.network}:{profile.external_id}")}
    if profile.network == "x":
        values.add(("twitter", profile.external_id))
        if profile.handle:
            values.add(("twitter", profile.handle.lstrip("@").lower()))
    if profile.network == "facebook":
        values.add(("facebook", profile.external_id))
    return values


def score_candidate(profile: SocialProfile, facts: Facts, candidate: Candidate) -> Scored | None:
    evidence: list[tuple[float, str]] = []
    identities = {(t, v.lower()) for t, v in candidate.identities}
    for type_, value in sorted(network_identity_values(profile)):
        if (type_, value.lower()) in identities:
            evidence.append((WEIGHTS["network_identity"], f"network_identity: {type_} {value} on the record"))
    emails = {e.lower() for e in candidate.emails}
    phones = {phone_key(p) for p in candidate.phones}
    email_sources = (
        ("email_network", {normalize_email(profile.email)} - {None}, "exposed by the network"),
        ("email_private", set(facts.private_emails), "given in a private message"),
        ("email_public", set(facts.public_emails), "written in a public post"),
    )
    for signal, found, how in email_sources:
        for email in sorted(e for e in found if e and e in emails):
            evidence.append((WEIGHTS[signal], f"{signal}: {email} {how}"))
    phone_sources = (
        ("phone_network", {normalize_phone(profile.phone)} - {None}, "exposed by the network"),
        ("phone_private", set(facts.private_phones), "given in a private message"),
        ("phone_public", set(facts.public_phones), "written in a public post"),
    )
    full_phones = {_full_digits(p) for p in candidate.phones}
    for signal, found, how in phone_sources:
        for phone in sorted(p for p in found if p and phone_key(p) in phones):
            if _full_digits(phone) in full_phones:
                evidence.append((WEIGHTS[signal], f"{signal}: {phone} {how}"))
            else:
                # Only the last 9 digits agree (a missing country code, or two different countries):
                # enough to ask an agent, never enough to link or merge on its own.
                weight = min(WEIGHTS[signal], PARTIAL_PHONE)
                evidence.append((weight, f"{signal}: {phone} {how} (last 9 digits only)"))
    urls = {u for u in (normalize_url(x) for x in candidate.urls) if u}
    for raw in sorted({profile.website or "", profile.profile_url or ""} - {""}):
        url = normalize_url(raw)
        if url and url in urls:
            evidence.append((WEIGHTS["website"], f"website: {url} on the record"))
    similarity = name_similarity(profile.name, candidate.name)
    if not evidence:
        if similarity < NAME_AGREES:
            return None
        evidence.append((WEIGHTS["name"] * similarity, f"name: {profile.name!r} ~ {candidate.name!r} ({similarity})"))
        confidence = WEIGHTS["name"] * similarity
    else:
        confidence = max(weight for weight, _ in evidence)
        if similarity >= NAME_AGREES:
            confidence = min(1.0, confidence + NAME_BOOST)
            evidence.append((NAME_BOOST, f"name: {profile.name!r} ~ {candidate.name!r} ({similarity})"))
    ordered = tuple(text for _, text in sorted(evidence, key=lambda e: (-e[0], e[1])))
    return Scored(candidate.record_id, candidate.record_type, round(confidence, 4), ordered)


def _record_order(record_id: str) -> tuple[int, str]:
    return (int(record_id), record_id) if record_id.isdigit() else (0, record_id)


def decide(profile: SocialProfile, facts: Facts, candidates: Iterable[Candidate], policy: Policy) -> Decision:
    """The verdict for one profile over every candidate an adapter found (any order)."""
    notes: list[str] = []
    scored: list[Scored] = []
    for candidate in sorted(set(candidates), key=lambda c: _record_order(c.record_id)):
        if candidate.staff:
            notes.append(f"record {candidate.record_id} skipped: agents and staff are never targets")
            continue
        if not candidate.active:
            continue
        result = score_candidate(profile, facts, candidate)
        if result is not None:
            scored.append(result)
    scored.sort(key=lambda s: (-s.confidence, _record_order(s.record_id)))
    if not scored:
        return Decision("new", None, (), tuple(notes))
    best = scored[0]
    rivals = [s for s in scored[1:] if best.confidence - s.confidence <= AMBIGUITY_MARGIN]
    if rivals and best.confidence >= policy.suggest:
        # Two records fit as well as each other: an agent decides, never an automatic merge.
        ids = ", ".join(s.record_id for s in [best, *rivals])
        notes.append(f"ambiguous: records {ids} match equally well")
        capped = min(best.confidence, max(policy.suggest, policy.auto_link - 0.01))
        best = Scored(best.record_id, best.record_type, round(capped, 4), best.evidence)
        return Decision("suggest", best, tuple(scored), tuple(notes))
    return Decision(policy.verdict(best.confidence), best, tuple(scored), tuple(notes))
