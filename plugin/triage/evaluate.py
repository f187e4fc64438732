"""Quality figures of triage against labelled posts: per-intent precision/recall, confusion matrix,
security recall, language accuracy on posts long enough to tell (>= 5 words), sentiment agreement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from plugin.triage.language import word_count
from plugin.triage.rules import INTENTS

LANGUAGE_MIN_WORDS = 5


@dataclass(frozen=True)
class Case:
    text: str
    intent: str
    lang: str | None
    sentiment: str | None
    got_intent: str | None
    got_lang: str | None
    got_sentiment: str | None


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def report(cases: Iterable[Case]) -> dict[str, Any]:
    items = list(cases)
    labels = list(INTENTS) + sorted({c.intent for c in items} - set(INTENTS))
    confusion: dict[str, Counter[str]] = {want: Counter() for want in labels}
    for case in items:
        confusion.setdefault(case.intent, Counter())[case.got_intent or "none"] += 1
    per_intent = {}
    for name in labels:
        tp = confusion[name][name]
        predicted = sum(row[name] for row in confusion.values())
        actual = sum(confusion[name].values())
        per_intent[name] = {"precision": _ratio(tp, predicted), "recall": _ratio(tp, actual), "support": actual}
    lang_cases = [c for c in items if c.lang and word_count(c.text) >= LANGUAGE_MIN_WORDS]
    sent_cases = [c for c in items if c.sentiment]
    return {
        "posts": len(items),
        "intent_accuracy": _ratio(sum(c.got_intent == c.intent for c in items), len(items)),
        "security_recall": per_intent.get("security", {}).get("recall"),
        "language_accuracy_5_words": _ratio(sum(c.got_lang == c.lang for c in lang_cases), len(lang_cases)),
        "language_posts": len(lang_cases),
        "sentiment_accuracy": _ratio(sum(c.got_sentiment == c.sentiment for c in sent_cases), len(sent_cases)),
        "per_intent": per_intent,
        "confusion": {want: dict(row) for want, row in confusion.items()},
    }


def table(result: dict[str, Any]) -> str:
    """The report for people: precision/recall per intent, then the confusion matrix (rows: truth)."""
    names = list(result["per_intent"])
    width = max(len(n) for n in [*names, "intent"]) + 2
    lines = [f"{'intent':<{width}}{'precision':>10}{'recall':>8}{'posts':>7}"]
    for name, row in result["per_intent"].items():
        p, r = row["precision"], row["recall"]
        lines.append(
            f"{name:<{width}}{'-' if p is None else f'{p:.2f}':>10}{'-' if r is None else f'{r:.2f}':>8}"
            f"{row['support']:>7}"
        )
    lines += ["", "confusion (rows: labelled, columns: triage)", " " * width + "".join(f"{n[:8]:>9}" for n in names)]
    for want in names:
        row = result["confusion"].get(want, {})
        lines.append(f"{want:<{width}}" + "".join(f"{row.get(got, 0):>9}" for got in names))
    lines += [
        "",
        f"intent accuracy {result['intent_accuracy']}  security recall {result['security_recall']}  "
        f"language accuracy (>= {LANGUAGE_MIN_WORDS} words, {result['language_posts']} posts) "
        f"{result['language_accuracy_5_words']}  sentiment agreement {result['sentiment_accuracy']}",
    ]
    return "\n".join(lines)
