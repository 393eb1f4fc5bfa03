"""The command line: each job's subcommand, and clear errors instead of stack traces."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from features.registry import FEATURE_NAMES, FEATURE_SET_VERSION

runner = CliRunner()


def test_features_list_prints_the_registry():
    res = runner.invoke(app, ["features", "--list"])
    assert res.exit_code == 0
    assert FEATURE_SET_VERSION in res.stdout
    assert all(name in res.stdout for name in FEATURE_NAMES)


def test_generate_validate_and_build_features(tmp_path):
    data = tmp_path / "data"
    res = runner.invoke(
        app,
        [
            "generate",
            "--tickets",
            "200",
            "--seed",
            "1",
            "--out",
            str(data),
            "--truth-fraction",
            "0",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["tickets"] == 200
    res = runner.invoke(app, ["validate", str(data)])
    assert res.exit_code == 0 and json.loads(res.stdout)["tickets"] == 200
    out = tmp_path / "features.parquet"
    res = runner.invoke(app, ["features", "--data", str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(out)
    assert {"label", "weight", *FEATURE_NAMES} <= set(table.columns)
    assert table["customer_sentiment_last"].notna().mean() > 0.9  # the transformer ran


def test_bad_data_is_a_clear_error(tmp_path, tiny_tables):
    tiny_tables["events"].loc[2, "event_type"] = "exploded"
    for name, df in tiny_tables.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    for args in (
        ["validate", str(tmp_path)],
        ["features", "--data", str(tmp_path), "--out", str(tmp_path / "f.parquet")],
        ["train", "--data", str(tmp_path)],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, args
        assert "events.parquet, row 2, column 'event_type'" in res.output
        assert "Traceback" not in res.output


def test_missing_options_are_explained(tmp_path):
    res = runner.invoke(app, ["features", "--data", str(tmp_path)])
    assert res.exit_code == 2 and "--out" in res.output
    res = runner.invoke(app, ["train", "--data", str(tmp_path), "--set", "nope"])
    assert res.exit_code == 2 and "key.sub=value" in res.output
