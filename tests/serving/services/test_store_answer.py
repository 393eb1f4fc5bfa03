"""The answer the store keeps with each score (``scores.answer``), and the migration that adds
that column to a store file written before it existed."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from serving.board.queries import BoardQueries
from serving.services.store import Store

AS_OF = pd.Timestamp("2026-01-05 10:00", tz="UTC")
ANSWER = {
    "band": "high",
    "decision": {"action": "escalate", "route_to": "tier2", "team": None},
    "severity": {"level": "P2", "respond_by": datetime(2026, 1, 5, 12, 0, tzinfo=UTC)},
    "escalation_type": "billing_dispute",
    "reasons": [{"feature": "f", "value": np.float64(3.0), "contribution": 0.5, "text": "why"}],
}
# The scores table as the store created it before it kept answers.
_OLD_SCORES = """
CREATE TABLE scores (
    id INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL, as_of INTEGER NOT NULL,
    probability REAL NOT NULL, action TEXT NOT NULL, model_version TEXT NOT NULL,
    policy_version TEXT NOT NULL, scored_at INTEGER NOT NULL);
INSERT INTO scores VALUES (1, 'old', 1767607200000000, 0.7, 'escalate', '1', 'p', 1767607200000000);
"""


def _columns(path) -> list[str]:
    with sqlite3.connect(path) as db:
        cols = [r[1] for r in db.execute("PRAGMA table_info(scores)")]
    db.close()
    return cols


def test_an_old_store_file_gains_the_answer_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "serving.db"
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCORES)
    db.close()
    assert "answer" not in _columns(path)
    store = Store(path)
    try:
        assert _columns(path)[-1] == "answer"
        store.record_score([("new", AS_OF, 0.6, "escalate", "1", "p", ANSWER)])
        store.flush(timeout=30)
        scores = store.table("scores").set_index("ticket_id")
        assert scores.loc["old", "probability"] == 0.7 and pd.isna(scores.loc["old", "answer"])
        kept = json.loads(scores.loc["new", "answer"])
        assert kept["severity"]["respond_by"] == "2026-01-05T12:00:00+00:00"
        assert kept["reasons"][0]["value"] == 3.0
        q = BoardQueries(path)
        assert q.latest_answer("new") == kept and q.latest_answer("old") is None
    finally:
        store.close()
    Store(path).close()  # opened again: nothing to add, nothing fails
    assert _columns(path).count("answer") == 1


def test_a_score_without_an_answer_or_with_one_that_does_not_encode_is_kept(tmp_path):
    store = Store(tmp_path / "serving.db")
    try:
        store.record_score(
            [
                ("plain", AS_OF, 0.1, "none", "1", "p"),
                ("nan", AS_OF, 0.2, "none", "1", "p", {"reasons": [{"value": float("nan")}]}),
            ]
        )
        store.flush(timeout=30)
        scores = store.table("scores").set_index("ticket_id")
        assert list(scores.index) == ["plain", "nan"]
        assert scores["answer"].isna().all()  # NaN is no JSON: the readers' json_extract
    finally:
        store.close()
