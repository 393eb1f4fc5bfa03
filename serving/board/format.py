"""Template filters: money, UTC times and the SLA countdown's first text (the page's script
keeps the countdown running)."""

from __future__ import annotations

from datetime import UTC, datetime

from features.catalogue.account import ARR_TIER_LABELS
from features.catalogue.wording import is_missing


def money(value: object) -> str:
    """USD, short: $520k, $1.2M; an en dash when unknown."""
    if value is None or is_missing(value):
        return "–"
    v = float(value)  # type: ignore[arg-type]
    if v >= 1e6:
        return f"${v / 1e6:.1f}M"
    if v >= 1e3:
        return f"${v / 1e3:.0f}k"
    return f"${v:.0f}"


def dt(value: object) -> str:
    """A UTC time (datetime or epoch seconds) as ``2026-01-05 09:20 UTC``."""
    if value is None or value == "":
        return "–"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: float) -> str:
    """A duration in words: 2d 3h, 1h 05m, 12m."""
    s = int(abs(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m:02d}m"
    return f"{m}m"


def countdown(due: int | None, now: int, answered: bool) -> str:
    """The first-response clock at ``now`` (epoch seconds): answered, due in, or breached."""
    if answered:
        return "answered"
    if due is None:
        return "–"
    left = due - now
    return f"due in {span(left)}" if left >= 0 else f"breached {span(left)} ago"


def arr_tier(value: object) -> str:
    """An account_arr_tier value (0-4) as its ARR band, e.g. 2 -> "ARR 50k-200k"."""
    try:
        return f"ARR {ARR_TIER_LABELS[int(value)]}"  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError):
        return "–"


FILTERS = {"money": money, "dt": dt, "countdown": countdown, "arr_tier": arr_tier}
