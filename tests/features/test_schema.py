"""The validating reader: valid data passes; each kind of bad input names file, row, column."""

from __future__ import annotations

import pandas as pd
import pytest

from features.schema import (
    EVENT_REQUIRED_FIELDS,
    EVENT_TYPES,
    TABLES,
    DataValidationError,
    read_dataset,
    validate_tables,
    write_dataset,
)


def _validate(t: dict[str, pd.DataFrame]):
    return validate_tables(t["accounts"], t["tickets"], t["events"], t["outcomes"])


def test_valid_tables_pass_and_round_trip(tiny_tables, tmp_path):
    data = _validate(tiny_tables)
    assert data.summary() == {"accounts": 2, "tickets": 2, "events": 4, "escalated_share": 0.5}
    write_dataset(data, tmp_path)
    again = read_dataset(tmp_path)
    pd.testing.assert_frame_equal(again.events, data.events)
    assert again.digest() == data.digest()


def test_digest_changes_with_content(tiny_tables):
    a = _validate(tiny_tables).digest()
    tiny_tables["events"].loc[0, "text"] = "Everything is down!!"
    assert _validate(tiny_tables).digest() != a


def _expect(t, file, row, column, words):
    with pytest.raises(DataValidationError) as info:
        _validate(t)
    err = info.value
    assert (err.file, err.row, err.column) == (file, row, column), str(err)
    for w in words:
        assert w in str(err)


def test_missing_column(tiny_tables):
    tiny_tables["tickets"] = tiny_tables["tickets"].drop(columns=["priority"])
    _expect(tiny_tables, "tickets.parquet", None, "priority", ["missing column", "'priority'"])


def test_wrong_type_is_not_coerced(tiny_tables):
    tiny_tables["events"]["ts"] = tiny_tables["events"]["ts"].astype(object)
    tiny_tables["events"].loc[2, "ts"] = "yesterday"
    _expect(tiny_tables, "events.parquet", 2, "ts", ["expected a UTC timestamp"])


def test_numeric_text_in_float_column(tiny_tables):
    tiny_tables["accounts"]["arr"] = ["520000", 12000.0]
    _expect(tiny_tables, "accounts.parquet", 0, "arr", ["expected a number"])


def test_naive_timestamps_are_rejected(tiny_tables):
    tiny_tables["tickets"]["created_at"] = tiny_tables["tickets"]["created_at"].dt.tz_localize(
        None
    )
    _expect(tiny_tables, "tickets.parquet", None, "created_at", ["timezone-aware"])


def test_unknown_event_type(tiny_tables):
    tiny_tables["events"].loc[3, "event_type"] = "escalated"
    _expect(tiny_tables, "events.parquet", 3, "event_type", ["'escalated'", "customer_message"])


def test_unknown_priority(tiny_tables):
    tiny_tables["tickets"].loc[1, "priority"] = "urgent"
    _expect(tiny_tables, "tickets.parquet", 1, "priority", ["'urgent'"])


def test_event_before_ticket_created(tiny_tables):
    tiny_tables["events"].loc[1, "ts"] = pd.Timestamp("2026-01-05 08:00", tz="UTC")
    _expect(tiny_tables, "events.parquet", 1, "ts", ["before its ticket was created"])


def test_duplicate_ticket_id(tiny_tables):
    tiny_tables["tickets"].loc[1, "ticket_id"] = "t1"
    _expect(tiny_tables, "tickets.parquet", 1, "ticket_id", ["duplicate id 't1'"])


def test_event_for_unknown_ticket(tiny_tables):
    tiny_tables["events"].loc[2, "ticket_id"] = "t9"
    _expect(tiny_tables, "events.parquet", 2, "ticket_id", ["unknown ticket 't9'"])


def test_ticket_for_unknown_account(tiny_tables):
    tiny_tables["tickets"].loc[0, "account_id"] = "nobody"
    _expect(tiny_tables, "tickets.parquet", 0, "account_id", ["unknown account"])


def test_required_value_missing(tiny_tables):
    tiny_tables["events"].loc[0, "actor"] = None
    _expect(tiny_tables, "events.parquet", 0, "actor", ["missing value"])


def test_assignment_needs_team(tiny_tables):
    tiny_tables["events"].loc[1, "team"] = None
    _expect(tiny_tables, "events.parquet", 1, "team", ["'assignment' event needs a value"])


def test_event_required_fields_name_known_types_and_columns():
    event_columns = {c.name for c in TABLES["events"]}
    assert set(EVENT_REQUIRED_FIELDS) <= set(EVENT_TYPES)
    for fields in EVENT_REQUIRED_FIELDS.values():
        assert fields and set(fields) <= event_columns


@pytest.mark.parametrize(
    ("etype", "column"),
    [(etype, col) for etype, cols in EVENT_REQUIRED_FIELDS.items() for col in cols],
)
def test_each_event_type_needs_its_fields(tiny_tables, etype, column):
    ev = tiny_tables["events"]
    # Row 2 becomes a complete event of this type, then loses one of its fields.
    ev.loc[2, "event_type"] = etype
    ev.loc[2, ["team", "tier", "status", "priority", "csat"]] = ["frontline", 1, "open", "P2", 4]
    ev.loc[2, column] = None
    _expect(tiny_tables, "events.parquet", 2, column, [f"'{etype}' event needs a value"])


def test_non_text_value_in_a_text_column(tiny_tables):
    tiny_tables["tickets"]["subject"] = ["API down", 42]
    _expect(tiny_tables, "tickets.parquet", 1, "subject", ["expected text, got int"])


def test_fractional_tier(tiny_tables):
    tiny_tables["events"]["tier"] = [None, 1.5, None, None]
    _expect(tiny_tables, "events.parquet", 1, "tier", ["fraction"])


def test_outcome_type_without_time(tiny_tables):
    tiny_tables["outcomes"].loc[1, "escalation_type"] = "security"
    _expect(tiny_tables, "outcomes.parquet", 1, "escalation_type", ["exactly when"])


def test_read_dataset_names_missing_table(tiny_tables, tmp_path):
    write_dataset(_validate(tiny_tables), tmp_path)
    (tmp_path / "events.parquet").unlink()
    with pytest.raises(DataValidationError, match="events.parquet: required table is missing"):
        read_dataset(tmp_path)


def test_read_dataset_names_file_of_bad_row(tiny_tables, tmp_path):
    tiny_tables["events"].loc[3, "event_type"] = "escalated"
    for name, df in tiny_tables.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    with pytest.raises(DataValidationError) as info:
        read_dataset(tmp_path)
    assert str(info.value).startswith(str(tmp_path / "events.parquet") + ", row 3, column")


def test_unreadable_parquet(tmp_path, tiny_tables):
    write_dataset(_validate(tiny_tables), tmp_path)
    (tmp_path / "tickets.parquet").write_text("not parquet")
    with pytest.raises(DataValidationError, match="cannot read Parquet"):
        read_dataset(tmp_path)


def test_events_sorted_stably(tiny_tables):
    ev = tiny_tables["events"]
    tiny_tables["events"] = ev.iloc[::-1].reset_index(drop=True)
    data = _validate(tiny_tables)
    assert list(data.events["ticket_id"]) == ["t1", "t1", "t1", "t2"]
    assert data.events["ts"].is_monotonic_increasing
