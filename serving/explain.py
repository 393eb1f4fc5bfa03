"""What the service says besides the probability: reasons in plain words, routing, severity,
the SLA clock and the escalation brief.

Reasons are the exact TreeSHAP contributions of the LightGBM model (log-odds of its raw score, the
bias excluded), worded from the feature's value. Routing and severity are documented business
rules over the policy's decision, the escalation type and the ticket's state (README, "Routing").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features.calendar import SLA_HOURS, sla_deadline
from features.registry import BY_NAME, FEATURE_NAMES
from features.text import RISK_INTENTS
from serving.values import is_missing

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


# -------------------------------------------------------------------------------------- routing
# Functional escalations go to a specialist team at the tier that owns the problem.
_SPECIALISTS = {
    "billing_dispute": ("billing specialists", 2),
    "contract_legal": ("legal and account management", 2),
    "security": ("security response", 3),
}


def route(action: str, executive: bool, escalation_type: str, row: _Row) -> dict:
    """Who should take the ticket (see README, "Routing")."""
    current = row.get("ticket_tier_current")
    tier = int(current) if _num(current) else 1
    if action != "escalate":
        why = "below the escalate threshold: stays with its current tier"
        if action == "watch":
            why = "on the watch list: stays with its current tier, flagged for review"
        return {
            "action": action,
            "route_to": f"tier{tier}",
            "executive": False,
            "kind": None,
            "team": None,
            "why": why,
        }
    if executive:
        return {
            "action": action,
            "route_to": "executive",
            "executive": True,
            "kind": "hierarchical",
            "team": None,
            "why": "risk above the executive threshold: executive sponsor and tier-3 owner",
        }
    if escalation_type in _SPECIALISTS:
        team, at = _SPECIALISTS[escalation_type]
        at = max(at, tier)
        return {
            "action": action,
            "route_to": f"tier{at}",
            "executive": False,
            "kind": "functional",
            "team": team,
            "why": f"{escalation_type.replace('_', ' ')}: specialist team at tier {at}",
        }
    up = min(3, max(tier, _int(row.get("ticket_tier_max"), 1)) + 1)
    return {
        "action": action,
        "route_to": f"tier{up}",
        "executive": False,
        "kind": "hierarchical",
        "team": None,
        "why": f"{escalation_type.replace('_', ' ')}: up from tier {tier} to tier {up}",
    }


def _int(v: object, default: int) -> int:
    return int(v) if _num(v) else default


def severity(
    action: str,
    executive: bool,
    escalation_type: str,
    row: _Row,
    as_of: pd.Timestamp,
    now: pd.Timestamp,
    calendar,
) -> dict:
    """P1-P3 for the escalation response and its clock (P1 30 min wall; P2 2 h, P3 8 h
    business hours), counted from as_of (the scoring instant: now, unless the request gave
    one)."""
    prio = _int(row.get("ticket_priority_current"), 3)
    if executive or (action == "escalate" and (escalation_type == "security" or prio == 1)):
        level = "P1"
    elif action == "escalate":
        level = "P2"
    else:
        level = "P3"
    start_h = _hours(as_of)
    due_h = sla_deadline(start_h, level, calendar)
    due = pd.Timestamp(due_h * 3600.0, unit="s", tz="UTC").floor("s")
    return {
        "level": level,
        "respond_within_minutes": int(SLA_HOURS[level] * 60),
        "respond_by": due.to_pydatetime(),
        "minutes_left": round((due - now).total_seconds() / 60.0, 1),
    }


def _hours(ts) -> float:
    """A timestamp as hours since the Unix epoch (the calendar's unit)."""
    return pd.Timestamp(ts).value / 3.6e12  # .value: nanoseconds


def sla_clock(row: _Row, ticket_created: pd.Timestamp, initial: str, as_of, calendar) -> dict:
    """The ticket's first-response SLA at as_of."""
    created_h = _hours(ticket_created)
    due_h = sla_deadline(created_h, initial, calendar)
    due = pd.Timestamp(due_h * 3600.0, unit="s", tz="UTC").floor("s")
    answered = _num(row.get("ticket_first_response_h"))
    left = row.get("sla_hours_to_breach")
    return {
        "priority": initial,
        "first_response_due": due.to_pydatetime(),
        "answered": bool(answered),
        "breached": bool(row.get("sla_breached") == 1),
        "hours_left": None if answered or not _num(left) else round(float(left), 2),
    }


# ---------------------------------------------------------------------------------------- brief
_ARTIFACT_PATTERNS = (
    re.compile(r"https?://[^\s<>\"')]+"),
    re.compile(r"\b(?:INV|INC|CASE|ORD|PO|REQ|CHG|TKT)[-_#]?\d{3,}\b", re.I),
    re.compile(r"\b(?:ERR|E|ERROR)[-_]?\d{3,5}\b"),
    re.compile(r"\bHTTP\s?[45]\d\d\b", re.I),
    re.compile(r"\b[\w.-]+\.(?:log|har|pdf|png|jpe?g|csv|zip|txt|json|xml|dmp)\b", re.I),
    re.compile(r"\bv?\d+\.\d+\.\d+(?:[-+][\w.]+)?\b"),
    re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.I),
    re.compile(r"#\d{3,}\b"),
)


def artifacts(texts: list[str], limit: int = 20) -> list[str]:
    """Things an engineer will ask for: links, error and invoice codes, files, versions, CVEs."""
    found: dict[str, None] = {}
    for text in texts:
        for pattern in _ARTIFACT_PATTERNS:
            for m in pattern.finditer(text):
                found.setdefault(m.group(0).rstrip(".,;:"), None)
                if len(found) >= limit:
                    return list(found)
    return list(found)


_TIMELINE_COLUMNS = (
    "ts",
    "event_type",
    "agent_id",
    "team",
    "tier",
    "status",
    "priority",
    "csat",
    "sentiment",
    *(f"intent_{i}" for i in RISK_INTENTS),
)


def _event_line(ev: dict) -> str | None:
    t = ev["event_type"]
    if t == "assignment":
        who = f" ({ev['agent_id']})" if isinstance(ev.get("agent_id"), str) else ""
        return f"assigned to {ev['team']} at tier {int(ev['tier'])}{who}"
    if t == "status_change":
        return f"status -> {ev['status']}"
    if t == "reopened":
        return "reopened by the customer"
    if t == "priority_change":
        return f"priority -> {ev['priority']}"
    if t == "csat":
        return f"CSAT {int(ev['csat'])}/5"
    if t == "customer_message":
        flags = [i for i in RISK_INTENTS if ev.get(f"intent_{i}", 0) == 1]
        s = ev.get("sentiment")
        if flags or (_num(s) and s < -0.5):
            tone = f"reads {_tone(float(s))}" if _num(s) else ""
            what = ", ".join(flags)
            return (
                "customer message" + (f": {what}" if what else "") + (f" ({tone})" if tone else "")
            )
        return None
    return None


def brief(
    row: _Row,
    account: dict,
    ticket: dict,
    events: pd.DataFrame,
    first_reply: datetime | None,
    sla_due: datetime,
    limit: int = 15,
) -> dict:
    """Customer environment, timeline of key events, artifacts mentioned, risk indicators."""
    customer = {
        "account_id": account.get("account_id"),
        "plan": account.get("plan"),
        "arr": _clean(account.get("arr")),
        "arr_tier": _clean(row.get("account_arr_tier")),
        "strategic": bool(account.get("strategic") or False),
        "region": account.get("region"),
        "industry": account.get("industry"),
        "days_to_renewal": _round(row.get("account_days_to_renewal")),
        "open_tickets": _clean(row.get("account_open_tickets")),
        "escalations_365d": _clean(row.get("account_escalations_365d")),
        "channel": ticket.get("channel"),
        "product_area": ticket.get("product_area"),
        "subject": ticket.get("subject"),
    }
    items: list[tuple[pd.Timestamp, str]] = [(ticket["created_at"], "ticket created")]
    cols = [c for c in _TIMELINE_COLUMNS if c in events.columns]
    arrays = [events[c].to_numpy(dtype=object) for c in cols]
    for values in zip(*arrays, strict=True):
        ev = dict(zip(cols, values, strict=True))
        line = _event_line(ev)
        if line:
            items.append((ev["ts"], line))
    if first_reply is not None:
        items.append((pd.Timestamp(first_reply), "first agent reply"))
    if row.get("sla_breached") == 1:
        items.append((pd.Timestamp(sla_due), "first-response SLA breached"))
    items.sort(key=lambda x: x[0])
    if len(items) > limit:  # keep the start and the most recent
        items = items[:1] + items[-(limit - 1) :]
    texts = [ticket.get("subject") or ""] + [
        t for t in events["text"].tolist() if isinstance(t, str)
    ]
    return {
        "customer": customer,
        "timeline": [{"ts": pd.Timestamp(t).to_pydatetime(), "what": w} for t, w in items],
        "artifacts": artifacts(texts),
        "risk_indicators": risk_indicators(row),
    }


def risk_indicators(row: _Row) -> list[str]:
    out = []
    if row.get("sla_breached") == 1:
        out.append("first-response SLA breached")
    for name in (f"customer_intent_{i}" for i in RISK_INTENTS):
        if row.get(name) == 1:
            out.append(describe(name, 1.0, row))
    for name, at_least in (
        ("ticket_reopen_count", 1),
        ("ticket_handoff_count", 2),
        ("ticket_bounceback_count", 1),
        ("ticket_unanswered_count", 2),
        ("customer_intent_followup_count", 2),
        ("account_escalations_365d", 1),
    ):
        v = row.get(name)
        if _num(v) and v >= at_least:
            out.append(describe(name, v, row))
    if _num(row.get("ticket_waiting_h")) and row["ticket_waiting_h"] >= 4:
        out.append(describe("ticket_waiting_h", row["ticket_waiting_h"], row))
    if _num(row.get("customer_sentiment_drop")) and row["customer_sentiment_drop"] >= 0.5:
        out.append(describe("customer_sentiment_drop", row["customer_sentiment_drop"], row))
    if row.get("account_strategic") == 1:
        out.append("strategic account")
    if _num(row.get("account_arr")) and row["account_arr"] >= 200_000:
        out.append(describe("account_arr", row["account_arr"], row))
    d = row.get("account_days_to_renewal")
    if _num(d) and 0 <= d <= 90:
        out.append(describe("account_days_to_renewal", d, row))
    return out


def _clean(v: object):
    if is_missing(v):
        return None
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return int(v)
    return float(v) if isinstance(v, np.floating) else v


def _round(v: object):
    return None if not _num(v) else round(float(v), 1)


def first_reply_time(created: pd.Timestamp, row: _Row) -> datetime | None:
    h = row.get("ticket_first_response_h")
    return (created + timedelta(hours=float(h))).to_pydatetime() if _num(h) else None
