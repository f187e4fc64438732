"""Acceptance figures of the shipped triage on the held-out set (quality, not timing).

The shipped model was trained on train.jsonl only (``python -m plugin.triage.train``); eval.jsonl is
never seen by it. The figures come from ``horseshoe triage eval``, the command an admin runs on their
own labelled export.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from plugin.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "triage"
INTENTS = {"question", "complaint", "praise", "security", "spam", "chatter"}


def _rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_data_set_is_big_varied_and_split() -> None:
    train, held_out = _rows("train.jsonl"), _rows("eval.jsonl")
    assert len(train) + len(held_out) >= 600
    assert not {r["text"] for r in train} & {r["text"] for r in held_out}, "a held-out post is in the training set"
    for rows in (train, held_out):
        assert {r["intent"] for r in rows} == INTENTS
        assert {r["sentiment"] for r in rows} == {"positive", "neutral", "negative"}
    languages = Counter(r["lang"] for r in train + held_out)
    assert {"en", "ru", "uk", "pl", "de", "es", "fr", "pt", "it", "tr"} <= set(languages)
    security_languages = {r["lang"] for r in held_out if r["intent"] == "security"}
    assert {"en", "ru", "uk", "pl", "de", "es"} <= security_languages


def test_held_out_quality_meets_the_acceptance_figures() -> None:
    result = CliRunner().invoke(main, ["triage", "eval", str(DATA / "eval.jsonl")])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    figures = json.loads(lines[-1])
    assert "confusion" in result.output and "precision" in result.output
    assert figures["posts"] >= 180
    assert figures["intent_accuracy"] >= 0.85, figures
    assert figures["security_recall"] >= 0.95, figures
    assert figures["language_accuracy_5_words"] >= 0.95, figures


def test_model_file_is_plain_json_with_both_heads() -> None:
    model = json.loads((Path(__file__).resolve().parents[2] / "plugin" / "triage" / "model.json").read_text())
    assert model["trained_on"].endswith("train.jsonl")
    assert set(model["heads"]) == {"intent", "sentiment"}
    assert set(model["heads"]["intent"]["classes"]) == INTENTS


def test_eval_refuses_unlabelled_lines_and_sps_runs_on_a_fresh_directory(tmp_path: Path) -> None:
    source = tmp_path / "export.jsonl"
    source.write_text(json.dumps({"text": "hello"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["triage", "eval", str(source)])
    assert result.exit_code != 0 and "needs a string 'intent'" in result.output
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "triage", "sps", "--period", "week"])
    assert result.exit_code == 0 and result.output == ""
    # A file named like a sub-command is still labelled through the explicit form.
    result = CliRunner().invoke(main, ["triage", "label", str(source)])
    assert result.exit_code == 0 and json.loads(result.output)["engage"] is True
