"""Retrain the shipped triage model: ``python -m plugin.triage.train`` (needs the ``dev`` extra).

Reads the labelled training set (JSON lines ``{text, lang, intent, sentiment}``), fits one
multinomial logistic regression per head over ``features.features`` and writes ``model.json``.
Deterministic: the same data gives the same file (fixed solver, no shuffling, rounded weights).
Never train on ``tests/data/triage/eval.jsonl``: the acceptance figures are measured on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from plugin.triage.classifier import MODEL_PATH
from plugin.triage.features import features

DEFAULT_DATA = Path("tests/data/triage/train.jsonl")
HEADS = ("intent", "sentiment")
DIGITS = 4  # weights are rounded: a smaller file, and stable diffs between retrainings
MIN_WEIGHT = 0.002
MIN_POSTS = 2  # features whose every weight rounds below this are dropped from the file


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = [key for key in ("text", *HEADS) if not isinstance(row.get(key), str)]
        if missing:
            raise ValueError(f"{path}:{number}: missing {missing}")
        rows.append(row)
    return rows


def fit_head(rows: list[dict[str, Any]], head: str, c: float) -> dict[str, Any]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rows_features = [features(r["text"]) for r in rows]
    seen: dict[str, int] = {}
    for feats in rows_features:
        for name in feats:
            seen[name] = seen.get(name, 0) + 1
    # A feature seen in one post only is that post's fingerprint, not a pattern: dropping it halves
    # the file and costs no accuracy on the held-out set.
    kept = [{k: v for k, v in feats.items() if seen[k] >= MIN_POSTS} for feats in rows_features]
    vectorizer = DictVectorizer(sort=True)
    matrix = vectorizer.fit_transform(kept)
    labels = [r[head] for r in rows]
    model = LogisticRegression(C=c, max_iter=5000, solver="lbfgs")
    model.fit(matrix, labels)
    classes = [str(c) for c in model.classes_]
    coef = model.coef_
    weights: dict[str, list[float]] = {}
    for index, name in enumerate(vectorizer.get_feature_names_out()):
        row = [round(float(coef[k][index]), DIGITS) for k in range(len(classes))]
        if max(abs(v) for v in row) >= MIN_WEIGHT:
            weights[str(name)] = row
    return {
        "classes": classes,
        "intercept": [round(float(v), DIGITS) for v in model.intercept_],
        "weights": dict(sorted(weights.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("-C", type=float, default=20.0, help="inverse regularisation strength")
    args = parser.parse_args(argv)
    if args.data.name.startswith("eval"):
        parser.error("refusing to train on the held-out evaluation set")
    rows = read_rows(args.data)
    model = {
        "format": "horseshoe-triage-linear/1",
        "trained_on": args.data.as_posix(),
        "examples": len(rows),
        "heads": {head: fit_head(rows, head, args.C) for head in HEADS},
    }
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size // 1024} KiB) from {len(rows)} examples", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
