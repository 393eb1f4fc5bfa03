"""The service's live context (features/live.py): kept ticket by ticket, it answers what a
context built whole from the same data answers (fast lane: lexical text signals, no model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_features, build_ticket_features
from features.context import FeatureContext
from features.live import LiveContext
from features.registry import FEATURE_NAMES
from features.schema import read_dataset
from features.text import attach_text_signals
from sources.synthetic.generate import GeneratorConfig, generate_dataset


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    for x, y in zip(a, b, strict=True):
        if pd.isna(x) and pd.isna(y):
            continue
        if isinstance(x, float | int) and isinstance(y, float | int):
            if abs(float(x) - float(y)) > 1e-9:
                return False
        elif x != y:
            return False
    return True


@pytest.mark.slow
def test_updates_in_any_order_answer_the_whole_context(tmp_path, lexical_scorer):
    generate_dataset(
        GeneratorConfig(n_tickets=30, seed=3, days=5, truth_fraction=0.0), tmp_path, progress=False
    )
    data = read_dataset(tmp_path)
    ev = attach_text_signals(data.events, lexical_scorer)
    half = data.tickets["ticket_id"].iloc[::2]
    # The base holds half the tickets with only their first two events (stale rows to replace).
    stale = ev[ev["ticket_id"].isin(half)].groupby("ticket_id").head(2)
    base = FeatureContext.from_data(
        data.accounts, data.tickets[data.tickets["ticket_id"].isin(half)], stale
    )
    live = LiveContext(base)
    order = np.random.default_rng(0).permutation(data.tickets["ticket_id"].to_numpy())
    for tid in order:  # each ticket once, whole, in random order; some twice (a replacement)
        for _ in range(1 + (hash(tid) % 2)):
            live.update(data.tickets[data.tickets["ticket_id"] == tid], ev[ev["ticket_id"] == tid])
    snaps = ev[["ticket_id", "ts"]].rename(columns={"ts": "as_of"}).iloc[::4]
    whole = build_features(data.accounts, data.tickets, ev, snaps, None)
    acc = data.accounts.set_index("account_id")
    for i, (tid, as_of) in enumerate(zip(snaps["ticket_id"], snaps["as_of"], strict=True)):
        tk = data.tickets[data.tickets["ticket_id"] == tid]
        account = acc.loc[[tk["account_id"].iloc[0]]].reset_index()
        mine = ev[(ev["ticket_id"] == tid) & (ev["ts"] <= as_of)]
        x = build_ticket_features(tk, mine, as_of, live.view(account, tk))
        for name in FEATURE_NAMES:
            assert _same(x[name].to_numpy(), whole[name].iloc[i : i + 1].to_numpy()), (tid, name)
    assert len(live.changed) == len(data.tickets)
