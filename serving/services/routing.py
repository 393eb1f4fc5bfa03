"""Who takes an escalation and how fast: routing, severity and the first-response SLA clock.

Documented business rules (README, "Routing") over the policy's decision, the escalation type
and the ticket's feature row. Hours are business hours of the support calendar except P1's
30 minutes, which run on the wall clock (see :func:`features.calendar.sla_deadline`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from features.calendar import SLA_HOURS, sla_deadline
from features.catalogue.wording import is_number

_Row = dict[str, object]

# Functional escalations go to a specialist team at the tier that owns the problem.
_SPECIALISTS = {
    "billing_dispute": ("billing specialists", 2),
    "contract_legal": ("legal and account management", 2),
    "security": ("security response", 3),
}


def route(
    action: str, executive: bool, escalation_type: str, row: _Row, raised_by: Sequence[str] = ()
) -> dict:
    """Who should take the ticket (see README, "Routing").

    ``raised_by`` names the policy triggers that set the action above the probability's; the
    answer's ``why`` says so first.
    """
    out = _route(action, executive, escalation_type, row)
    if raised_by:
        out["why"] = f"raised by trigger {', '.join(raised_by)}; {out['why']}"
    return out


def _route(action: str, executive: bool, escalation_type: str, row: _Row) -> dict:
    current = row.get("ticket_tier_current")
    tier = int(current) if is_number(current) else 1
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
            "kind": "executive",
            "team": None,
            "why": "executive escalation: executive sponsor and tier-3 owner",
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
    return int(v) if is_number(v) else default


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
    answered = is_number(row.get("ticket_first_response_h"))
    left = row.get("sla_hours_to_breach")
    return {
        "priority": initial,
        "first_response_due": due.to_pydatetime(),
        "answered": bool(answered),
        "breached": bool(row.get("sla_breached") == 1),
        "hours_left": None if answered or not is_number(left) else round(float(left), 2),
    }
