"""Pieces of reason sentences and the value tests behind them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue.wording import hours, is_missing, is_number, money, sla_text, times, tone


def test_value_tests():
    assert all(is_missing(v) for v in (None, np.nan, pd.NA, pd.NaT, float("nan")))
    assert not any(is_missing(v) for v in (0, 0.0, "", [None, None], np.array([np.nan, 1.0])))
    assert all(is_number(v) for v in (0, 1.5, np.float32(2), np.int64(3), True))
    assert not any(is_number(v) for v in (None, np.nan, float("inf"), "1", pd.NA))


def test_pieces():
    assert hours(47.94) == "47.9 h" and hours(48) == "2.0 days"
    assert money(999_999) == "$1000k" and money(1_000_000) == "$1.0M"
    assert times(1.0, "once", "{n} times") == "once" and times(4.0, "once", "{n} times") == (
        "4 times"
    )
    assert [tone(v) for v in (-0.31, -0.3, 0.3, 0.31)] == [
        "negative",
        "neutral",
        "neutral",
        "positive",
    ]
    assert sla_text({"ticket_priority_current": 2.0}) == "2 h"
    assert sla_text({"ticket_priority_current": 7}) == "8 h" and sla_text({}) == "8 h"
