"""Timestamps and keys as NumPy arrays: the conversions and lookups every feature stage shares.

Sizes matter here: the serving path looks up one ticket, the batch path millions of rows, so the
lookups switch method by input size (with the same result).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

US_PER_H = 3_600_000_000
NAT_US = np.iinfo(np.int64).min  # what NaT becomes in int64 microseconds


def to_us(ts) -> np.ndarray:
    """UTC timestamps to int64 microseconds since the epoch (NaT -> ``NAT_US``)."""
    return pd.DatetimeIndex(ts).as_unit("us").asi8


def positions(keys, values) -> np.ndarray:
    """Position of each value among unique ``keys`` (-1 if absent). A dict for small inputs
    (the serving path: building a pandas Index costs more than the lookups)."""
    keys = np.asarray(keys, dtype=object)
    values = np.asarray(values, dtype=object)
    if len(keys) <= 64 and len(values) <= 4096:
        lookup = {k: i for i, k in enumerate(keys.tolist())}
        return np.fromiter((lookup.get(v, -1) for v in values.tolist()), np.int64, len(values))
    return pd.Index(keys, dtype=object).get_indexer(values).astype(np.int64)


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) in order of appearance, -1 for missing: pandas.factorize on a NumPy
    object array (no Index is built for the uniques)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=object, na_value=None)
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes, np.asarray(uniques, dtype=object)


def vocabulary(values) -> pd.Index:
    """An index of the distinct non-missing keys (object dtype, so lookups hash plain str)."""
    v = pd.Series(np.asarray(values, dtype=object)).dropna().unique()
    return pd.Index(v, dtype=object)


def encode(vocab: pd.Index, values) -> np.ndarray:
    """Integer codes of keys in ``vocab``; -1 for unknown or missing keys."""
    values = np.asarray(values, dtype=object)
    if len(values) <= 8:  # the serving path: hash lookups beat building an indexer
        return np.array(
            [vocab.get_loc(v) if v in vocab else -1 for v in values],
            dtype=np.int64,
        )
    return vocab.get_indexer(values)


def extend(vocab: pd.Index, keys) -> pd.Index:
    """``vocab`` with unseen keys appended (existing codes unchanged); for a few keys."""
    new = [
        k
        for k in dict.fromkeys(np.asarray(keys, dtype=object).tolist())
        if k is not None and k == k and k is not pd.NA and k not in vocab
    ]
    return vocab.append(pd.Index(new, dtype=object)) if new else vocab


def names(codes: np.ndarray, uniques: np.ndarray) -> np.ndarray:
    """Integer codes (float, NaN for none) back to their names (None for none)."""
    c = np.asarray(codes, dtype="float64")
    out = np.full(len(c), None, dtype=object)
    ok = ~np.isnan(c)
    out[ok] = uniques[c[ok].astype(np.int64)]
    return out
