"""The XES adapter (BPI Challenge 2013 incidents): mapping, labels, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from features.pipeline import build_feature_table
from sources.adapters import AdapterError, ingest
from sources.adapters.xes import map_bpi, read_xes_events


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_xes_reader_takes_the_first_traces(bpi_raw):
    assert bpi_raw["case_id"].nunique() == 60
    assert bpi_raw["case_id"].iloc[0] == "1-467153946"
    assert (bpi_raw.groupby("case_id").size() >= 1).all()


def test_bpi_mapping_of_a_hand_checked_case(bpi_raw):
    data = map_bpi(bpi_raw, "hierarchical").data
    t = data.tickets.set_index("ticket_id").loc["1-467153946"]
    # +01:00 / +02:00 offsets become UTC; created at the first event.
    assert t["created_at"] == utc("2011-01-31 10:12:22")
    assert t["priority"] == "P2"  # impact Medium
    assert t["product_area"] == "PROD453"
    assert t["closed_at"] == utc("2012-05-22 23:22:25")  # the Siebel "Closed" event
    assert pd.isna(data.accounts.set_index("account_id").loc["bpi:1-467153946", "arr"])

    ev = data.events[data.events["ticket_id"] == "1-467153946"]
    asg = ev[ev["event_type"] == "assignment"]
    assert asg["team"].tolist()[:4] == ["S42", "N52 2nd", "O3 3rd", "G140 2nd"]
    assert asg["tier"].tolist()[:4] == [1, 2, 3, 2]
    # Queued: handed to a team, nobody in it holds the case yet.
    assert pd.isna(asg["agent_id"].iloc[1]) and asg["agent_id"].iloc[0] == "Adam"
    first = ev[ev["source_seq"] == 1]
    assert first["event_type"].tolist() == ["assignment", "status_change"]
    assert first["status"].iloc[1] == "open"
    # Row 2 changes nothing the model knows: a note without text.
    assert ev.loc[ev["source_seq"] == 2, "event_type"].tolist() == ["internal_note"]
    assert ev["text"].isna().all()
    # Every source event is represented, in order.
    assert sorted(ev["source_seq"].unique()) == list(range(1, 41))
    last = ev[ev["source_seq"] == 40]
    assert last["status"].iloc[-1] == "closed" and last["actor"].iloc[-1] == "system"


def test_bpi_labels_on_a_hand_checked_case(bpi_raw):
    expected = {
        # First event at a 2nd-line team (N52 2nd, Queued).
        "hierarchical": utc("2011-01-31 10:19:05"),
        # First event at a 3rd-line team (O3 3rd).
        "third_line": utc("2011-02-03 07:28:58"),
        # Back at N52 2nd after O3 3rd and G140 2nd.
        "ping_pong": utc("2011-04-05 16:02:01"),
    }
    for label, when in expected.items():
        out = map_bpi(bpi_raw, label).data.outcomes.set_index("ticket_id")
        assert out.loc["1-467153946", "escalated_at"] == when, label
        assert out.loc["1-467153946", "escalation_type"] == "other"


def test_bpi_label_shares_on_the_slice(bpi_raw):
    res = map_bpi(bpi_raw, "hierarchical")
    starts = res.data.tickets.set_index("ticket_id")["start_tier"]
    out = res.data.outcomes.set_index("ticket_id")
    created = res.data.tickets.set_index("ticket_id")["created_at"]
    # Cases that start above 1st line are escalated at intake: no snapshot to score.
    above = starts[starts > 1].index
    assert (out.loc[above, "escalated_at"] == created[above]).all()
    assert res.report["outcome"]["escalated_at_intake_no_snapshot"] == len(above)
    table = build_feature_table(res.data, None)
    assert not set(above) & set(table["ticket_id"])
    # Snapshots stop at the escalation: no feature has seen a 2nd/3rd-line team.
    assert (table["ticket_tier_max"].dropna() == 1).all()


def test_bpi_ping_pong_snapshots_see_no_bounceback(bpi_raw):
    table = build_feature_table(map_bpi(bpi_raw, "ping_pong").data, None)
    assert (table["ticket_bounceback_count"] == 0).all()
    assert table["label"].sum() > 0


def test_xes_bad_input_is_a_clear_error(tmp_path, xes_log, servicenow_log):
    with pytest.raises(AdapterError, match="no such file"):
        read_xes_events(tmp_path / "missing.xes.gz")
    html = tmp_path / "page.xes"
    html.write_text("<html><body>not a log</body></html>")
    with pytest.raises(AdapterError, match="not an XES log"):
        read_xes_events(html)
    with pytest.raises(AdapterError, match="not readable XML"):
        read_xes_events(servicenow_log)
    with pytest.raises(AdapterError, match="label"):
        ingest("xes", xes_log, "sla_missed")
