"""Key and timestamp arrays: the small (serving) and large (batch) lookups agree."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.arrays import (
    NAT_US,
    encode,
    extend,
    factorize,
    names,
    positions,
    to_us,
    vocabulary,
)


def test_to_us_is_microseconds_with_nat_as_min_int():
    ts = pd.Series(
        [pd.Timestamp("1970-01-01 00:00:01", tz="UTC"), pd.NaT], dtype="datetime64[ns, UTC]"
    )
    assert to_us(ts).tolist() == [1_000_000, NAT_US]


def test_small_and_large_lookups_agree():
    keys = np.array([f"k{i}" for i in range(100)], dtype=object)
    values = np.array(["k3", "zz", None, "k99"], dtype=object)
    assert positions(keys[:50], values).tolist() == [3, -1, -1, -1]  # a dict
    assert positions(keys, values).tolist() == [3, -1, -1, 99]  # a pandas index
    vocab = vocabulary(np.append(keys, [None, "k1"]))
    assert len(vocab) == 100
    assert encode(vocab, values).tolist() == encode(vocab, np.tile(values, 5))[:4].tolist()
    assert encode(vocab, values).tolist() == [3, -1, -1, 99]


def test_factorize_names_and_extend():
    codes, uniques = factorize(pd.Series(["b", None, "a", "b"]))
    assert codes.tolist() == [0, -1, 1, 0] and uniques.tolist() == ["b", "a"]
    assert names(np.array([1.0, np.nan, 0.0]), uniques).tolist() == ["a", None, "b"]
    vocab = extend(vocabulary(["x", "y"]), ["y", "z", None, np.nan, "z"])
    assert vocab.tolist() == ["x", "y", "z"]
