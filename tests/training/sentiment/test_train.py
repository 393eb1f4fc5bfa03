"""Training helpers that run without the transformer: batching, the head fit, the head file."""

from __future__ import annotations

import numpy as np

from models.sentiment import load_head
from training.sentiment.train import (
    LORA_TARGETS,
    SentimentTrainConfig,
    fit_head,
    length_grouped_batches,
    save_head,
)


def test_length_grouped_batches_cover_every_index_once() -> None:
    lengths = np.random.default_rng(0).integers(3, 64, size=1003)
    batches = length_grouped_batches(lengths, 8, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1003))
    assert all(1 <= len(b) <= 8 for b in batches)
    # similar lengths within a batch: far less spread than in a random batch
    spread = np.mean([np.ptp(lengths[b]) for b in batches if len(b) == 8])
    assert spread < 10


def test_length_grouped_batches_are_deterministic_per_rng() -> None:
    lengths = np.arange(100) % 17
    a = length_grouped_batches(lengths, 4, np.random.default_rng(3))
    b = length_grouped_batches(lengths, 4, np.random.default_rng(3))
    c = length_grouped_batches(lengths, 4, np.random.default_rng(4))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_lora_dict_is_the_peft_config() -> None:
    config = SentimentTrainConfig(lora_r=8, lora_alpha=16, lora_dropout=0.0)
    assert config.lora_dict() == {
        "r": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.0,
        "target_modules": LORA_TARGETS,
    }


def test_fit_head_separates_clusters_and_roundtrips(tmp_path) -> None:
    rng = np.random.default_rng(0)
    centers = np.eye(3, 384, dtype=np.float32) * 3
    y = np.repeat([0, 1, 2], 40)
    X = centers[y] + rng.normal(0, 0.3, size=(120, 384)).astype(np.float32)
    y_dev = np.repeat([0, 1, 2], 10)
    X_dev = centers[y_dev] + rng.normal(0, 0.3, size=(30, 384)).astype(np.float32)
    weight, bias, choice = fit_head(X, y, X_dev, y_dev, seed=0)
    assert weight.shape == (3, 384) and bias.shape == (3,)
    assert weight.dtype == np.float32 and weight.flags.c_contiguous
    assert choice["dev"]["macro_recall"] == 1.0
    assert ((X_dev @ weight.T + bias).argmax(axis=1) == y_dev).all()
    path = tmp_path / "head.safetensors"
    save_head(path, weight, bias)
    loaded_weight, loaded_bias = load_head(path)
    assert np.array_equal(loaded_weight, weight) and np.array_equal(loaded_bias, bias)
