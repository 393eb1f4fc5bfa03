"""The batch scoring job: which tickets are open, and the same scores locally and on Dask."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from features.engine import ClusterSpec, PartitionedData, ScorerSpec, open_client
from features.pipeline import build_feature_table
from features.schema import read_dataset, validate_tables, write_dataset
from features.text import SignalCache
from sources.synthetic.generate import GeneratorConfig, simulate
from training.config import load_config
from training.score import SCORE_COLUMNS, open_snapshots, score_distributed, score_local
from training.train import train_model


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def tables(tiny_tables):
    """tiny_tables plus t3: closed at 12:00 on 2026-01-05."""
    t = {k: v.copy() for k, v in tiny_tables.items()}
    t3 = t["tickets"].iloc[[1]].assign(ticket_id="t3", created_at=ts("2026-01-05 11:00"))
    t["tickets"] = pd.concat([t["tickets"], t3], ignore_index=True)
    ev = t["events"]
    closing = ev.iloc[[3, 3]].assign(
        ticket_id="t3",
        ts=[ts("2026-01-05 11:00"), ts("2026-01-05 12:00")],
        event_type=["customer_message", "status_change"],
        status=[None, "closed"],
        actor=["customer", "agent"],
        text=["Hello?", None],
    )
    t["events"] = pd.concat([ev, closing], ignore_index=True)
    t["outcomes"] = pd.concat(
        [t["outcomes"], t["outcomes"].iloc[[1]].assign(ticket_id="t3")], ignore_index=True
    )
    return validate_tables(t["accounts"], t["tickets"], t["events"], t["outcomes"])


def test_open_tickets_at_their_latest_event(tables):
    snaps = open_snapshots(tables.events, tables.tickets, tables.outcomes)
    # t1 escalates at 11:00, after its last event (09:20): still open and unanswered; t3 closed.
    assert snaps["ticket_id"].tolist() == ["t1", "t2"]
    assert snaps["as_of"].tolist() == [ts("2026-01-05 09:20"), ts("2026-01-05 10:00")]


def test_open_tickets_at_an_instant(tables):
    at = ts("2026-01-05 11:30")
    snaps = open_snapshots(tables.events, tables.tickets, tables.outcomes, at)
    # t1 escalated at 11:00 (answered); t3 is open until its close at 12:00.
    assert snaps["ticket_id"].tolist() == ["t2", "t3"]
    assert (snaps["as_of"] == at).all()
    early = open_snapshots(tables.events, tables.tickets, tables.outcomes, ts("2026-01-05 09:30"))
    assert early["ticket_id"].tolist() == ["t1"]  # t2 and t3 had no event yet
    late = open_snapshots(tables.events, tables.tickets, tables.outcomes, ts("2026-01-06"))
    assert late["ticket_id"].tolist() == ["t2"]


def test_without_outcomes_an_escalated_ticket_stays_open(tables):
    at = ts("2026-01-05 11:30")
    snaps = open_snapshots(tables.events, tables.tickets, None, at)
    assert snaps["ticket_id"].tolist() == ["t1", "t2", "t3"]


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory, lexical_scorer):
    """1,200 simulated tickets, events cut at day 40 (a live desk: many tickets open), and a
    small model trained on the full data."""
    data, _ = simulate(GeneratorConfig(n_tickets=1200, seed=9, truth_fraction=0.0), progress=False)
    cfg, _ = load_config(
        overrides=["search.n_trials=0", "lightgbm.num_threads=1", "lightgbm.n_estimators=60"]
    )
    result = train_model(build_feature_table(data, lexical_scorer, SignalCache(None)), cfg)
    cut = data.events["ts"].min() + pd.Timedelta(days=40)
    live = tmp_path_factory.mktemp("live")
    tickets = data.tickets[data.tickets["created_at"] <= cut]
    write_dataset(
        validate_tables(
            data.accounts,
            tickets,
            data.events[data.events["ts"] <= cut],
            data.outcomes[data.outcomes["ticket_id"].isin(tickets["ticket_id"])],
        ),
        live,
    )
    return result, live


@pytest.mark.slow
def test_batch_scores_are_the_same_on_dask(model_and_data, lexical_scorer):
    result, live = model_and_data
    local = score_local(read_dataset(live), lexical_scorer, result.model, result.policy)
    assert len(local) > 20
    assert list(local.columns[: len(SCORE_COLUMNS)]) == list(SCORE_COLUMNS)
    assert local["probability"].between(0, 1).all()
    assert set(local["band"]) <= {"low", "watch", "high", "critical"}
    assert set(local["action"]) <= {"none", "watch", "escalate", "executive"}
    with open_client(ClusterSpec(n_workers=2, processes=False)) as client:
        dist = score_distributed(
            PartitionedData(client, live, 5),
            ScorerSpec.of(lexical_scorer),
            result.model,
            result.policy,
        )
        at = local["as_of"].max() - pd.Timedelta(days=3)
        local_at = score_local(read_dataset(live), lexical_scorer, result.model, result.policy, at)
        dist_at = score_distributed(
            PartitionedData(client, live, 3),
            ScorerSpec.of(lexical_scorer),
            result.model,
            result.policy,
            at,
        )
    pd.testing.assert_frame_equal(dist, local, atol=1e-9, rtol=0)
    pd.testing.assert_frame_equal(dist_at, local_at, atol=1e-9, rtol=0)
    assert (local_at["as_of"] == at).all() and len(local_at) > 5


def test_the_command_refuses_a_bad_instant_and_a_bad_file_name(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(
        app, ["score", "--data", str(tmp_path), "--out", "s.parquet", "--as-of", "yesterday"]
    )
    assert bad.exit_code == 2 and "--as-of" in bad.output
    naive = runner.invoke(
        app,
        ["score", "--data", str(tmp_path), "--out", "s.parquet", "--as-of", "2026-01-01T00:00"],
    )
    assert naive.exit_code == 2 and "time zone" in naive.output
    name = runner.invoke(app, ["score", "--data", str(tmp_path), "--out", "s.txt"])
    assert name.exit_code == 2 and ".parquet or .csv" in name.output


def test_the_command_scores_with_the_registered_model(
    registry, tmp_path, restore_tracking, monkeypatch
):
    """Locally and with --engine dask (transformer on the workers): the same file."""
    monkeypatch.chdir(tmp_path)  # the text-signal cache goes to ./.cache
    events = read_dataset(registry.data_dir).events
    at = events["ts"].sort_values().iloc[len(events) // 2]  # mid-period: many tickets open
    out = {}
    for engine in ("local", "dask"):
        path = tmp_path / f"{engine}.parquet"
        res = CliRunner().invoke(
            app,
            [
                "score",
                "--data",
                str(registry.data_dir),
                "--out",
                str(path),
                "--model",
                f"models:/{registry.model}@champion",
                "--engine",
                engine,
                "--workers",
                "1",
                "--as-of",
                at.isoformat(),
            ],
            env={"MLFLOW_TRACKING_URI": registry.tracking_uri},
        )
        assert res.exit_code == 0, res.output
        out[engine] = pd.read_parquet(path)
    assert len(out["local"]) > 10 and (out["local"]["as_of"] == at).all()
    pd.testing.assert_frame_equal(out["dask"], out["local"], atol=1e-6, rtol=0)
