"""Personal data in text: emails (also written "at"/"dot"), phone numbers, card numbers, IBANs and
patterns an admin configures. Used on inbound public posts (the ticket is marked and agents see a
redacted copy) and by the reply guard (a public reply must not echo any of it).

Text is NFKC-normalised first, so full-width at signs, styled digits and no-break spaces read as the plain
characters people mean. Every finding carries its span in the normalised text so a redacted copy can
be made. Numbers are confirmed, not guessed: cards by Luhn, IBANs by their checksum (python-stdnum),
phones by a real numbering-plan parser (phonenumbers) for the tenant's regions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import phonenumbers
from stdnum import iban as stdnum_iban

DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "PL", "RU", "UA", "TR", "BR", "PT")

_AT = r"(?:@|\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+)"
_DOT = r"(?:\.|\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+)"
EMAIL = re.compile(
    rf"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]*{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_DOT}[a-z]{{2,24}}(?![\w-])",
    re.IGNORECASE,
)
# Digits with any separators people put between groups: spaces, dots, dashes, slashes.
CARD = re.compile(r"(?<![\d])\d(?:[\s./_-]{0,3}\d){12,18}(?![\d])")
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
PHONE_CANDIDATE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")
DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


@dataclass(frozen=True)
class Finding:
    kind: str  # email | phone | card_number | iban | <configured name>
    start: int
    end: int


@dataclass(frozen=True)
class Scan:
    text: str  # the NFKC-normalised text the spans refer to
    findings: tuple[Finding, ...]

    @property
    def kinds(self) -> list[str]:
        seen: list[str] = []
        for finding in self.findings:
            if finding.kind not in seen:
                seen.append(finding.kind)
        return seen

    def redacted(self) -> str:
        """The text with each finding replaced by ``[kind]``: what agents may see of a public post."""
        out, last = [], 0
        for finding in self.findings:
            out.append(self.text[last : finding.start])
            out.append(f"[{finding.kind}]")
            last = finding.end
        out.append(self.text[last:])
        return "".join(out)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _cards(text: str) -> Iterable[Finding]:
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn(digits) and len(set(digits)) > 1:
            yield Finding("card_number", match.start(), match.end())


def _ibans(text: str) -> Iterable[Finding]:
    for match in IBAN.finditer(text):
        # The optional separators can glue the next word on ("DE89...000 thanks"): try the longest
        # prefix of separator-delimited parts that is a valid IBAN.
        parts = re.split(r"[ -]", match.group())
        for count in range(len(parts), 0, -1):
            compact = "".join(parts[:count]).upper()
            if len(compact) >= 15 and stdnum_iban.is_valid(compact):
                length = len(" ".join(parts[:count]))
                yield Finding("iban", match.start(), match.start() + length)
                break


def _phones(text: str, regions: tuple[str, ...]) -> Iterable[Finding]:
    if not PHONE_CANDIDATE.search(text):
        return  # the parser is the slow part: most posts have no run of 7+ digits
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            # Digits glued to letters are an id ("500000000000001AAA", a Salesforce Case), not a phone.
            glued = (match.start > 0 and text[match.start - 1].isalpha()) or (
                match.end < len(text) and text[match.end].isalpha()
            )
            if glued:
                continue
            if len(re.sub(r"\D", "", match.raw_string)) >= 7 and not DATE.match(match.raw_string.strip()):
                yield Finding("phone", match.start, match.end)


def _overlaps(finding: Finding, taken: list[Finding]) -> bool:
    return any(finding.start < other.end and other.start < finding.end for other in taken)


def scan(
    text: str,
    *,
    regions: tuple[str, ...] = DEFAULT_REGIONS,
    patterns: Mapping[str, re.Pattern[str]] | None = None,
) -> Scan:
    """Every piece of personal data in ``text``; the more specific kind wins where spans overlap
    (a card number is not also reported as a phone number)."""
    norm = normalize(text)
    taken: list[Finding] = []
    sources: list[Iterable[Finding]] = [
        (Finding(name, m.start(), m.end()) for name, rx in (patterns or {}).items() for m in rx.finditer(norm)),
        (Finding("email", m.start(), m.end()) for m in EMAIL.finditer(norm)),
        _cards(norm),
        _ibans(norm),
        _phones(norm, regions),
    ]
    for source in sources:
        for finding in source:
            if finding.end > finding.start and not _overlaps(finding, taken):
                taken.append(finding)
    return Scan(norm, tuple(sorted(taken, key=lambda f: f.start)))


def detect_pii(text: str) -> list[str]:
    """The kinds of personal data in ``text`` (the reply guard's question: may this go out in public?)."""
    return scan(text).kinds
