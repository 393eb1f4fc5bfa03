"""Champion promotion: only a comparison that ran (or a model this code cannot serve) promotes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.registry import FeatureSetMismatch
from training import tracking


class FakeClient:
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.aliases[alias] = version


class OldChampion:
    def __init__(self, p: np.ndarray) -> None:
        self.p = p

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.p


TEST = pd.DataFrame({"label": [1, 0, 1, 0]})
GOOD = np.array([0.9, 0.1, 0.8, 0.2])  # PR-AUC 1.0
BAD = np.array([0.1, 0.9, 0.2, 0.8])  # PR-AUC 0.5


def promote(monkeypatch, champion, loaded, p_new=GOOD, force=False):
    def champion_version(name):
        if isinstance(champion, Exception):
            raise champion
        return champion

    def load_registered(uri):
        if isinstance(loaded, Exception):
            raise loaded
        return loaded

    monkeypatch.setattr(tracking, "champion_version", champion_version)
    monkeypatch.setattr(tracking, "load_registered", load_registered)
    client = FakeClient()
    promoted, reason = tracking.promote_if_better(client, "m", "2", TEST, p_new, force=force)
    assert promoted == (client.aliases.get("champion") == "2")
    return promoted, reason


def test_first_version_becomes_champion(monkeypatch) -> None:
    assert promote(monkeypatch, None, None) == (True, "no champion before: promoted")


def test_better_version_is_promoted_worse_is_not(monkeypatch) -> None:
    promoted, reason = promote(monkeypatch, "1", OldChampion(BAD))
    assert promoted and "> champion v1" in reason
    promoted, reason = promote(monkeypatch, "1", OldChampion(GOOD), p_new=BAD)
    assert not promoted and "kept challenger" in reason


@pytest.mark.parametrize(
    "champion, loaded",
    [
        (ConnectionError("tracking server unreachable"), None),
        ("1", ConnectionError("tracking server unreachable")),
        ("1", FileNotFoundError("booster.txt")),
    ],
)
def test_a_failed_comparison_keeps_the_challenger(monkeypatch, champion, loaded) -> None:
    promoted, reason = promote(monkeypatch, champion, loaded)
    assert not promoted
    assert "kept challenger" in reason and ("unreachable" in reason or "booster" in reason)


def test_a_champion_on_another_feature_set_is_replaced(monkeypatch) -> None:
    promoted, reason = promote(monkeypatch, "1", FeatureSetMismatch("feature set 1.old"))
    assert promoted and "cannot be served by this code" in reason


def test_force_promotes_without_comparing(monkeypatch) -> None:
    promoted, reason = promote(monkeypatch, ConnectionError("down"), None, p_new=BAD, force=True)
    assert promoted and "--promote" in reason
