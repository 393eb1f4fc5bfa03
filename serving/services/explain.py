"""Why a ticket scored what it did: its strongest TreeSHAP contributions, in plain words.

Reasons are the exact TreeSHAP contributions of the LightGBM model (log-odds of its raw score, the
bias excluded), worded from the feature's value. Routing, severity and the SLA clock live in
:mod:`serving.services.routing`; the escalation brief in :mod:`serving.services.brief`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from features.calendar import SLA_HOURS
from features.registry import BY_NAME, FEATURE_NAMES
from serving.services.values import is_missing

_Row = dict[str, object]


def _h(v: float) -> str:
    return f"{v:.1f} h" if v < 48 else f"{v / 24:.1f} days"


def _money(v: float) -> str:
    return f"${v / 1e6:.1f}M" if v >= 1e6 else f"${v / 1e3:.0f}k"


def _times(n: float, one: str, many: str) -> str:
    n = int(n)
    return f"{one}" if n == 1 else f"{many.format(n=n)}"


def _sla_h(row: _Row) -> str:
    p = row.get("ticket_priority_current")
    return f"{SLA_HOURS.get(f'P{int(p)}', 8.0):g} h" if _num(p) else "8 h"


def _num(v: object) -> bool:
    return isinstance(v, int | float | np.floating | np.integer) and math.isfinite(float(v))


# Feature -> sentence from its value (and the rest of the row). Missing: the generic wording.
_WORDS: dict[str, Callable[[float, _Row], str]] = {
    "ticket_waiting_h": lambda v, r: (
        f"customer has waited {_h(v)} for a reply; SLA is {_sla_h(r)}"
        if v > 0
        else "customer is not waiting for a reply"
    ),
    "ticket_longest_wait_h": lambda v, r: f"longest wait for a reply so far: {_h(v)}",
    "ticket_first_response_h": lambda v, r: f"first reply came after {_h(v)}",
    "ticket_since_agent_h": lambda v, r: f"{_h(v)} since the last agent message",
    "ticket_age_h": lambda v, r: f"ticket open for {_h(v)}",
    "sla_breached": lambda v, r: "first-response SLA missed" if v else "first-response SLA met",
    "sla_consumed_share": lambda v, r: f"{v:.0%} of the first-response SLA used",
    "sla_hours_to_breach": lambda v, r: (
        f"first-response SLA breached {_h(-v)} ago"
        if v < 0
        else f"first-response SLA breaches in {_h(v)}"
    ),
    "ticket_reopen_count": lambda v, r: (
        "never reopened" if v == 0 else _times(v, "reopened once", "reopened {n} times")
    ),
    "ticket_handoff_count": lambda v, r: (
        "no handoffs" if v == 0 else _times(v, "handed off once", "handed off {n} times")
    ),
    "ticket_bounceback_count": lambda v, r: (
        "no bouncebacks"
        if v == 0
        else _times(v, "bounced back to a team once", "bounced back to a team {n} times")
    ),
    "ticket_tier_current": lambda v, r: f"held by tier {int(v)}",
    "ticket_tier_max": lambda v, r: f"has reached tier {int(v)}",
    "ticket_unanswered_count": lambda v, r: f"{int(v)} customer messages without an answer",
    "ticket_priority_current": lambda v, r: f"priority P{int(v)}",
    "ticket_priority_changes": lambda v, r: f"priority changed {int(v)} times",
    "customer_sentiment_last": lambda v, r: f"latest customer message reads {_tone(v)} ({v:+.2f})",
    "customer_sentiment_min": lambda v, r: f"most negative customer message: {v:+.2f}",
    "customer_sentiment_mean": lambda v, r: f"customer messages read {_tone(v)} on average",
    "customer_sentiment_drop": lambda v, r: (
        f"customer sentiment has soured by {v:.2f} since the first message"
        if v > 0
        else f"customer sentiment has improved by {-v:.2f} since the first message"
    ),
    "customer_negative_share": lambda v, r: f"{v:.0%} of customer messages read negative",
    "customer_intent_legal": lambda v, r: (
        "customer has mentioned legal action" if v else "no legal threat"
    ),
    "customer_intent_churn": lambda v, r: (
        "customer has mentioned cancelling or switching" if v else "no churn threat"
    ),
    "customer_intent_executive": lambda v, r: (
        "customer has asked for a manager or executive" if v else "no request for a manager"
    ),
    "customer_intent_security": lambda v, r: (
        "customer has raised a security concern" if v else "no security concern"
    ),
    "customer_intent_billing": lambda v, r: (
        "customer disputes a charge" if v else "no billing dispute"
    ),
    "customer_intent_outage": lambda v, r: (
        "customer reports an outage" if v else "no outage reported"
    ),
    "customer_intent_followup_count": lambda v, r: (
        f"customer has chased for updates {int(v)} times"
    ),
    "customer_intensity_max": lambda v, r: (
        f"strongest message: {int(v)} exclamation marks/caps words"
    ),
    "customer_message_count": lambda v, r: f"{int(v)} customer messages so far",
    "account_arr": lambda v, r: f"account ARR {_money(v)}",
    "account_arr_tier": lambda v, r: f"account ARR tier {int(v)} of 4",
    "account_strategic": lambda v, r: "strategic account" if v else "not a strategic account",
    "account_days_to_renewal": lambda v, r: (
        f"contract renews in {v:.0f} days" if v >= 0 else f"renewal was due {-v:.0f} days ago"
    ),
    "account_escalations_365d": lambda v, r: f"account had {int(v)} escalations in the past year",
    "account_open_tickets": lambda v, r: f"account has {int(v)} open tickets",
    "account_tickets_30d": lambda v, r: f"account opened {int(v)} tickets in 30 days",
    "account_sentiment_30d": lambda v, r: f"account's messages this month read {_tone(v)}",
    "agent_backlog": lambda v, r: f"assigned agent holds {int(v)} open tickets",
    "team_backlog": lambda v, r: f"assigned team holds {int(v)} open tickets",
    "area_tickets_24h": lambda v, r: f"{int(v)} tickets on this product area in 24 h",
    "area_open_tickets": lambda v, r: f"{int(v)} open tickets on this product area",
}


def _tone(v: float) -> str:
    return "negative" if v < -0.3 else "positive" if v > 0.3 else "neutral"


def describe(feature: str, value: object, row: _Row) -> str:
    """One plain sentence for a feature's value."""
    if is_missing(value):
        return f"{BY_NAME[feature].description}: unknown"
    words = _WORDS.get(feature)
    if words is not None and _num(value):
        return words(float(value), row)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{BY_NAME[feature].description}: {value}"


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
