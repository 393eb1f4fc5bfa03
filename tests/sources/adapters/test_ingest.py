"""Both adapters through one door: `ingest`, the validating reader, the command.

The prefix-evaluation tests below exercise training.prefix on an adapter's output; they belong
with the training tests (tests/training/test_prefix.py) and stay here until that file exists.
"""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from features.pipeline import build_feature_table
from features.schema import read_dataset, validate_tables, write_dataset
from sources.adapters.servicenow import map_servicenow
from sources.adapters.xes import map_bpi
from training.config import SplitConfig
from training.prefix import case_split, prefix_lengths, prefix_table


def test_outputs_pass_the_validating_reader(tmp_path, bpi_raw, sn_rows):
    for name, res in (("bpi", map_bpi(bpi_raw)), ("sn", map_servicenow(sn_rows))):
        d = res.data
        validate_tables(d.accounts, d.tickets, d.events, d.outcomes)
        write_dataset(d, tmp_path / name)
        back = read_dataset(tmp_path / name)
        assert back.summary() == d.summary()
        assert back.accounts["arr"].isna().all()  # no ARR in either log: missing, not invented
        table = build_feature_table(back, None)
        assert table["customer_sentiment_last"].isna().all()
        assert table["account_arr"].isna().all()


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


def test_ingest_command(tmp_path, servicenow_log):
    from cli.main import app

    runner = CliRunner()
    out = tmp_path / "sn"
    res = runner.invoke(
        app,
        [
            "ingest",
            "--format",
            "servicenow",
            str(servicenow_log),
            "--out",
            str(out),
            "--limit",
            "40",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "rows_dropped_dated_before_opened_at" in res.stdout
    assert read_dataset(out).summary()["tickets"] == 40
    assert (out / "ingest_report.json").exists()
    for args, message in (
        (["--format", "xes", str(servicenow_log)], "not readable XML"),
        (["--format", "servicenow", str(tmp_path / "nope.csv")], "no such file"),
        (["--format", "json", str(servicenow_log)], "--format must be one of"),
        (["--format", "servicenow", "--label", "ping_pong", str(servicenow_log)], "not offered"),
    ):
        res = runner.invoke(app, ["ingest", *args, "--out", str(tmp_path / "x")])
        assert res.exit_code == 2, args
        assert message in res.output and "Traceback" not in res.output
