"""The sentence encoder in torch: the packaged all-MiniLM-L6-v2, mean-pooled and L2-normalised,
with the committed LoRA adapter merged in.

Used to export the ONNX encoder the service runs (models/build.py), as the reference the ONNX path
is checked against (models/sentiment.py), and as the starting point of fine-tuning (training).
Weights load from the installed package only (``local_files_only``): no hub, no network.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.sentiment import (
    ADAPTER_FILE,
    ARTIFACTS_DIR,
    EMBEDDING_DIM,
    HEAD_FILE,
    MAX_LENGTH,
    META_FILE,
    load_head,
    normalize_text,
    packaged_model_path,
    softmax,
)

if TYPE_CHECKING:
    import torch


def pooled_encoder(model: torch.nn.Module) -> torch.nn.Module:
    """Wrap a BERT-style ``model`` as ``(input_ids, attention_mask) -> (n, 384)`` embeddings.

    ``model`` must return an object with ``last_hidden_state`` ``(n, tokens, 384)``.
    """
    import torch

    class PooledEncoder(torch.nn.Module):
        """Mean pooling over real tokens, then L2 normalisation (sentence-transformers recipe)."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=-1)

    return PooledEncoder(model)


def base_model(attn_implementation: str = "eager") -> torch.nn.Module:
    """The packaged all-MiniLM-L6-v2 transformer without its pooler, from local files only."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the unused pooler weights are expected
    hf_logging.disable_progress_bar()
    return AutoModel.from_pretrained(
        str(packaged_model_path()),
        add_pooling_layer=False,
        attn_implementation=attn_implementation,
        local_files_only=True,
    )


def load_encoder(adapter_path: Path | None, lora: dict[str, Any] | None) -> torch.nn.Module:
    """The packaged MiniLM with the LoRA adapter merged in (or plain, without an adapter).

    Returns a module ``(input_ids, attention_mask) -> (n, 384)`` L2-normalised embeddings.
    """
    model = base_model()
    if adapter_path is not None:
        from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
        from safetensors.torch import load_file

        if lora is None:
            raise ValueError("an adapter needs its LoRA config (sentiment_meta.json['lora'])")
        peft_model = get_peft_model(model, LoraConfig(**lora))
        result = set_peft_model_state_dict(peft_model, load_file(str(adapter_path)))
        missing = [k for k in result.missing_keys if "lora_" in k]
        if missing:
            raise ValueError(f"adapter {adapter_path} lacks {len(missing)} LoRA tensors")
        model = peft_model.merge_and_unload()
    return pooled_encoder(model).eval()


class TorchSentimentReference:
    """The same model in plain torch (base weights + LoRA merged), to check the ONNX path.

    Slow to load and to run; used by tests and the benchmark, never by the service.
    """

    def __init__(self, artifacts_dir: Path = ARTIFACTS_DIR, threads: int = 2) -> None:
        import torch
        from transformers import AutoTokenizer

        torch.set_num_threads(threads)
        adapter = artifacts_dir / ADAPTER_FILE
        meta_path = artifacts_dir / META_FILE
        lora = json.loads(meta_path.read_text())["lora"] if meta_path.exists() else None
        self.encoder = load_encoder(adapter if adapter.exists() else None, lora).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(
            str(packaged_model_path()), local_files_only=True
        )
        self.head_weight_, self.head_bias_ = load_head(artifacts_dir / HEAD_FILE)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        import torch

        normalized = [normalize_text(t) for t in texts]
        out = []
        with torch.inference_mode():
            for start in range(0, len(normalized), batch_size):
                batch = self.tokenizer(
                    normalized[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                )
                out.append(self.encoder(batch["input_ids"], batch["attention_mask"]).numpy())
        return np.concatenate(out) if out else np.empty((0, EMBEDDING_DIM), np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.embed(texts) @ self.head_weight_.T + self.head_bias_)
