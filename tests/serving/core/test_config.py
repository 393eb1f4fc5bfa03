"""The service's settings: environment variables, refused placeholder keys, thread budget."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.core.config import Settings


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ESCALATION_RISK_MODEL_URI", "models:/other@challenger")
    monkeypatch.setenv("ESCALATION_RISK_MAX_BATCH", "7")
    s = Settings(_env_file=None)
    assert s.model_uri == "models:/other@challenger" and s.max_batch == 7


@pytest.mark.parametrize("keys", ["changeme", "secret", "short-key", "x" * 20 + ",todo"])
def test_placeholder_or_short_keys_stop_start_up(keys):
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(_env_file=None, api_keys=keys)


def test_keys_are_split_and_trimmed():
    a, b = "a" * 16, "b" * 24
    assert Settings(_env_file=None, api_keys=f" {a} ,{b},").keys == frozenset({a, b})
    assert Settings(_env_file=None).keys == frozenset()  # no keys: no authentication


def test_compute_threads_share_the_cpus_between_workers(monkeypatch):
    assert Settings(_env_file=None, threads=3, workers=4).compute_threads() == 3
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert Settings(_env_file=None, workers=3).compute_threads() == 2
    assert Settings(_env_file=None, workers=16).compute_threads() == 1
