"""Inference of the shipped linear model (``model.json``): pure Python, no scikit-learn at run time.

The model is multinomial logistic regression over ``features.features``; the file holds, per head
(``intent``, ``sentiment``), the class names, intercepts and one weight row per feature. Weights are
plain JSON (never pickle): anyone can read, diff and retrain them (``python -m plugin.triage.train``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from plugin.triage.features import features

MODEL_PATH = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class Head:
    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]

    def predict(self, feats: dict[str, float]) -> dict[str, float]:
        scores = list(self.intercept)
        for name, value in feats.items():
            row = self.weights.get(name)
            if row is not None:
                for index, weight in enumerate(row):
                    scores[index] += weight * value
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {cls: e / total for cls, e in zip(self.classes, exps, strict=True)}


@dataclass(frozen=True)
class Model:
    heads: dict[str, Head]
    trained_on: str

    def predict(self, text: str) -> dict[str, dict[str, float]]:
        """Class probabilities per head, e.g. ``{"intent": {"question": 0.7, ...}, "sentiment": {...}}``."""
        feats = features(text)
        return {name: head.predict(feats) for name, head in self.heads.items()}


def load_model(path: Path = MODEL_PATH) -> Model:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        heads = {
            name: Head(
                classes=tuple(spec["classes"]),
                intercept=tuple(float(v) for v in spec["intercept"]),
                weights={k: tuple(float(v) for v in row) for k, row in spec["weights"].items()},
            )
            for name, spec in data["heads"].items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a triage model file ({exc}); retrain: python -m plugin.triage.train") from exc
    for name, head in heads.items():
        width = len(head.classes)
        if len(head.intercept) != width or any(len(row) != width for row in head.weights.values()):
            raise ValueError(f"{path}: head {name!r} has rows that do not match its {width} classes")
    return Model(heads=heads, trained_on=str(data.get("trained_on", "")))


@cache
def shipped_model() -> Model:
    """The model in the repository, loaded once per process."""
    return load_model()
