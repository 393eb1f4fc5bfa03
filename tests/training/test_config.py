"""Experiment settings: the committed files load, and a retired setting is an error, not ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from training.config import load_config

TRAINING = Path(__file__).resolve().parents[2] / "training"


@pytest.mark.parametrize(
    "path", [TRAINING / "config.yaml", *sorted((TRAINING / "configs").glob("*.yaml"))]
)
def test_committed_configs_load(path: Path) -> None:
    cfg, raw = load_config(path)
    assert 0 < cfg.policy.watch_share < 1
    assert raw["policy"]["watch_share"] == cfg.policy.watch_share


def test_watch_recall_is_refused_with_its_replacement(tmp_path: Path) -> None:
    raw = yaml.safe_load((TRAINING / "config.yaml").read_text())
    raw["policy"]["watch_recall"] = 0.9
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="watch_share"):
        load_config(path)
