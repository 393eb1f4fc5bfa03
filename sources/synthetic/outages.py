"""Which synthetic ticket came from which outage: ground truth for grouping, never a feature.

The simulator draws outages with the ticket arrivals (:func:`~sources.synthetic.organisation.
draw_arrivals`); this replays that draw from the generator's seed, so the tables stay exactly as
they were, and writes ``outages.parquet`` beside them (like ``ground_truth.parquet``, nothing in
training or serving reads it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sources.synthetic.organisation import draw_arrivals, make_accounts
from sources.synthetic.tables import hours_to_ts

OUTAGE_FILE = "outages.parquet"


def outage_truth(n_tickets: int, seed: int, days: int, outage_share: float) -> pd.DataFrame:
    """One row per ticket that an outage caused.

    Columns: ticket_id, outage_id (0-based), outage_start, outage_end (UTC), outage_area (the
    product area the outage hit). Must be called with the generator's own settings: the draw
    is the first thing :func:`~sources.synthetic.generate.simulate` does with its seed.
    """
    rng = np.random.default_rng(seed)
    accounts = make_accounts(n_tickets, rng)
    _, _, outage_idx, outages = draw_arrivals(n_tickets, days, outage_share, accounts, rng)
    pos = np.flatnonzero(outage_idx >= 0)
    o = outages.iloc[outage_idx[pos]].reset_index(drop=True)
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i:07d}" for i in pos],
            "outage_id": outage_idx[pos].astype("int64"),
            "outage_start": hours_to_ts(o["start"]).to_numpy(),
            "outage_end": hours_to_ts(o["end"]).to_numpy(),
            "outage_area": o["area"].astype(object).to_numpy(),
        }
    )
