"""Build the served sentiment encoder from the committed artifacts (the setup step).

:func:`build_sentiment` merges the committed LoRA adapter (``models/artifacts/``) into the
packaged all-MiniLM-L6-v2 weights, exports ONNX (torch.onnx, opset 17; fp32 is the served
encoder) and a dynamic int8 (per-channel) copy, kept for comparison, into
``models/artifacts/build/``. It is a no-op when
the build matches the hash of its inputs. ``escalation-risk build-sentiment`` (run by ``make
setup``) calls it; training calls it after writing a new adapter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from models.encoder import load_encoder
from models.sentiment import (
    ADAPTER_FILE,
    ARTIFACTS_DIR,
    BUILD_INFO_FILE,
    ENCODER_FILES,
    META_FILE,
    TOKENIZER_FILE,
    packaged_model_path,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# Bump when the export or quantisation recipe changes: it invalidates existing builds.
BUILD_RECIPE = "minilm-lora-merge/onnx-opset17/ort-dynamic-int8-per-channel/v1"
# Packages whose versions can change the exported bytes.
BUILD_PACKAGES = ("torch", "onnxruntime", "onnx", "transformers", "peft")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in ``chunk``-byte blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _inputs_hash(artifacts_dir: Path) -> str:
    digest = hashlib.sha256(BUILD_RECIPE.encode())
    # Package metadata, not imports: the up-to-date check must stay fast.
    for package in BUILD_PACKAGES:
        digest.update(f"{package}={version(package)};".encode())
    base = packaged_model_path()
    for name in ("model.safetensors", TOKENIZER_FILE, "config.json"):
        digest.update(file_sha256(base / name).encode())
    adapter = artifacts_dir / ADAPTER_FILE
    digest.update(file_sha256(adapter).encode() if adapter.exists() else b"no-adapter")
    meta = artifacts_dir / META_FILE
    lora = json.loads(meta.read_text()).get("lora") if meta.exists() else None
    digest.update(json.dumps(lora, sort_keys=True).encode())
    return digest.hexdigest()


def export_encoder(
    encoder: torch.nn.Module, out_dir: Path, quantize: bool = True
) -> dict[str, Path]:
    """Export ``encoder`` to ``out_dir/encoder_fp32.onnx`` and (quantised) ``encoder_int8.onnx``.

    Args:
        encoder: a module ``(input_ids, attention_mask) -> (n, 384)`` (int64 inputs).
        out_dir: created when missing.
        quantize: also write the dynamic int8 (per-channel) model.

    Returns:
        ``{"fp32": path}`` plus ``"int8"`` when quantised.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / ENCODER_FILES["fp32"]
    int8 = out_dir / ENCODER_FILES["int8"]
    example = (
        torch.tensor([[101, 7592, 2088, 2023, 2003, 1037, 3231, 102]] * 2, dtype=torch.long),
        torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.long),
    )
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
    inputs (packaged weights, adapter, LoRA config, torch/onnxruntime versions, recipe). Without
    an adapter in ``artifacts_dir`` it builds the plain (frozen) encoder.

    Args:
        artifacts_dir: folder of ``sentiment_lora.safetensors`` and ``sentiment_meta.json``.
        build_dir: output folder (default ``artifacts_dir/build``).
        force: rebuild even when up to date.

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
        "sha256": {p.name: file_sha256(p) for p in wanted},
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    log.info("built sentiment encoder in %s (%.1f s)", build_dir, info["built_s"])
    return build_dir
