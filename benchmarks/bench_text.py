"""Median microseconds per call of each TextBank method (the simulator makes ~2M calls).

Run: python benchmarks/bench_text.py
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from sources.synthetic.text import (
    AGENT_KINDS,
    ISSUE_CATEGORIES,
    MENTIONS,
    NOTE_KINDS,
    PRODUCT_AREAS,
    TextBank,
)

CALLS_PER_BATCH = 2000
BATCHES = 15


def _bench(fn: Callable[[random.Random, int], str]) -> float:
    """Median over batches of the mean microseconds per call inside a batch."""
    rng = random.Random(7)
    per_call = []
    for _ in range(BATCHES):
        start = time.perf_counter()
        for i in range(CALLS_PER_BATCH):
            fn(rng, i)
        per_call.append((time.perf_counter() - start) / CALLS_PER_BATCH * 1e6)
    return statistics.median(per_call)


def main() -> None:
    bank = TextBank()
    cats, areas = ISSUE_CATEGORIES, PRODUCT_AREAS
    nc, na = len(cats), len(areas)
    freqs = [i / 19 for i in range(20)]

    def mention(i: int) -> tuple[str, ...]:
        return (MENTIONS[i % len(MENTIONS)],) if i % 10 == 0 else ()

    cases: dict[str, Callable[[random.Random, int], str]] = {
        "subject": lambda r, i: bank.subject(r, cats[i % nc], areas[i % na], i % 20 == 0),
        "opening": lambda r, i: bank.opening(
            r, cats[i % nc], areas[i % na], freqs[i % 20], i % 20 == 0, mention(i)
        ),
        "customer_reply": lambda r, i: bank.customer_reply(
            r, cats[i % nc], areas[i % na], freqs[i % 20], mention(i)
        ),
        "follow_up": lambda r, i: bank.follow_up(r, freqs[i % 20], 1 + i % 4, mention(i)),
        "reopen": lambda r, i: bank.reopen(
            r, cats[i % nc], areas[i % na], freqs[i % 20], mention(i)
        ),
        "closing": lambda r, i: bank.closing(r, freqs[i % 20], i % 3 > 0),
        "agent_message": lambda r, i: bank.agent_message(
            r, AGENT_KINDS[i % len(AGENT_KINDS)], cats[i % nc], areas[i % na], 1 + i % 4
        ),
        "internal_note": lambda r, i: bank.internal_note(
            r, NOTE_KINDS[i % len(NOTE_KINDS)], cats[i % nc], areas[i % na], 1 + i % 4
        ),
    }
    start = time.perf_counter()
    bank = TextBank()
    init_ms = (time.perf_counter() - start) * 1e3
    print(f"{'TextBank()':<16} {init_ms:8.2f} ms (once)")
    for name, fn in cases.items():
        print(f"{name:<16} {_bench(fn):8.2f} us/call (median of {BATCHES} x {CALLS_PER_BATCH})")


if __name__ == "__main__":
    main()
