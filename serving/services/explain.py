"""Why a ticket scored what it did: its strongest TreeSHAP contributions, in plain words.

Reasons are the exact TreeSHAP contributions of the LightGBM model (log-odds of its raw score, the
bias excluded), worded by each feature's own declaration (features.registry.describe). Routing, severity and the SLA clock live in
:mod:`serving.services.routing`; the escalation brief in :mod:`serving.services.brief`.
"""

from __future__ import annotations

import numpy as np

from features.catalogue.wording import is_missing
from features.registry import FEATURE_NAMES, describe

_Row = dict[str, object]


def reasons(row: _Row, contributions: np.ndarray, top: int = 5) -> tuple[list[dict], list[dict]]:
    """(reasons raising the risk, reasons lowering it), strongest first, from TreeSHAP.

    ``contributions`` is one row of ``pred_contrib`` (features in registry order, then the bias).
    """
    c = np.asarray(contributions[: len(FEATURE_NAMES)], dtype="float64")
    order = np.argsort(-np.abs(c), kind="stable")
    up, down = [], []
    for j in order:
        if c[j] == 0:
            break
        name = FEATURE_NAMES[j]
        value = row[name]
        item = {
            "feature": name,
            "value": None
            if is_missing(value)
            else (value if isinstance(value, str) else float(value)),
            "contribution": float(c[j]),
            "text": describe(name, value, row),
        }
        target = up if c[j] > 0 else down
        if len(target) < top:
            target.append(item)
        if len(up) >= top and len(down) >= top:
            break
    return up, down[:2]
