"""The service's settings: environment variables, refused placeholder keys, thread budget."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.core.config import Settings
from serving.core.security import Scope


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ESCALATION_RISK_MODEL_URI", "models:/other@challenger")
    monkeypatch.setenv("ESCALATION_RISK_MAX_BATCH", "7")
    s = Settings(_env_file=None)
    assert s.model_uri == "models:/other@challenger" and s.max_batch == 7


@pytest.mark.parametrize(
    "keys", ["changeme", "secret", "short-key", "x" * 20 + ",todo", "score:hunter2"]
)
def test_placeholder_or_short_keys_stop_start_up(keys):
    with pytest.raises(ValidationError, match="placeholder") as err:
        Settings(_env_file=None, api_keys=keys)
    assert "hunter2" not in str(err.value)  # a refused value is never printed


def test_an_unknown_scope_stops_start_up_without_printing_the_key():
    with pytest.raises(ValidationError, match="unknown scope 'scroe'") as err:
        Settings(_env_file=None, api_keys="scroe:" + "s3cr3t" * 4)
    assert "s3cr3t" not in str(err.value)


def test_keys_are_split_trimmed_and_scoped():
    a, b = "a" * 16, "b" * 24
    s = Settings(_env_file=None, api_keys=f" {a} ,read:{b},")
    assert s.key_ring.identify(b).scopes == {Scope.READ}
    assert s.key_ring.unscoped == 1 and s.keys == frozenset({a, b})
    assert a not in repr(s) and b not in repr(s)
    assert not Settings(_env_file=None).key_ring  # no keys: no authentication (loopback only)


def test_secure_defaults():
    s = Settings(_env_file=None)
    assert not s.allow_unauthenticated and not s.metrics_loopback_open
    assert s.redact_personal_data
    assert s.retention_days > 365  # the 365-day account features keep their history
    assert s.max_in_flight >= 1 and s.rate_limit_per_second > 0


def test_compute_threads_share_the_cpus_between_workers(monkeypatch):
    assert Settings(_env_file=None, threads=3, workers=4).compute_threads() == 3
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert Settings(_env_file=None, workers=3).compute_threads() == 2
    assert Settings(_env_file=None, workers=16).compute_threads() == 1
