"""Evaluation by prefix length on a real incident log's snapshots (training.prefix)."""

from __future__ import annotations

import numpy as np

from features.pipeline import build_feature_table
from sources.adapters.servicenow import map_servicenow
from training.config import SplitConfig
from training.prefix import case_split, prefix_lengths, prefix_table


def test_prefix_lengths_and_table(sn_rows):
    data = map_servicenow(sn_rows, "sla_missed").data
    table = build_feature_table(data, None)
    table["prefix"] = prefix_lengths(data.events, table)
    one = table[table["ticket_id"] == "INC0000047"]
    # Two rows share 1/3/2016 09:14: one snapshot after rows 6 and 7.
    assert one["prefix"].tolist() == [1, 2, 3, 4, 5, 7, 8]
    rows = prefix_table(table, np.linspace(0, 1, len(table)), (1, 3))
    assert [r["prefix"] for r in rows] == ["k=1", "k=3", "all snapshots"]
    assert rows[0]["tickets"] == table["ticket_id"].nunique()


def test_case_split_is_by_ticket_and_deterministic(sn_rows):
    table = build_feature_table(map_servicenow(sn_rows).data, None)
    cfg = SplitConfig(train=0.6, calibration=0.2, test=0.2, early_stopping_share=0.15)
    a, b = case_split(table, cfg), case_split(table.iloc[::-1], cfg)
    assert (a == b.reindex(a.index)).all()
    assert (table.assign(s=a).groupby("ticket_id")["s"].nunique() == 1).all()
    assert set(a) == {"train", "calibration", "test"}
