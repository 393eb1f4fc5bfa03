"""Routing, severity and the SLA clock (README, "Routing"), against values worked out by hand.

Calendar facts used below: 2026-03-02 is a Monday; business hours are Monday-Friday
08:00-18:00 UTC; P1 is 30 wall-clock minutes, P2 2 business hours, P3 8 business hours.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from features.calendar import business_calendar
from serving.services.routing import route, severity, sla_clock

NAN = float("nan")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def at(text: str) -> datetime:
    return ts(text).to_pydatetime()


# ------------------------------------------------------------------------------------ route
@pytest.mark.parametrize(
    ("action", "row", "route_to", "why"),
    [
        (
            "none",
            {"ticket_tier_current": 2.0},
            "tier2",
            "below the escalate threshold: stays with its current tier",
        ),
        (
            "watch",
            {"ticket_tier_current": NAN},  # no assignment yet: tier 1
            "tier1",
            "on the watch list: stays with its current tier, flagged for review",
        ),
    ],
)
def test_below_escalate_the_ticket_stays_where_it_is(action, row, route_to, why):
    assert route(action, False, "security", row) == {
        "action": action,
        "route_to": route_to,
        "executive": False,
        "kind": None,
        "team": None,
        "why": why,
    }


def test_executive_only_when_escalating():
    assert route("escalate", True, "billing_dispute", {"ticket_tier_current": 1}) == {
        "action": "escalate",
        "route_to": "executive",
        "executive": True,
        "kind": "executive",
        "team": None,
        "why": "executive escalation: executive sponsor and tier-3 owner",
    }
    # The executive band needs an escalate decision.
    assert route("watch", True, "security", {"ticket_tier_current": 1})["route_to"] == "tier1"


@pytest.mark.parametrize(
    ("etype", "tier", "route_to", "team", "why"),
    [
        (
            "billing_dispute",
            1.0,
            "tier2",
            "billing specialists",
            "billing dispute: specialist team at tier 2",
        ),
        (
            "billing_dispute",
            3.0,  # never down: already at tier 3
            "tier3",
            "billing specialists",
            "billing dispute: specialist team at tier 3",
        ),
        (
            "contract_legal",
            1.0,
            "tier2",
            "legal and account management",
            "contract legal: specialist team at tier 2",
        ),
        ("security", 1.0, "tier3", "security response", "security: specialist team at tier 3"),
    ],
)
def test_functional_escalations_go_to_the_specialists(etype, tier, route_to, team, why):
    assert route("escalate", False, etype, {"ticket_tier_current": tier}) == {
        "action": "escalate",
        "route_to": route_to,
        "executive": False,
        "kind": "functional",
        "team": team,
        "why": why,
    }


@pytest.mark.parametrize(
    ("etype", "row", "route_to", "why"),
    [
        (
            "technical_failure",
            {"ticket_tier_current": 1.0, "ticket_tier_max": 1.0},
            "tier2",
            "technical failure: up from tier 1 to tier 2",
        ),
        (
            # Bounced back down to tier 1 after reaching tier 2: up past the highest tier.
            "technical_failure",
            {"ticket_tier_current": 1.0, "ticket_tier_max": 2.0},
            "tier3",
            "technical failure: up from tier 1 to tier 3",
        ),
        ("other", {}, "tier2", "other: up from tier 1 to tier 2"),
        (
            "technical_failure",
            {"ticket_tier_current": 3.0, "ticket_tier_max": 3.0},  # nowhere higher
            "tier3",
            "technical failure: up from tier 3 to tier 3",
        ),
    ],
)
def test_hierarchical_escalations_go_one_tier_up(etype, row, route_to, why):
    assert route("escalate", False, etype, row) == {
        "action": "escalate",
        "route_to": route_to,
        "executive": False,
        "kind": "hierarchical",
        "team": None,
        "why": why,
    }


# --------------------------------------------------------------------------------- severity
@pytest.mark.parametrize(
    ("action", "executive", "etype", "priority", "as_of", "level", "minutes", "due"),
    [
        # Escalations: P1 for executive, security or a P1 ticket; else P2. P3 otherwise.
        # (The policy flags executive only with an escalate decision.)
        ("escalate", True, "other", 3.0, "2026-03-02 09:00", "P1", 30, "2026-03-02 09:30"),
        ("escalate", False, "security", 3.0, "2026-03-02 09:00", "P1", 30, "2026-03-02 09:30"),
        ("escalate", False, "other", 1.0, "2026-03-02 09:00", "P1", 30, "2026-03-02 09:30"),
        ("escalate", False, "other", 2.0, "2026-03-02 09:00", "P2", 120, "2026-03-02 11:00"),
        ("escalate", False, "other", NAN, "2026-03-02 09:00", "P2", 120, "2026-03-02 11:00"),
        ("watch", False, "security", 1.0, "2026-03-02 09:00", "P3", 480, "2026-03-02 17:00"),
        # P1 runs on the wall clock, through the evening and the weekend.
        ("escalate", True, "other", 2.0, "2026-03-06 17:50", "P1", 30, "2026-03-06 18:20"),
        ("escalate", True, "other", 2.0, "2026-03-07 23:45", "P1", 30, "2026-03-08 00:15"),
        # P2/P3 count business hours: Friday 17:00 + 2 h = Monday 09:00.
        ("escalate", False, "other", 2.0, "2026-03-06 17:00", "P2", 120, "2026-03-09 09:00"),
        # Saturday: the clock starts Monday 08:00.
        ("escalate", False, "other", 2.0, "2026-03-07 10:00", "P2", 120, "2026-03-09 10:00"),
        # Monday 15:00 + 8 h = 3 h on Monday, 5 h on Tuesday: 13:00.
        ("none", False, "other", 2.0, "2026-03-02 15:00", "P3", 480, "2026-03-03 13:00"),
    ],
)
def test_severity_level_and_deadline(
    action, executive, etype, priority, as_of, level, minutes, due
):
    row = {"ticket_priority_current": priority}
    out = severity(action, executive, etype, row, ts(as_of), ts(as_of), business_calendar())
    assert out["level"] == level
    assert out["respond_within_minutes"] == minutes
    assert out["respond_by"] == at(due)


def test_minutes_left_count_from_now():
    as_of = ts("2026-03-02 09:00")
    cal = business_calendar()
    row = {"ticket_priority_current": 2.0}
    # P2 due 11:00; asked at 09:30: 90 minutes left. Asked at 11:30: 30 minutes late.
    assert severity("escalate", False, "other", row, as_of, ts("2026-03-02 09:30"), cal)[
        "minutes_left"
    ] == pytest.approx(90.0)
    assert severity("escalate", False, "other", row, as_of, ts("2026-03-02 11:30"), cal)[
        "minutes_left"
    ] == pytest.approx(-30.0)
    # Seconds below a whole second are dropped from the deadline: 09:00:30.7 -> 11:00:30.
    late = severity("escalate", False, "other", row, ts("2026-03-02 09:00:30.7"), as_of, cal)
    assert late["respond_by"] == at("2026-03-02 11:00:30")
    assert late["minutes_left"] == pytest.approx(120.5)


# -------------------------------------------------------------------------------- sla clock
def test_an_open_unanswered_ticket_counts_down():
    row = {"ticket_first_response_h": NAN, "sla_hours_to_breach": 1.254, "sla_breached": 0.0}
    out = sla_clock(row, ts("2026-03-02 09:00"), "P2", ts("2026-03-02 09:45"), business_calendar())
    assert out == {
        "priority": "P2",
        "first_response_due": at("2026-03-02 11:00"),
        "answered": False,
        "breached": False,
        "hours_left": 1.25,
    }


def test_a_breached_unanswered_ticket_shows_negative_hours():
    row = {"ticket_first_response_h": NAN, "sla_hours_to_breach": -3.456, "sla_breached": 1.0}
    out = sla_clock(row, ts("2026-03-06 16:00"), "P3", ts("2026-03-09 17:27"), business_calendar())
    # Friday 16:00 + 8 business hours: 2 h on Friday, 6 h on Monday -> Monday 14:00.
    assert out["first_response_due"] == at("2026-03-09 14:00")
    assert (out["answered"], out["breached"], out["hours_left"]) == (False, True, -3.46)


def test_an_answered_ticket_has_no_clock():
    row = {"ticket_first_response_h": 0.5, "sla_hours_to_breach": 1.5, "sla_breached": 0.0}
    out = sla_clock(row, ts("2026-03-06 17:50"), "P1", ts("2026-03-06 19:00"), business_calendar())
    assert out["first_response_due"] == at("2026-03-06 18:20")  # P1: wall clock
    assert (out["answered"], out["breached"], out["hours_left"]) == (True, False, None)


def test_a_ticket_created_off_hours_starts_at_opening():
    out = sla_clock({}, ts("2026-03-01 22:00"), "P2", ts("2026-03-02 09:00"), business_calendar())
    # Sunday 22:00: the two business hours run Monday 08:00-10:00.
    assert out["first_response_due"] == at("2026-03-02 10:00")
    assert (out["answered"], out["breached"], out["hours_left"]) == (False, False, None)


def test_a_trigger_that_raised_the_action_is_named_first() -> None:
    out = route("escalate", False, "other", {"ticket_tier_current": 1.0}, ("sla_breached",))
    assert out["why"].startswith("raised by trigger sla_breached; ")
    assert out["route_to"] == "tier2"
