"""Start-up refusal: `escalation-risk serve` on a network address without API keys stops with a
clear message, unless the explicit opt-out is set (then it says so loudly and serves)."""

from __future__ import annotations

import logging

import pytest
import uvicorn
from typer.testing import CliRunner

from cli.main import app

# What `serve` writes into the environment (restored after each test).
_SERVE_ENV = (
    "SENTIMENT_THREADS",
    "OMP_NUM_THREADS",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "ESCALATION_RISK_API_KEYS",
    "ESCALATION_RISK_ALLOW_UNAUTHENTICATED",
    "ESCALATION_RISK_MODEL_URI",
    "ESCALATION_RISK_STORE_PATH",
    "ESCALATION_RISK_BACKFILL_DIR",
    "ESCALATION_RISK_WORKERS",
)


@pytest.fixture
def started(monkeypatch, tmp_path) -> list[dict]:
    """Calls that reached uvicorn.run (nothing is served); a clean environment and folder."""
    for name in _SERVE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the working tree
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    return calls


def test_serve_refuses_a_network_address_without_keys(started):
    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2 and not started
    assert "refusing to listen on 0.0.0.0 without API keys" in r.output
    assert "ESCALATION_RISK_API_KEYS" in r.output and "Traceback" not in r.output


def test_serve_on_loopback_or_with_keys_starts(started, monkeypatch):
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0  # 127.0.0.1 by default
    monkeypatch.setenv("ESCALATION_RISK_API_KEYS", "score:" + "k" * 32)
    assert CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"]).exit_code == 0
    assert [c["host"] for c in started] == ["127.0.0.1", "0.0.0.0"]


def test_the_explicit_opt_out_serves_and_warns(started, monkeypatch, caplog):
    monkeypatch.setenv("ESCALATION_RISK_ALLOW_UNAUTHENTICATED", "true")
    with caplog.at_level(logging.WARNING):
        r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert r.exit_code == 0 and started[0]["host"] == "0.0.0.0"
    assert "WITHOUT API KEYS" in caplog.text


def test_bad_keys_stop_start_up_without_printing_them(started, monkeypatch):
    monkeypatch.setenv("ESCALATION_RISK_API_KEYS", "scroe:" + "s3cr3t" * 4)
    r = CliRunner().invoke(app, ["serve"])
    assert r.exit_code == 2 and "unknown scope 'scroe'" in r.output
    assert "s3cr3t" not in r.output and not started


def test_unscoped_keys_start_with_a_warning(started, monkeypatch, caplog):
    monkeypatch.setenv("ESCALATION_RISK_API_KEYS", "k" * 32)
    with caplog.at_level(logging.WARNING):
        assert CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"]).exit_code == 0
    assert "1 API key(s) have no scope" in caplog.text
