"""Retraining from feedback: the label cut-off, the promotion rule, and the loop end to end
(serve, score, feed back, retrain, the better model picked up, a worse one kept)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.schema import SupportData, json_value, validate_tables, write_dataset
from training.retrain import (
    RetrainSettings,
    StoreTables,
    assemble_training_set,
    logged_events,
    promotion_decision,
)

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def _data(tiny_tables, outcomes=True) -> SupportData:
    t = tiny_tables
    return validate_tables(
        t["accounts"], t["tickets"], t["events"], t["outcomes"] if outcomes else None
    )


def _feedback(rows: list[dict]) -> pd.DataFrame:
    cols = ["ticket_id", "escalated", "escalated_at", "escalation_type", "escalation_kind"]
    cols += ["closed_at", "received_at"]
    fb = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    for c in ("escalated_at", "closed_at", "received_at"):
        fb[c] = pd.to_datetime(fb[c], utc=True)
    return fb


def _store(accounts, tickets, feedback, events=None) -> StoreTables:
    cols = ["ticket_id", "account_id", "created_at", "channel", "product_area", "priority"]
    return StoreTables(accounts, tickets[cols], feedback, events)


# -- the label cut-off -------------------------------------------------------------------------
def test_open_young_ticket_is_not_a_negative(tiny_tables):
    """t2 (no escalation, not closed, one day old at the cut-off) has no known outcome."""
    ex = _data(tiny_tables)
    s = assemble_training_set(None, ex, RetrainSettings(horizon_days=14, cutoff=ts("2026-01-06")))
    assert s.labelled == {"t1"}
    assert s.summary["still_open"] == 1 and s.summary["escalated"] == 1
    # Still in the tables: other tickets' context features see it as they did live.
    assert "t2" in set(s.data.tickets["ticket_id"])


def test_old_ticket_without_escalation_counts_as_none(tiny_tables):
    ex = _data(tiny_tables)
    s = assemble_training_set(None, ex, RetrainSettings(horizon_days=14, cutoff=ts("2026-02-01")))
    assert s.labelled == {"t1", "t2"}
    assert s.summary["not_escalated"] == 1


def test_feedback_overrides_and_labels(tiny_tables):
    """The desk's latest word wins: t1 did not escalate after all, t2 escalated."""
    ex = _data(tiny_tables)
    fb = _feedback(
        [
            {"ticket_id": "t1", "escalated": True, "escalated_at": "2026-01-05 11:00",
             "escalation_type": "technical_failure", "received_at": "2026-01-05 12:00"},
            {"ticket_id": "t1", "escalated": False, "received_at": "2026-01-05 13:00"},
            {"ticket_id": "t2", "escalated": True, "escalated_at": "2026-01-05 12:00",
             "received_at": "2026-01-05 12:30"},
        ]
    )  # fmt: skip
    st = _store(ex.accounts, ex.tickets, fb)
    s = assemble_training_set(st, ex, RetrainSettings(horizon_days=14, cutoff=ts("2026-01-06")))
    out = s.data.outcomes.set_index("ticket_id")
    assert pd.isna(out.loc["t1", "escalated_at"])
    assert out.loc["t2", "escalated_at"] == ts("2026-01-05 12:00")
    assert out.loc["t2", "escalation_type"] == "other"  # fed back without a type
    assert s.labelled == {"t1", "t2"}


def test_nothing_after_the_cutoff_is_used(tiny_tables):
    """An escalation and events after the cut-off are unknown at it."""
    ex = _data(tiny_tables)
    s = assemble_training_set(
        None, ex, RetrainSettings(horizon_days=14, cutoff=ts("2026-01-05 09:10"))
    )
    assert s.data.events["ts"].max() <= ts("2026-01-05 09:10")
    assert s.data.outcomes["escalated_at"].isna().all()
    assert s.summary["escalations_after_cutoff"] == 1
    assert s.labelled == frozenset()  # t1 escalates later: open at the cut-off


def test_store_tickets_need_full_events(tiny_tables):
    """A store ticket without the events as sent is left out and counted; with them, used."""
    ex = _data(tiny_tables)
    only_t1 = validate_tables(
        ex.accounts,
        ex.tickets[ex.tickets["ticket_id"] == "t1"],
        ex.events[ex.events["ticket_id"] == "t1"],
        ex.outcomes[ex.outcomes["ticket_id"] == "t1"],
    )
    fb = _feedback([{"ticket_id": "t2", "escalated": False, "received_at": "2026-01-05 12:00"}])
    cut = RetrainSettings(cutoff=ts("2026-01-06"))
    s = assemble_training_set(_store(ex.accounts, ex.tickets, fb), only_t1, cut)
    assert s.summary["store_tickets_without_events"] == 1
    assert set(s.data.tickets["ticket_id"]) == {"t1"}
    bodies = pd.DataFrame(
        {
            "ticket_id": ["t2"],
            "body": [
                json.dumps(
                    {"ts": "2026-01-05T10:00:00Z", "event_type": "customer_message",
                     "text": "Why was I charged?", "event_id": "e1"}
                )
            ],
        }
    )  # fmt: skip
    full = logged_events(bodies)
    assert full["actor"].tolist() == ["customer"]
    s = assemble_training_set(_store(ex.accounts, ex.tickets, fb, full), only_t1, cut)
    assert s.summary["store_tickets_used"] == 1
    assert s.labelled == {"t1", "t2"}
    assert s.data.events.loc[s.data.events["ticket_id"] == "t2", "text"].tolist() == [
        "Why was I charged?"
    ]


def test_nothing_to_train_on_is_a_clear_error():
    with pytest.raises(ValueError, match="nothing to train on"):
        assemble_training_set(None, None, RetrainSettings())


# -- the promotion rule ------------------------------------------------------------------------
def test_promotion_needs_the_margin_and_the_positives():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(int)
    good = y * 0.5 + rng.random(400) * 0.6
    noise = rng.random(400)
    s = RetrainSettings(min_gain=0.05, min_positives=20)
    promote, why, fig = promotion_decision(y, good, noise, s)
    assert promote and "promoted" in why and fig["gain"] >= 0.05
    promote, why, _ = promotion_decision(y, noise, good, s)
    assert not promote and "kept challenger" in why
    # The same model does not gain the margin.
    assert not promotion_decision(y, good, good, s)[0]
    few = RetrainSettings(min_gain=0.0, min_positives=int(y.sum()) + 1)
    promote, why, _ = promotion_decision(y, good, noise, few)
    assert not promote and "fewer than" in why
    assert promotion_decision(y, noise, None, s)[0]  # no champion yet


# -- the loop, end to end ----------------------------------------------------------------------
_SMALL = ["search.n_trials=0", "lightgbm.num_threads=1", "lightgbm.n_estimators=200"]
_SMALL += ["lightgbm.learning_rate=0.1", "lightgbm.early_stopping_rounds=30"]
# One tree of two leaves: the weak model the loop must not promote.
_WEAK = ["search.n_trials=0", "lightgbm.num_threads=1", "lightgbm.n_estimators=1"]
_WEAK += ["lightgbm.num_leaves=2", "lightgbm.monotone=false"]


def _score_body(data: SupportData, tid: str) -> dict:
    tk = data.tickets.set_index("ticket_id").loc[tid]
    acc = data.accounts.set_index("account_id").loc[tk["account_id"]]
    ev = data.events[data.events["ticket_id"] == tid]
    events = [
        {k: json_value(v) for k, v in r.items() if k != "ticket_id" and json_value(v) is not None}
        for r in ev.to_dict("records")
    ]
    ticket = {k: json_value(tk[k]) for k in ("created_at", "priority", "channel", "product_area")}
    account = {
        k: json_value(acc[k]) for k in ("arr", "plan", "region", "industry", "renewal_date")
    }
    return {
        "ticket": {"ticket_id": tid, **ticket},
        "account": {
            "account_id": tk["account_id"],
            "strategic": bool(acc["strategic"]),
            **account,
        },
        "events": events,
    }


def _wait(condition, what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.mlflow
@pytest.mark.slow
def test_feedback_retrain_promote_and_pickup(
    tmp_path, monkeypatch, restore_tracking, lexical_scorer
):
    from fastapi.testclient import TestClient
    from mlflow.tracking import MlflowClient

    from cli.retrain import run_retrain
    from models.registry import champion_version
    from serving.core.config import Settings
    from serving.main import create_app
    from serving.services.service import Service
    from sources.synthetic.generate import GeneratorConfig, simulate
    from training.config import load_config
    from training.jobs import run_training

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    name = "retrain-test"

    # A desk's history: 500 tickets. The export holds every ticket's events but outcomes only
    # for the older 60%; the newer tickets' outcomes reach the service as feedback.
    world, _ = simulate(GeneratorConfig(n_tickets=500, seed=5, days=50, truth_fraction=0.0), False)
    split_at = world.tickets["created_at"].quantile(0.6)
    live = world.tickets.loc[world.tickets["created_at"] > split_at, "ticket_id"].tolist()
    export = SupportData(
        world.accounts,
        world.tickets,
        world.events,
        world.outcomes[~world.outcomes["ticket_id"].isin(live)].reset_index(drop=True),
    )
    export_dir = tmp_path / "export"
    write_dataset(export, export_dir)

    # Today's champion: a weak model, trained on the older tickets.
    old = world.tickets[~world.tickets["ticket_id"].isin(live)]
    write_dataset(
        SupportData(
            world.accounts,
            old,
            world.events[world.events["ticket_id"].isin(set(old["ticket_id"]))],
            export.outcomes,
        ),
        tmp_path / "older",
    )
    cfg, raw = load_config(overrides=_WEAK)
    first = run_training(tmp_path / "older", cfg, raw, name, lexical_scorer, force_promote=True)
    assert champion_version(name) == first["version"]

    settings = Settings(
        _env_file=None,
        model_uri=f"models:/{name}@champion",
        tracking_uri=uri,
        store_path=tmp_path / "serving.db",
        backfill_dir=export_dir,
        model_cache_dir=tmp_path / "model-cache",
        refresh_seconds=0.2,
    )
    svc = Service(settings, text_scorer=lexical_scorer)
    svc.boot()
    assert svc.ready, svc.status()
    refresher = threading.Thread(target=svc.refresh_loop, daemon=True)
    refresher.start()
    try:
        with TestClient(create_app(service=svc, background=False)) as client:
            # Serve: score the newer tickets, then feed back what happened to them.
            for tid in live:
                r = client.post("/v1/score", json=_score_body(world, tid))
                assert r.status_code == 200, r.text
                assert r.json()["model"]["version"] == first["version"]
            out = world.outcomes.set_index("ticket_id")
            closed = world.tickets.set_index("ticket_id")["closed_at"]
            for tid in live:
                esc = out.loc[tid, "escalated_at"]
                fb = {"ticket_id": tid, "escalated": bool(pd.notna(esc))}
                if pd.notna(esc):
                    fb |= {"escalated_at": esc.isoformat(),
                           "escalation_type": out.loc[tid, "escalation_type"]}  # fmt: skip
                else:
                    fb["closed_at"] = closed[tid].isoformat()
                r = client.post("/v1/feedback", json=fb)
                assert r.status_code == 202, r.text
            svc.store.flush()

            # Retrain on the store's feedback and the export: better, promoted.
            rs = RetrainSettings(horizon_days=14, min_gain=0.01, min_positives=10)
            better = run_retrain(
                tmp_path / "serving.db", [export_dir], _SMALL, name, lexical_scorer, rs
            )
            n_escalated = int(world.outcomes["escalated_at"].notna().sum())
            assert better["training_set"]["feedback_tickets"] == len(live)
            assert better["training_set"]["escalated"] == n_escalated  # feedback labels used
            assert better["promoted"], better["promotion"]
            assert champion_version(name) == better["version"]
            assert better["figures"]["gain"] >= 0.01

            # The running service follows the alias by itself.
            _wait(
                lambda: client.get("/v1/model").json()["version"] == better["version"],
                "the service to load the promoted version",
            )
            r = client.post("/v1/score", json=_score_body(world, live[0]))
            assert r.json()["model"]["version"] == better["version"]

            # A worse model on the same data and window: kept as challenger.
            worse = run_retrain(
                tmp_path / "serving.db", [export_dir], _WEAK, name, lexical_scorer, rs
            )
            assert not worse["promoted"], worse["promotion"]
            assert "kept challenger" in worse["promotion"]
            assert worse["window"] == better["window"]
            assert champion_version(name) == better["version"]
            assert champion_version(name, "challenger") == worse["version"]
            svc.stop.set()
            refresher.join(10)
            print(json.dumps({k: (r["figures"], r["window"]) for k, r in
                              (("better", better), ("worse", worse))}))  # fmt: skip
            assert not svc.manager.refresh()  # nothing to pick up
            assert client.get("/v1/model").json()["version"] == better["version"]

            # The decision, the margin, the window and both scores are in the run.
            run = MlflowClient().get_run(worse["run_id"])
            m, tags = run.data.metrics, run.data.tags
            assert m["retrain.promoted"] == 0.0 and m["retrain.min_gain"] == 0.01
            assert m["retrain.champion_pr_auc"] > m["retrain.challenger_pr_auc"]
            assert tags["retrain.window_start"] == worse["window"]["start"]
            assert tags["retrain.champion_before"] == better["version"]
            assert "kept challenger" in tags["retrain.decision"]
    finally:
        svc.stop.set()
        refresher.join(10)
        svc.store.close()


def test_cli_registers_retrain():
    from cli.main import COMMANDS

    assert "retrain" in dict(COMMANDS)


def test_missing_store_is_a_clear_error(tmp_path: Path, lexical_scorer):
    from cli.retrain import run_retrain

    with pytest.raises(ValueError, match="no such store"):
        run_retrain(tmp_path / "nope.db", [], [], None, lexical_scorer, RetrainSettings())


def test_store_tables_take_whole_logged_histories(tmp_path: Path):
    """From the store's event log: a ticket logged from its creation on, with its text; not one
    whose earlier history the log lacks."""
    from cli.retrain import store_tables
    from serving.services.store import Store
    from serving.services.store.log import LoggedEvent

    store = Store(tmp_path / "serving.db")
    t0 = ts("2026-03-02 09:00")
    us = int(t0.value // 1000)
    for tid, first in (("whole", t0), ("partial", t0 + pd.Timedelta(hours=2))):
        ev = {"ts": first.isoformat(), "event_type": "customer_message", "actor": "customer"}
        ev |= {"text": f"text of {tid}", "event_id": "e1"}
        store.append_events(
            tid,
            (tid, "acc", us, "email", "api", "P2"),
            ("acc", 5.0, None, 0, None, None, None, None),
            "{}",
            [LoggedEvent("e1", int(first.value // 1000), "customer_message", None, None, None,
                         0.1, json.dumps(ev))],
        )  # fmt: skip
    store.record_feedback({"ticket_id": "whole", "escalated": False})
    store.flush()
    try:
        tables = store_tables(store)
    finally:
        store.close()
    assert tables.events["ticket_id"].tolist() == ["whole"]
    assert tables.events["text"].tolist() == ["text of whole"]
    assert tables.events["ts"].tolist() == [t0]
    assert set(tables.tickets["ticket_id"]) == {"whole", "partial"}
    assert tables.feedback["ticket_id"].tolist() == ["whole"]
