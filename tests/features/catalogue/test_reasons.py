"""Which contributions may be shown as reasons, and how many of each side and topic."""

from __future__ import annotations

import numpy as np

from features.catalogue.feature import Feature
from features.catalogue.reasons import select_reasons, shown_as_reason


def _f(name, dtype="int", direction=0, explain=True, topic=""):
    reason = "because" if direction else ""
    return Feature(
        name,
        "process",
        dtype,
        name,
        lambda x: np.zeros(1),
        None,
        direction,
        reason,
        explain,
        topic,
    )


RISING = _f("a_count", direction=1)
FALLING = _f("b_days", dtype="float", direction=-1)
FREE = _f("c_count")
HIDDEN = _f("d_hour", explain=False)
CATEGORY = _f("e_channel", dtype="category")


def test_shown_as_reason():
    assert shown_as_reason(RISING, 0.0, -0.2) and not shown_as_reason(RISING, 0.0, 0.2)
    assert shown_as_reason(RISING, 2.0, 0.2) and shown_as_reason(RISING, 1.0, -0.1)
    assert not shown_as_reason(FREE, 0.0, 0.3) and not shown_as_reason(FREE, 0.0, -0.3)
    assert shown_as_reason(FREE, 1.0, 0.3)
    assert shown_as_reason(FALLING, 0.0, 0.3) and shown_as_reason(FALLING, 0.0, -0.3)
    assert not shown_as_reason(HIDDEN, 7.0, 1.0)
    assert not shown_as_reason(RISING, np.nan, 1.0) and not shown_as_reason(RISING, None, 1.0)
    assert not shown_as_reason(RISING, 3.0, 0.0)
    assert shown_as_reason(CATEGORY, "email", 0.4) and not shown_as_reason(CATEGORY, None, 0.4)


def test_select_reasons_limits_sides_and_topics():
    feats = [_f(f"f{i}_n", topic="t" if i in (1, 2) else "") for i in range(8)]
    row = {f.name: float(i + 1) for i, f in enumerate(feats)}
    c = np.array([0.1, 0.9, 0.8, 0.7, -0.6, -0.5, -0.4, 0.3, 99.0])  # last: the bias
    up, down = select_reasons(feats, row, c, lambda n, v, r: f"{n}={v:g}", up=3, down=2)
    assert [r["feature"] for r in up] == ["f1_n", "f3_n", "f7_n"]  # f2_n shares f1_n's topic
    assert [r["feature"] for r in down] == ["f4_n", "f5_n"]
    assert up[0] == {"feature": "f1_n", "value": 2.0, "contribution": 0.9, "text": "f1_n=2"}
