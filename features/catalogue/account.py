"""Account features: the customer's value, contract, tenure and recent history with support."""

from __future__ import annotations

import numpy as np

from features.catalogue.feature import Feature
from features.catalogue.wording import money, tone
from features.inputs import SnapshotInputs

_ARR_TIERS = np.array([10_000, 50_000, 200_000, 500_000])  # USD; tier = thresholds passed
# What each value of account_arr_tier means, in the words of reports and the board.
ARR_TIER_LABELS = {0: "<10k", 1: "10k-50k", 2: "50k-200k", 3: "200k-500k", 4: ">=500k"}


def _sentiment_30d(x: SnapshotInputs) -> np.ndarray:
    n = x.window("sentiment_n_by_account", x.account_code, 24 * 30)
    total = x.window("sentiment_sum_by_account", x.account_code, 24 * 30)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _days_to_renewal(x: SnapshotInputs) -> np.ndarray:
    days = (x.lookup.account("renewal_h", np.nan) - x.as_of_h) / 24.0
    # The accounts table holds one renewal date, not its history: a date already past at as_of
    # is stale (the contract has renewed or lapsed since), not a renewal coming up. Read as it
    # was, it ran down with the calendar and let the model learn time, not renewals.
    return np.where(days >= 0, days, np.nan)


FEATURES: tuple[Feature, ...] = (
    Feature(
        "account_arr",
        "account",
        "float",
        "annual recurring revenue, USD (NaN if unknown)",
        formula=lambda x: x.arr,
        words=lambda v, r: f"account ARR {money(v)}",
        direction=1,
        direction_reason="more revenue at stake: big accounts escalate, and get escalated, sooner",
        topic="value",
    ),
    Feature(
        "account_arr_tier",
        "account",
        "float",
        "ARR tier: 0 <10k, 1 <50k, 2 <200k, 3 <500k, 4 >=500k (NaN if unknown)",
        formula=lambda x: np.where(
            np.isnan(x.arr), np.nan, np.searchsorted(_ARR_TIERS, x.arr, side="right")
        ),
        words=lambda v, r: f"account ARR tier {int(v)} of 4",
        direction=1,
        direction_reason="more revenue at stake: big accounts escalate, and get escalated, sooner",
        topic="value",
    ),
    Feature(
        "account_strategic",
        "account",
        "bool",
        "named strategic account",
        formula=lambda x: x.lookup.account("strategic", np.nan).astype("float64"),
        words=lambda v, r: "strategic account" if v else "not a strategic account",
        direction=1,
        direction_reason="named strategic accounts get, and ask for, escalations sooner",
    ),
    Feature(
        "account_days_to_renewal",
        "account",
        "float",
        "days until the contract renewal (NaN if unknown or already past)",
        formula=_days_to_renewal,
        words=lambda v, r: (
            f"contract renews in {v:.0f} days" if v >= 0 else f"renewal was due {-v:.0f} days ago"
        ),
        direction=-1,
        direction_reason="a renewal coming up makes the customer weigh every problem",
    ),
    Feature(
        "account_open_tickets",
        "account",
        "int",
        "the account's open tickets now (this one included)",
        formula=lambda x: (
            x.at("created_by_account", x.account_code) - x.at("closed_by_account", x.account_code)
        ),
        words=lambda v, r: f"account has {int(v)} open tickets",
        topic="account tickets",
    ),
    Feature(
        "account_tickets_30d",
        "account",
        "int",
        "tickets the account opened in the last 30 days",
        formula=lambda x: x.window("created_by_account", x.account_code, 24 * 30),
        words=lambda v, r: f"account opened {int(v)} tickets in 30 days",
        topic="account tickets",
    ),
    Feature(
        "account_tickets_90d",
        "account",
        "int",
        "tickets the account opened in the last 90 days",
        formula=lambda x: x.window("created_by_account", x.account_code, 24 * 90),
        words=lambda v, r: f"account opened {int(v)} tickets in 90 days",
        topic="account tickets",
    ),
    Feature(
        "account_escalations_365d",
        "account",
        "int",
        "escalations of the account's tickets in the last 365 days (known by as_of)",
        formula=lambda x: x.window("escalations_by_account", x.account_code, 24 * 365),
        words=lambda v, r: f"account had {int(v)} escalations in the past year",
        direction=1,
        direction_reason="an account that escalated before knows the way and does again",
    ),
    Feature(
        "account_sentiment_30d",
        "account",
        "float",
        "mean sentiment of the account's customer messages in the last 30 days",
        formula=_sentiment_30d,
        words=lambda v, r: f"account's messages this month read {tone(v)}",
        direction=-1,
        direction_reason="an account whose messages read negative this month is unhappy",
    ),
)
