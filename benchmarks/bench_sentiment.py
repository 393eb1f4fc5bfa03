"""Speed of the sentiment encoder: torch fp32 vs ONNX Runtime fp32 vs ONNX Runtime int8.

Prints texts/s for single texts (one call per text) and for a list of texts per call (medians of
repeats), the cosine similarity of each path's embeddings to torch fp32, and whether a list's
embeddings equal the same texts embedded one by one (batch invariance). ``onnx fp32 b64`` is the
served setting: batches of up to 64 texts of one token length (no padding), a lone text run as a
pair; int8 (dynamic) runs one text per call. Texts have ``--words`` words on average (half to
one and a half times that). No assertions on time.

    .venv/bin/python benchmarks/bench_sentiment.py --threads 2

Needs the build (`escalation-risk build-sentiment`). The cache is disabled so that every call
runs the encoder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

WORDS = (
    "the order arrived late again and support has not replied to my last three messages about "
    "the refund I was promised when I cancelled the annual plan because the app kept crashing "
    "every time I tried to export our reports so please escalate this to a manager today thanks "
    "great quick helpful team invoice outage login password billing account service update"
).split()


def make_texts(n: int, words: int, seed: int = 0) -> list[str]:
    """``n`` pseudo-random support-like texts of about ``words`` words each (deterministic)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(max(1, words // 2), words + words // 2 + 1, size=n)
    return [" ".join(rng.choice(WORDS, size=k)) for k in sizes]


def time_single(embed, texts: list[str], repeats: int) -> float:
    """Median seconds per single-text call."""
    embed(texts[:1])  # warm-up
    times = []
    for i in range(repeats):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        embed([text])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_batched(embed, texts: list[str], repeats: int) -> float:
    """Median texts/s over ``repeats`` passes of all ``texts``."""
    embed(texts[:32])  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        embed(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    return statistics.median(rates)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--texts", type=int, default=512, help="texts per batched pass")
    parser.add_argument("--words", type=int, default=30, help="words per text")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per encoder call")
    parser.add_argument("--single", type=int, default=100, help="single-text calls timed")
    parser.add_argument("--repeats", type=int, default=3, help="batched passes timed")
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch

    from models.build import build_sentiment
    from models.encoder import TorchSentimentReference
    from models.sentiment import SentimentModel

    torch.set_num_threads(args.threads)
    build_sentiment()
    texts = make_texts(args.texts, args.words)
    paths = {}
    if not args.skip_torch:
        ref = TorchSentimentReference(threads=args.threads)
        paths["torch fp32"] = lambda t: ref.embed(t, batch_size=args.batch_size)
    for precision, batch_size in (("fp32", args.batch_size), ("fp32", 1), ("int8", 1)):
        model = SentimentModel(
            precision=precision, threads=args.threads, batch_size=batch_size, cache_size=0
        )
        paths[f"onnx {precision} b{batch_size}"] = model.embed

    reference = None
    print(
        f"{args.threads} threads, {args.words}-word texts, batch {args.batch_size}, "
        f"{args.texts} texts per batched pass, {args.single} single calls"
    )
    print(
        f"{'path':<16} {'single ms':>10} {'single/s':>9} {'batched/s':>10} {'cos min':>8} "
        f"{'cos mean':>9} {'batch == single':>15}"
    )
    for name, embed in paths.items():
        single = time_single(embed, texts, args.single)
        batched = time_batched(embed, texts, args.repeats)
        emb = embed(texts)
        if reference is None:
            reference = emb
        cos = cosine(emb, reference)
        one_by_one = np.concatenate([embed([t]) for t in texts[:64]])
        invariant = bool(np.array_equal(embed(texts[:64]), one_by_one))
        print(
            f"{name:<16} {single * 1e3:>10.2f} {1 / single:>9.0f} {batched:>10.0f} "
            f"{cos.min():>8.4f} {cos.mean():>9.4f} {str(invariant):>15}"
        )


if __name__ == "__main__":
    main()
