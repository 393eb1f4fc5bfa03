"""Small value helpers shared by the service's modules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def is_missing(v: object) -> bool:
    """True for None, NaN, NaT and pd.NA; False for anything else (lists included)."""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # array-likes: not a single missing value
        return False


def is_number(v: object) -> bool:
    """True for a finite int or float (numpy scalars included); False for NaN, None, text."""
    return isinstance(v, int | float | np.floating | np.integer) and math.isfinite(float(v))
