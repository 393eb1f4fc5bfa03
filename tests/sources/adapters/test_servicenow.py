"""The ServiceNow adapter (UCI incident event log): mapping, labels, quirks, no leakage."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_feature_table
from features.registry import FEATURE_NAMES
from sources.adapters import AdapterError
from sources.adapters.servicenow import (
    END_OF_CASE,
    bulk_closures,
    map_servicenow,
    read_servicenow_rows,
)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _features(data) -> pd.DataFrame:
    return (
        build_feature_table(data, None).sort_values(["ticket_id", "as_of"]).reset_index(drop=True)
    )


def test_servicenow_reader_takes_the_first_incidents(sn_rows):
    assert sn_rows["number"].nunique() == 120
    assert sn_rows["number"].iloc[0] == "INC0000045"


def test_servicenow_mapping_and_day_first_dates(sn_rows):
    res = map_servicenow(sn_rows, "reassigned")
    t = res.data.tickets.set_index("ticket_id").loc["INC0000047"]
    assert t["created_at"] == utc("2016-02-29 04:40")
    assert t["closed_at"] == utc("2016-03-06 10:00")  # 6/3/2016: 6 March, not 3 June
    assert t["account_id"] == "Caller 2403"
    assert t["channel"] == "phone" and t["product_area"] == "Category 40"
    assert t["priority"] == "P2"  # 3 - Moderate
    ev = res.data.events[res.data.events["ticket_id"] == "INC0000047"]
    assert ev["source_seq"].max() == 9
    asg = ev[ev["event_type"] == "assignment"]
    assert asg["team"].tolist() == ["Group 70", "Group 24"]
    assert asg["tier"].tolist() == [1, 1]
    assert asg["ts"].iloc[1] == utc("2016-02-29 05:30")
    st = ev[ev["event_type"] == "status_change"]
    assert st["status"].tolist() == ["new", "open", "pending_customer", "solved", "closed"]
    # 1/3/2016 09:14 is the 1st of March.
    assert st["ts"].iloc[2] == utc("2016-03-01 09:14")
    out = res.data.outcomes.set_index("ticket_id")
    assert out.loc["INC0000047", "escalated_at"] == utc("2016-02-29 05:30")
    assert out.loc["INC0000047", "escalation_kind"] == "functional"


def test_servicenow_sla_missed_label(sn_rows):
    res = map_servicenow(sn_rows, "sla_missed")
    out = res.data.outcomes.set_index("ticket_id")
    # made_sla turns false on the closing row, 5/3/2016 16:00.
    assert out.loc["INC0000062", "escalated_at"] == utc("2016-03-05 16:00")
    assert pd.isna(out.loc["INC0000047", "escalated_at"])
    assert pd.isna(out.loc["INC0000062", "escalation_kind"])
    ev = res.data.events[res.data.events["ticket_id"] == "INC0000062"]
    pc = ev[ev["event_type"] == "priority_change"]
    assert pc["priority"].tolist() == ["P1"] and pc["ts"].iloc[0] == utc("2016-02-29 07:29")
    last = (
        sn_rows[sn_rows["number"].isin(out.index)]
        .assign(mod=lambda d: d["sys_mod_count"].astype(int))
        .sort_values(["number", "mod"])
        .groupby("number")
        .tail(1)
    )
    missed = set(last.loc[last["made_sla"] == "false", "number"])
    assert missed == set(out.index[out["escalated_at"].notna()])


def test_servicenow_question_marks_are_missing_values(sn_rows):
    rows = sn_rows.copy()
    first = rows.index[rows["number"] == "INC0000047"]
    rows.loc[first[0], "caller_id"] = "?"
    rows.loc[first[0], "assignment_group"] = "?"
    res = map_servicenow(rows, "reassigned")
    t = res.data.tickets.set_index("ticket_id").loc["INC0000047"]
    assert t["account_id"] == "unknown:INC0000047"
    ev = res.data.events[res.data.events["ticket_id"] == "INC0000047"]
    assert ev.loc[ev["event_type"] == "assignment", "team"].tolist() == ["Group 24"]
    # "?" -> group is a first assignment, not a reassignment.
    assert pd.isna(res.data.outcomes.set_index("ticket_id").loc["INC0000047", "escalated_at"])
    assert ev["agent_id"].notna().all()
    assert not (res.data.events[["agent_id", "team"]] == "?").any().any()
    assert res.report["quirks"]["question_mark_cells_mapped"]["assigned_to"] > 0


def test_servicenow_rows_are_ordered_by_sys_mod_count(sn_rows):
    base = map_servicenow(sn_rows, "sla_missed")
    shuffled = sn_rows.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["file_row"] = np.arange(len(shuffled))
    again = map_servicenow(shuffled, "sla_missed")
    cols = ["ticket_id", "ts", "event_type", "team", "status", "priority", "source_seq"]
    a = base.data.events[cols].sort_values(["ticket_id", "source_seq", "event_type"])
    b = again.data.events[cols].sort_values(["ticket_id", "source_seq", "event_type"])
    # Only the rows with a duplicate sys_mod_count may be ordered differently (ties).
    dup = set(sn_rows.loc[sn_rows.duplicated(["number", "sys_mod_count"]), "number"])
    keep_a, keep_b = ~a["ticket_id"].isin(dup), ~b["ticket_id"].isin(dup)
    pd.testing.assert_frame_equal(
        a[keep_a].reset_index(drop=True), b[keep_b].reset_index(drop=True)
    )


def test_servicenow_quirks_are_reported(sn_rows):
    q = map_servicenow(sn_rows, "sla_missed").report["quirks"]
    # INC0000130 etc.: a duplicate sys_mod_count row dated before the incident was opened.
    assert q["rows_dropped_dated_before_opened_at"]["rows"] == 5
    assert "INC0000130" in q["rows_dropped_dated_before_opened_at"]["incidents"]
    assert q["duplicate_sys_mod_count_rows"] == 5
    assert q["incidents_out_of_sys_mod_count_order_in_file"] == 4
    # INC0000137: "Resolved" (sys_mod_count 2) stamped before the update it follows.
    assert q["rows_time_clamped_to_previous_update"] == 1
    assert q["bulk_closure"]["incidents_flagged"] == 0  # the slice ends in February/March


def test_bulk_closure_is_flagged_not_dropped():
    normal = pd.Series(pd.date_range("2016-03-01", periods=500, freq="37min", tz="UTC"))
    bulk = pd.Series([utc("2016-03-24 18:40")] * 300)
    flags = bulk_closures(pd.concat([normal, bulk], ignore_index=True))
    assert flags.sum() == 300 + int((normal.dt.floor("h") == utc("2016-03-24 18:00")).sum())


def test_end_of_case_columns_never_reach_features(sn_rows):
    base = map_servicenow(sn_rows, "sla_missed")
    rng = np.random.default_rng(0)
    changed = sn_rows.copy()
    n = len(changed)
    changed["closed_code"] = rng.choice(["code 1", "code 9", "?"], n)
    changed["resolved_by"] = rng.choice(["Resolved by 1", "?"], n)
    changed["resolved_at"] = "31/12/2016 23:59"
    # A later close (still after every update) must not change any snapshot's features.
    changed["closed_at"] = "31/12/2016 23:59"
    other = map_servicenow(changed, "sla_missed")
    assert (other.data.tickets["closed_at"] == utc("2016-12-31 23:59")).all()
    pd.testing.assert_frame_equal(_features(base.data), _features(other.data))

    # made_sla is the label of sla_missed only: with another label, features and labels are
    # identical whatever made_sla says.
    # Flip made_sla where it is decided, on each incident's last row.
    order = sn_rows.assign(mod=sn_rows["sys_mod_count"].astype(int)).sort_values(
        ["number", "mod"], kind="stable"
    )
    last = order.groupby("number").tail(1).index
    flipped = sn_rows.copy()
    flipped.loc[last, "made_sla"] = np.where(
        sn_rows.loc[last, "made_sla"] == "true", "false", "true"
    )
    a = _features(map_servicenow(sn_rows, "reassigned").data)
    b = _features(map_servicenow(flipped, "reassigned").data)
    pd.testing.assert_frame_equal(a, b)
    # With the sla_missed label it moves labels (and the point-in-time escalation history),
    # never a ticket's own features on the same snapshots.
    c = _features(map_servicenow(flipped, "sla_missed").data)
    on = ["ticket_id", "as_of"]
    m = a.merge(c, on=on, suffixes=("", "_flip"))
    assert len(m) > 0.5 * len(a)
    own = [f for f in FEATURE_NAMES if f != "account_escalations_365d"]
    for f in own:
        pd.testing.assert_series_equal(m[f], m[f"{f}_flip"], check_names=False)
    for table in (base.data.events, base.data.tickets):
        assert not set(END_OF_CASE) - {"closed_at"} & set(table.columns)


def test_first_row_fields_ignore_later_values(sn_rows):
    rows = sn_rows.copy()
    later = (rows["number"] == "INC0000047") & (rows["sys_mod_count"] != "0")
    rows.loc[later, "category"] = "Category 999"
    rows.loc[later, "caller_id"] = "Caller 1"
    a = _features(map_servicenow(sn_rows, "sla_missed").data)
    b = _features(map_servicenow(rows, "sla_missed").data)
    pd.testing.assert_frame_equal(a, b)


def test_servicenow_bad_input_is_a_clear_error(tmp_path, servicenow_log):
    with pytest.raises(AdapterError, match="no such file"):
        read_servicenow_rows(tmp_path / "missing.csv")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(AdapterError, match="missing column"):
        read_servicenow_rows(other)
    with gzip.open(servicenow_log, "rt") as fh:
        head = "".join(fh.readline() for _ in range(4))
    bad = tmp_path / "bad.csv"
    bad.write_text(head.replace("29/2/2016 01:16", "2016-02-29T01:16", 1))  # opened_at
    with pytest.raises(AdapterError, match="not a d/m/Y H:M date"):
        map_servicenow(read_servicenow_rows(bad))
    assert pd.read_csv(io.StringIO(head)).shape[0] == 3
