"""The app factory and `escalation-risk serve`, which runs it under uvicorn."""

from __future__ import annotations

import os

from fastapi import FastAPI
from typer.testing import CliRunner
from uvicorn.importer import import_from_string

from cli.main import app as cli_app
from serving.core.config import Settings
from serving.main import create_app

SERVE_ENV = (
    "SENTIMENT_THREADS",
    "OMP_NUM_THREADS",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)
ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/score"),
    ("POST", "/v1/score/batch"),
    ("GET", "/v1/model"),
    ("POST", "/v1/feedback"),
    ("POST", "/v1/tickets/{ticket_id}/events"),
    ("GET", "/v1/groups"),
    ("DELETE", "/v1/admin/accounts/{account_id}"),
}


def test_the_app_has_the_versioned_routes():
    app = create_app(Settings(_env_file=None), background=False)
    paths = app.openapi()["paths"]
    assert {(m.upper(), path) for path, ops in paths.items() for m in ops} == ROUTES


def test_serve_runs_the_factory(tmp_path, monkeypatch):
    """`escalation-risk serve` hands uvicorn an import string that names the app factory."""
    seen: dict = {}

    def run(target, **kw):
        seen.update(kw, target=target)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("uvicorn.run", run)
    # The command sets these for the server process; the test process gets them back as found.
    for name in SERVE_ENV:
        monkeypatch.setenv(name, os.environ.get(name, "1"))
    r = CliRunner().invoke(cli_app, ["serve", "--port", "8123"])
    assert r.exit_code == 0, r.output
    assert seen["factory"] is True and seen["port"] == 8123
    factory = import_from_string(seen["target"])
    assert factory is create_app
    assert isinstance(factory(Settings(_env_file=None), background=False), FastAPI)


def test_serve_command_rejects_bad_settings(tmp_path, monkeypatch):
    """`escalation-risk serve` stops with a clear message, before binding a port."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(cli_app, ["serve", "--backfill", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "no such folder" in r.output
    monkeypatch.setenv("ESCALATION_RISK_API_KEYS", "changeme")
    r = runner.invoke(cli_app, ["serve"])
    assert r.exit_code == 2 and "invalid service settings" in r.output
    assert "Traceback" not in r.output
