"""Both adapters through one door: `ingest`, the validating reader, the command."""

from __future__ import annotations

from typer.testing import CliRunner

from features.pipeline import build_feature_table
from features.schema import read_dataset, validate_tables, write_dataset
from sources.adapters.servicenow import map_servicenow
from sources.adapters.xes import map_bpi


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
