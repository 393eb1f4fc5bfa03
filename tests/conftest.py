"""Shared fixtures: small data builders and one generated synthetic data set per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli.common import apply_runtime_env
from features.text import SIGNAL_COLUMNS
from sources.adapters.servicenow import read_servicenow_rows
from sources.adapters.xes import read_xes_events

apply_runtime_env()  # the test run is an entry point: offline, no telemetry

# The fast lane (`make test-fast`) leaves out whatever loads the transformer or trains into an
# MLflow store; a test is marked by the fixtures it asks for (or by a module-level pytestmark).
HEAVY_FIXTURES = {
    "text_scorer": "transformer",
    "sentiment_build": "transformer",
    "sentiment_model": "transformer",
    "intent_model": "transformer",
    "registry": "mlflow",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, mark in HEAVY_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(mark)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def tiny_tables() -> dict[str, pd.DataFrame]:
    """Two accounts, two tickets, a handful of events and outcomes: a valid data set."""
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "arr": [520_000.0, 12_000.0],
            "plan": ["enterprise", "pro"],
            "strategic": [True, False],
            "region": ["EMEA", "NA"],
            "industry": ["finance", None],
            "created_at": [ts("2024-01-01"), ts("2025-06-01")],
            "renewal_date": [ts("2026-03-01"), ts("2026-06-01")],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2"],
            "account_id": ["a1", "a2"],
            "created_at": [ts("2026-01-05 09:00"), ts("2026-01-05 10:00")],
            "channel": ["email", "chat"],
            "product_area": ["api", "billing_portal"],
            "priority": ["P1", "P3"],
            "subject": ["API down", "Invoice question"],
            "closed_at": [ts("2026-01-06 09:00"), None],
        }
    )
    events = pd.DataFrame(
        {
            "ticket_id": ["t1", "t1", "t1", "t2"],
            "ts": [
                ts("2026-01-05 09:00"),
                ts("2026-01-05 09:01"),
                ts("2026-01-05 09:20"),
                ts("2026-01-05 10:00"),
            ],
            "event_type": ["customer_message", "assignment", "agent_message", "customer_message"],
            "actor": ["customer", "system", "agent", "customer"],
            "agent_id": [None, "ag1", "ag1", None],
            "team": [None, "frontline", None, None],
            "tier": pd.array([None, 1, None, None], dtype="Int64"),
            "status": [None, None, None, None],
            "priority": [None, None, None, None],
            "csat": pd.array([None, None, None, None], dtype="Int64"),
            "text": ["Everything is down!", None, "Looking into it now.", "Why was I charged?"],
        }
    )
    outcomes = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2"],
            "escalated_at": [ts("2026-01-05 11:00"), None],
            "escalation_type": ["technical_failure", None],
            "escalation_kind": ["hierarchical", None],
        }
    )
    return {"accounts": accounts, "tickets": tickets, "events": events, "outcomes": outcomes}


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """A 3,000-ticket synthetic organisation (seed 11), generated once per test session."""
    from sources.synthetic.generate import GeneratorConfig, generate_dataset

    out = tmp_path_factory.mktemp("synthetic")
    summary = generate_dataset(
        GeneratorConfig(n_tickets=3000, seed=11, truth_fraction=0.2), out, progress=False
    )
    return out, summary


class LexicalScorer:
    """A fast deterministic stand-in for the transformer text scorer (structure tests only)."""

    version = None  # no on-disk signal cache

    def score_texts(self, texts):
        s = np.array([-0.8 if "!" in t else (0.3 if "thank" in t.lower() else 0.0) for t in texts])
        out = pd.DataFrame({"sentiment": s, "p_negative": (s < 0).astype(float)})
        for col in SIGNAL_COLUMNS[2:]:
            key = col.removeprefix("intent_")
            out[col] = [float(key.split("_")[0] in t.lower()) for t in texts]
        return out


@pytest.fixture(scope="session")
def lexical_scorer() -> LexicalScorer:
    return LexicalScorer()


@pytest.fixture(scope="session")
def text_scorer():
    """The real transformer text scorer (loaded once per test session)."""
    from models.text_scorer import TransformerTextScorer

    return TransformerTextScorer()


# The real incident logs live in ../shared/data/incidents next to the repository (see
# ../shared/data/README.md); a test that needs one is skipped when it is not there.
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "incidents"


def _log(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the shared incident log {path} is missing (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def xes_log() -> Path:
    """The BPI Challenge 2013 incidents, development slice (XES, gzipped)."""
    return _log(SHARED / "bpi2013" / "bpi2013_incidents_dev.xes.gz")


@pytest.fixture(scope="session")
def servicenow_log() -> Path:
    """The UCI ServiceNow incident event log, development slice (CSV, gzipped)."""
    return _log(SHARED / "uci-servicenow" / "incident_event_log_dev.csv.gz")


@pytest.fixture(scope="session")
def bpi_raw(xes_log: Path) -> pd.DataFrame:
    """The first 60 cases of the BPI log, as read (tests must not modify it)."""
    return read_xes_events(xes_log, limit=60)


@pytest.fixture(scope="session")
def sn_rows(servicenow_log: Path) -> pd.DataFrame:
    """The rows of the first 120 ServiceNow incidents, as read (tests must not modify it)."""
    return read_servicenow_rows(servicenow_log, limit=120)


@dataclass(frozen=True)
class TrainedRegistry:
    """A temporary MLflow registry holding one version of ``model``, aliased @champion, trained
    on the synthetic organisation in ``data_dir``."""

    root: Path
    data_dir: Path
    model: str
    summary: dict

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"


@pytest.fixture(scope="session")
def registry(tmp_path_factory, text_scorer) -> TrainedRegistry:
    """One small model for the whole session (tests/serving and tests/behaviour): 700 synthetic
    tickets (seed 11, 45 days), no search, 300 trees at rate 0.1, one thread, the real text
    model. Tests that move its alias or policy put them back."""
    from sources.synthetic.generate import GeneratorConfig, generate_dataset
    from training.config import load_config
    from training.jobs import run_training

    root = tmp_path_factory.mktemp("registry")
    data = root / "data"
    generate_dataset(
        GeneratorConfig(n_tickets=700, seed=11, days=45, truth_fraction=0.0), data, progress=False
    )
    model = "serving-test"
    overrides = [
        "search.n_trials=0",
        "lightgbm.num_threads=1",
        "lightgbm.n_estimators=300",
        "lightgbm.learning_rate=0.1",
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        cfg, raw = load_config(overrides=overrides)
        summary = run_training(data, cfg, raw, model, text_scorer)
    return TrainedRegistry(root, data, model, summary)


@pytest.fixture
def restore_tracking(monkeypatch):
    """The service points MLflow at its registry process-wide; restore the previous URI."""
    import os

    import mlflow

    before = mlflow.get_tracking_uri()
    if "MLFLOW_TRACKING_URI" in os.environ:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", os.environ["MLFLOW_TRACKING_URI"])
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield
    mlflow.set_tracking_uri(before)
