"""The Zendesk-style adapter on hand-written fixtures in the published export format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.schema import read_dataset, write_dataset
from sources.adapters import AdapterError, ingest
from sources.adapters.zendesk import read_zendesk, tier_of, write_zendesk

FIXTURE = Path(__file__).parent / "fixtures" / "zendesk"
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


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "export"
    shutil.copytree(FIXTURE, dst)
    return dst


def _edit(folder: Path, name: str, key: str, index: int, change) -> None:
    path = folder / f"{name}.json"
    page = json.loads(path.read_text())
    change(page[key][index])
    path.write_text(json.dumps(page))


def test_fixture_maps_to_the_data_model():
    res = read_zendesk(FIXTURE)
    d = res.data
    assert len(d.tickets) == 3 and len(d.events) == 28
    t = d.tickets.set_index("ticket_id")
    assert t.loc["1001", "priority"] == "P1" and t.loc["1001", "product_area"] == "reporting"
    assert t.loc["1002", "priority"] == "P3"  # null priority, reported
    assert t.loc["1002", "created_at"] == pd.Timestamp("2026-03-02 10:30", tz="UTC")  # +01:00
    assert t.loc["1001", "closed_at"] == pd.Timestamp("2026-03-05 10:00", tz="UTC")
    assert t.loc["1002", "account_id"] == "user:9002"
    e = d.events[d.events["ticket_id"] == "1001"]
    kinds = e["event_type"].tolist()
    assert kinds.count("reopened") == 1 and kinds.count("csat") == 1
    assign = e[e["event_type"] == "assignment"]
    assert assign["team"].tolist() == [
        "Support Tier 1",
        "Support Tier 1",
        "Engineering L3",
        "Engineering L3",
    ]
    assert assign["tier"].tolist() == [1, 1, 3, 3]
    note = e[e["event_type"] == "internal_note"].iloc[0]
    assert note["actor"] == "agent" and "req_81" in note["text"]
    assert e[e["event_type"] == "csat"]["csat"].iloc[0] == 1  # "bad"
    a = d.accounts.set_index("account_id")
    assert a.loc["org:501", "arr"] == 120_000 and bool(a.loc["org:501", "strategic"])
    assert pd.isna(a.loc["org:502", "arr"])
    o = d.outcomes.set_index("ticket_id")
    assert o.loc["1001", "escalated_at"] == pd.Timestamp("2026-03-02 10:00", tz="UTC")
    assert o["escalated_at"].notna().sum() == 1
    q = res.report["quirks"]
    assert q["tickets_without_priority_read_as_P3"] == 1
    assert q["groups_not_in_groups_json_named_by_id"] == 1
    assert res.report["unmapped"] == {"event:Notification": 1, "field:custom_status_id": 1}


def test_reassigned_label():
    o = read_zendesk(FIXTURE, "reassigned").data.outcomes.set_index("ticket_id")
    assert o.loc["1001", "escalation_kind"] == "functional"
    assert o["escalated_at"].notna().sum() == 1


def test_fixture_round_trips(tmp_path):
    first = read_zendesk(FIXTURE).data
    write_zendesk(first, tmp_path / "again")
    second = read_zendesk(tmp_path / "again").data
    pd.testing.assert_frame_equal(first.tickets, second.tickets)
    pd.testing.assert_frame_equal(first.events[CORE], second.events[CORE])
    pd.testing.assert_frame_equal(first.outcomes, second.outcomes)
    pd.testing.assert_frame_equal(first.accounts, second.accounts)
    # and through the Parquet folder and the validating reader
    write_dataset(second, tmp_path / "tables")
    assert read_dataset(tmp_path / "tables").summary() == first.summary()


def test_synthetic_tables_round_trip(tmp_path, tiny_tables):
    from features.schema import validate_tables

    data = validate_tables(**tiny_tables)
    write_zendesk(data, tmp_path / "zd")
    back = read_zendesk(tmp_path / "zd").data
    cols = ["ticket_id", "ts", "event_type", "actor", "agent_id", "team", "tier", "text"]
    pd.testing.assert_frame_equal(data.events[cols], back.events[cols])
    assert (back.tickets["account_id"] == "org:" + data.tickets["account_id"]).all()
    assert back.outcomes["escalated_at"].equals(data.outcomes["escalated_at"])
    assert back.accounts["arr"].tolist() == data.accounts["arr"].tolist()


@pytest.mark.parametrize(
    ("name", "key", "index", "change", "message"),
    [
        (
            "tickets",
            "tickets",
            1,
            lambda r: r.update(created_at="yesterday"),
            "tickets.json, record 1 (id 1002), field 'created_at': 'yesterday' is not an ISO",
        ),
        (
            "tickets",
            "tickets",
            0,
            lambda r: r.update(created_at="2026-03-02T09:00:00"),
            "tickets.json, record 0 (id 1001), field 'created_at': '2026-03-02T09:00:00' has no",
        ),
        (
            "tickets",
            "tickets",
            2,
            lambda r: r.update(priority="blocker"),
            "tickets.json, record 2 (id 1003), field 'priority': unknown value 'blocker'",
        ),
        (
            "tickets",
            "tickets",
            0,
            lambda r: r.pop("requester_id"),
            "tickets.json, record 0 (id 1001), field 'requester_id': missing",
        ),
        (
            "ticket_audits",
            "audits",
            4,
            lambda r: r["events"][0].update(value="parked"),
            "ticket_audits.json, record 4 (id 5), field 'events[0].value': unknown status",
        ),
        (
            "ticket_audits",
            "audits",
            0,
            lambda r: r.update(ticket_id=4242),
            "ticket_audits.json, record 0 (id 1), field 'ticket_id': unknown ticket 4242",
        ),
        (
            "ticket_audits",
            "audits",
            1,
            lambda r: r.update(created_at="2026-03-01T00:00:00Z"),
            "ticket_audits.json, record 1 (id 2), field 'created_at': 2026-03-01 00:00:00+00:00 is "
            "before ticket 1001",
        ),
        (
            "organizations",
            "organizations",
            0,
            lambda r: r["organization_fields"].update(arr="lots"),
            "organizations.json, record 0 (id 501), field 'organization_fields.arr': expected a "
            "number",
        ),
    ],
)
def test_malformed_input_names_file_record_and_field(tmp_path, name, key, index, change, message):
    folder = _copy(tmp_path)
    _edit(folder, name, key, index, change)
    with pytest.raises(AdapterError) as err:
        read_zendesk(folder)
    assert message in str(err.value)


def test_not_json_and_missing_files(tmp_path):
    folder = _copy(tmp_path)
    (folder / "ticket_audits.json").write_text("{not json")
    with pytest.raises(AdapterError, match="ticket_audits.json: not JSON"):
        read_zendesk(folder)
    (folder / "ticket_audits.json").unlink()
    with pytest.raises(AdapterError, match="no ticket_audits.json"):
        read_zendesk(folder)
    (folder / "tickets.json").write_text('{"results": []}')
    with pytest.raises(AdapterError, match="expected an object with a 'tickets' list"):
        read_zendesk(folder)


def test_pages_are_read_in_order(tmp_path):
    folder = _copy(tmp_path)
    page = json.loads((folder / "ticket_audits.json").read_text())
    (folder / "ticket_audits.json").unlink()
    half = len(page["audits"]) // 2
    (folder / "ticket_audits-1.json").write_text(json.dumps({"audits": page["audits"][:half]}))
    (folder / "ticket_audits-2.json").write_text(json.dumps({"audits": page["audits"][half:]}))
    paged = read_zendesk(folder).data
    pd.testing.assert_frame_equal(paged.events, read_zendesk(FIXTURE).data.events)


def test_without_users_json_the_requester_is_the_customer(tmp_path):
    folder = _copy(tmp_path)
    (folder / "users.json").unlink()
    res = read_zendesk(folder)
    assert res.report["quirks"]["no_users_json_requester_is_customer"] == 1
    e = res.data.events
    assert (e.loc[e["event_type"] == "customer_message", "actor"] == "customer").all()
    assert (e.loc[e["event_type"] == "agent_message", "actor"] == "agent").all()


def test_tier_from_group_names():
    assert [
        tier_of(n)
        for n in ("Tier 2", "L3 Engineering", "2nd line", "T1 desk", "Billing", "Level-3")
    ] == [2, 3, 2, 1, None, 3]


def test_ingest_command(tmp_path):
    from cli.main import app

    out = tmp_path / "zd"
    res = CliRunner().invoke(
        app, ["ingest", "--format", "zendesk", str(FIXTURE), "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["mapped"]["tickets"] == 3
    assert read_dataset(out).summary()["tickets"] == 3
    bad = CliRunner().invoke(
        app, ["ingest", "--format", "zendesk", str(tmp_path / "none"), "--out", str(out)]
    )
    assert bad.exit_code == 2 and "not a folder" in bad.output
    assert ingest("zendesk", FIXTURE).data.summary() == read_dataset(out).summary()
