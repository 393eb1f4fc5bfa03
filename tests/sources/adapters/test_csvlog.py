"""The generic CSV event log with a column mapping, on hand-written fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.schema import read_dataset, validate_tables
from sources.adapters import AdapterError, ingest
from sources.adapters.csvlog import read_csvlog, read_mapping, write_csvlog

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
CORE = [
    "ticket_id",
    "ts",
    "event_type",
    "actor",
    "agent_id",
    "team",
    "tier",
    "status",
    "priority",
    "csat",
    "text",
]


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copy(FIXTURES / "events.csv", tmp_path / "events.csv")
    shutil.copy(FIXTURES / "mapping.yaml", tmp_path / "mapping.yaml")
    return tmp_path / "events.csv", tmp_path / "mapping.yaml"


def test_event_log_maps_to_the_data_model():
    res = read_csvlog(FIXTURES / "events.csv", FIXTURES / "mapping.yaml")
    d = res.data
    assert len(d.tickets) == 2 and len(d.events) == 9  # the "Viewed" row is skipped
    t = d.tickets.set_index("ticket_id")
    # Europe/Amsterdam in March is UTC+1
    assert t.loc["C-1", "created_at"] == pd.Timestamp("2026-03-02 08:00", tz="UTC")
    assert t.loc["C-1", "priority"] == "P1" and t.loc["C-2", "priority"] == "P3"
    assert t.loc["C-1", "account_id"] == "acme" and t.loc["C-2", "product_area"] == "admin"
    e = d.events
    assert e["event_type"].value_counts().to_dict() == {
        "customer_message": 2,
        "assignment": 2,
        "agent_message": 2,
        "status_change": 2,
        "csat": 1,
    }
    # a priority written on a message row is the ticket's, not a priority change
    assert e["priority"].isna().all()
    # actors missing on C-2 are inferred: customer message, agent replies
    assert e.loc[e["ticket_id"] == "C-2", "actor"].tolist() == ["customer", "agent", "agent"]
    o = d.outcomes.set_index("ticket_id")
    assert o.loc["C-1", "escalated_at"] == pd.Timestamp("2026-03-02 09:00", tz="UTC")
    assert o.loc["C-1", "escalation_type"] == "technical_failure"
    assert res.report["quirks"]["rows_skipped_by_mapping"] == 1
    assert res.report["quirks"]["actor_missing_inferred"] == 3


def test_state_log_turns_state_changes_into_events():
    res = read_csvlog(FIXTURES / "state.csv", FIXTURES / "state.yaml")
    e = res.data.events
    assert e["event_type"].tolist() == [
        "status_change",
        "assignment",
        "status_change",
        "assignment",
        "priority_change",
        "status_change",
    ]
    assert e.loc[e["event_type"] == "assignment", "tier"].tolist() == [1, 2]
    assert res.data.outcomes is None
    assert res.data.tickets["priority"].iloc[0] == "P2"


def test_fixture_round_trips(tmp_path):
    first = read_csvlog(FIXTURES / "events.csv", FIXTURES / "mapping.yaml").data
    write_csvlog(first, tmp_path / "again.csv", tmp_path / "again.yaml")
    second = read_csvlog(tmp_path / "again.csv", tmp_path / "again.yaml").data
    pd.testing.assert_frame_equal(first.tickets, second.tickets)
    pd.testing.assert_frame_equal(first.events[CORE], second.events[CORE])
    pd.testing.assert_frame_equal(first.outcomes, second.outcomes)


def test_synthetic_tables_round_trip(tmp_path, tiny_tables):
    data = validate_tables(**tiny_tables)
    write_csvlog(data, tmp_path / "log.csv", tmp_path / "log.yaml")
    back = read_csvlog(tmp_path / "log.csv", tmp_path / "log.yaml").data
    pd.testing.assert_frame_equal(data.events[CORE], back.events[CORE])
    cols = [
        "ticket_id",
        "account_id",
        "created_at",
        "channel",
        "product_area",
        "priority",
        "subject",
    ]
    pd.testing.assert_frame_equal(data.tickets[cols], back.tickets[cols])
    pd.testing.assert_frame_equal(
        data.outcomes[["ticket_id", "escalated_at", "escalation_type"]],
        back.outcomes[["ticket_id", "escalated_at", "escalation_type"]],
    )


@pytest.mark.parametrize(
    ("row", "column", "value", "message"),
    [
        (3, "Timestamp", "soon", "events.csv, line 5, column 'Timestamp': 'soon' is not in"),
        (1, "Level", "4", "events.csv, line 3, column 'Level': '4' is not a whole number 1-3"),
        (5, "State", "Parked", "events.csv, line 7, column 'State': 'Parked' is not one of"),
        (0, "Activity", "Phoned", "events.csv, line 2, column 'Activity': 'Phoned' is not one"),
        (6, "Rating", "2.5", "events.csv, line 8, column 'Rating': '2.5' is not a whole"),
        (2, "Case ID", "", "events.csv, line 4, column 'Case ID': missing value"),
    ],
)
def test_malformed_rows_name_file_line_and_column(tmp_path, row, column, value, message):
    csv, mapping = _copy(tmp_path)
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    df.loc[row, column] = value
    df.to_csv(csv, index=False)
    with pytest.raises(AdapterError) as err:
        read_csvlog(csv, mapping)
    assert message in str(err.value)


def test_an_assignment_without_a_team_is_rejected_by_the_reader(tmp_path):
    from features.schema import DataValidationError

    csv, mapping = _copy(tmp_path)
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    df.loc[1, "Group"] = ""
    df.to_csv(csv, index=False)
    with pytest.raises(DataValidationError, match="column 'team'"):
        read_csvlog(csv, mapping)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["columns"].pop("ts"), "columns: 'ts' must be mapped"),
        (lambda m: m["columns"].update(mood="Mood"), "unknown field(s) mood"),
        (lambda m: m.update(colour="blue"), "unknown key(s) colour"),
        (
            lambda m: m["values"]["status"].update(Parked="parked"),
            "values.status: 'Parked' maps to 'parked'",
        ),
        (lambda m: m["columns"].update(text="Body"), "mapped column(s) not in the CSV: Body"),
    ],
)
def test_bad_mappings_are_rejected(tmp_path, change, message):
    csv, mapping = _copy(tmp_path)
    raw = yaml.safe_load(mapping.read_text())
    change(raw)
    mapping.write_text(yaml.safe_dump(raw))
    with pytest.raises(AdapterError) as err:
        read_csvlog(csv, mapping)
    assert message in str(err.value)


def test_mapping_must_be_yaml(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("columns: [unclosed")
    with pytest.raises(AdapterError, match="m.yaml: not YAML"):
        read_mapping(bad)


def test_ingest_command_with_mapping(tmp_path):
    from cli.main import app

    out = tmp_path / "csv"
    res = CliRunner().invoke(
        app,
        [
            "ingest",
            "--format",
            "csv",
            str(FIXTURES / "events.csv"),
            "--mapping",
            str(FIXTURES / "mapping.yaml"),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert read_dataset(out).summary()["tickets"] == 2
    res = CliRunner().invoke(
        app, ["ingest", "--format", "csv", str(FIXTURES / "events.csv"), "--out", str(out)]
    )
    assert res.exit_code == 2 and "needs --mapping" in res.output
    with pytest.raises(AdapterError, match="applies to --format csv only"):
        ingest("zendesk", FIXTURES, mapping=FIXTURES / "mapping.yaml")
