"""The torch encoder: mean pooling over real tokens, L2 normalisation, adapter checks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from models.encoder import load_encoder, pooled_encoder
from models.sentiment import ADAPTER_FILE, ARTIFACTS_DIR


class FixedHidden(torch.nn.Module):
    """Stands in for the transformer: returns the given hidden states whatever the input."""

    def __init__(self, hidden: torch.Tensor) -> None:
        super().__init__()
        self.hidden = hidden

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(last_hidden_state=self.hidden)


def test_pooling_ignores_padding_and_normalises() -> None:
    hidden = torch.tensor(
        [
            [[3.0, 0.0], [1.0, 2.0], [100.0, 100.0]],  # the last token is padding
            [[0.0, 5.0], [0.0, 5.0], [0.0, 5.0]],
        ]
    )
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    out = pooled_encoder(FixedHidden(hidden))(torch.zeros_like(mask), mask).numpy()
    mean = np.array([2.0, 1.0])
    assert np.allclose(out[0], mean / np.linalg.norm(mean))
    assert np.allclose(out[1], [0.0, 1.0])


def test_an_adapter_without_its_lora_config_is_refused() -> None:
    with pytest.raises(ValueError, match="LoRA config"):
        load_encoder(ARTIFACTS_DIR / ADAPTER_FILE, None)
