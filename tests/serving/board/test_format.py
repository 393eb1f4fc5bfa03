"""The board's template filters and chart geometry (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from serving.board.charts import HALF_W, history_line, reason_bars
from serving.board.format import arr_tier, countdown, dt, money


def test_countdown_says_answered_due_or_breached():
    assert countdown(1000, 0, True) == "answered"
    assert countdown(None, 0, False) == "–"
    assert countdown(3 * 3600 + 5 * 60, 0, False) == "due in 3h 05m"
    assert countdown(0, 90 * 60, False) == "breached 1h 30m ago"
    assert countdown(2 * 86400 + 3600, 0, False) == "due in 2d 1h"


def test_money_and_times():
    assert (money(None), money(float("nan")), money(950), money(52_000), money(1_250_000)) == (
        "–",
        "–",
        "$950",
        "$52k",
        "$1.2M",
    )
    assert dt(datetime(2026, 1, 5, 9, 20, tzinfo=UTC)) == "2026-01-05 09:20 UTC"
    assert dt(0) == "1970-01-01 00:00 UTC"


def test_reason_bars_diverge_from_the_axis_in_proportion():
    up = [{"contribution": 0.8, "text": "a"}, {"contribution": 0.2, "text": "b"}]
    down = [{"contribution": -0.4, "text": "c"}]
    chart = reason_bars(up, down)
    a, b, c = chart["bars"]
    assert (a["x"], a["w"]) == (HALF_W, HALF_W)  # the largest fills its half
    assert b["w"] == HALF_W / 4 and c["w"] == HALF_W / 2
    assert c["x"] + c["w"] == HALF_W  # lowering bars end at the axis
    assert [x["side"] for x in chart["bars"]] == ["up", "up", "down"]


def test_history_line_follows_time_and_probability():
    t = [datetime(2026, 1, 5, h, tzinfo=UTC) for h in (9, 10, 12)]
    hist = [
        {"as_of": ti, "probability": p, "action": "none"}
        for ti, p in zip(t, (0.1, 0.5, 0.9), strict=True)
    ]
    line = history_line(hist)
    xs = [d["x"] for d in line["dots"]]
    ys = [d["y"] for d in line["dots"]]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # later: right; riskier: higher
    assert (xs[1] - xs[0]) * 2 == pytest.approx(xs[2] - xs[1], abs=0.2)  # rounded to 0.1 px
    assert history_line([]) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "ARR <10k"), (2.0, "ARR 50k-200k"), (4, "ARR >=500k"), (None, "–"), (7, "–"), ("x", "–")],
)
def test_arr_tier_names_the_band_not_the_index(value, text):
    assert arr_tier(value) == text
