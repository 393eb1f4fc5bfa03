"""Pieces of the sentences reasons print (durations, money, counts, tone, the SLA in force)
and the value tests that choose between a feature's words and the generic wording."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.calendar import SLA_HOURS


def is_missing(v: object) -> bool:
    """True for None, NaN, NaT and pd.NA; False for anything else (several values included)."""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # array-likes: not a single missing value
        return False


def is_number(v: object) -> bool:
    """True for a finite int or float (NumPy scalars included); False for NaN, None, text."""
    return isinstance(v, int | float | np.floating | np.integer) and math.isfinite(float(v))


def hours(v: float) -> str:
    """A duration in hours: "5.0 h" below two days, else "3.5 days"."""
    return f"{v:.1f} h" if v < 48 else f"{v / 24:.1f} days"


def money(v: float) -> str:
    """USD as "$1.2M" from a million on, else "$520k"."""
    return f"${v / 1e6:.1f}M" if v >= 1e6 else f"${v / 1e3:.0f}k"


def times(n: float, one: str, many: str) -> str:
    """``one`` for a count of 1, else ``many`` with ``{n}`` filled in."""
    n = int(n)
    return f"{one}" if n == 1 else f"{many.format(n=n)}"


def tone(v: float) -> str:
    """A sentiment (-1..1) as negative, neutral or positive."""
    return "negative" if v < -0.3 else "positive" if v > 0.3 else "neutral"


def sla_text(row: Mapping[str, object]) -> str:
    """The first-response SLA of the row's current priority, e.g. "2 h" (8 h if unknown)."""
    p = row.get("ticket_priority_current")
    return f"{SLA_HOURS.get(f'P{int(p)}', 8.0):g} h" if is_number(p) else "8 h"
