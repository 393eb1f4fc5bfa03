"""Reading the labelled intent messages: both file formats, unknown labels rejected."""

from __future__ import annotations

import json

import pytest

from features.text import INTENTS
from models.sentiment import ARTIFACTS_DIR
from training.sentiment.intents import PHRASES_FILE, read_examples

ROWS = [
    {"text": "I will sue", "intents": ["legal"], "type": "contract_legal"},
    {
        "text": "Refund me, and I'm leaving",
        "intents": ["billing", "churn"],
        "type": "billing_dispute",
    },
    {"text": "Hello", "intents": [], "type": "other"},
]


def test_reads_json_lines_and_json(tmp_path) -> None:
    lines = tmp_path / "messages.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    document = tmp_path / "phrases.json"
    document.write_text(json.dumps({"version": 1, "examples": ROWS}))
    assert read_examples(lines) == ROWS
    assert read_examples(document) == ROWS


@pytest.mark.parametrize(
    "bad",
    [
        {"text": "x", "intents": ["lawsuit"], "type": "other"},
        {"text": "x", "intents": [], "type": "refund"},
    ],
)
def test_unknown_labels_are_rejected(tmp_path, bad) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [*ROWS, bad]))
    with pytest.raises(ValueError, match="unknown label"):
        read_examples(path)


def test_committed_phrases_declare_the_feature_intents() -> None:
    path = ARTIFACTS_DIR / PHRASES_FILE
    assert tuple(json.loads(path.read_text())["intents"]) == INTENTS
    rows = read_examples(path)
    for intent in INTENTS:
        assert any(intent in row["intents"] for row in rows), intent
