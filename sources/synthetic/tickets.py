"""What a new synthetic ticket looks like: category, area, priority, channel, first mood.

The category decides the product area, the tier needed to solve it, how helpful replies are and
how severe an escalation of it would be; the account's ARR, temperament and renewal date, and a
running outage, set the frustration the customer starts with. The account's value, renewal
proximity and escalation history set the rate of a silent (internal) escalation. Some customers
write angrier than they are (``vent``): their tone is raised, their hazard is not.
"""

from __future__ import annotations

import math
import random
from typing import Any

from features.calendar import Calendar, sla_deadline
from sources.synthetic.demands import ASSERTIVE_P
from sources.synthetic.state import (
    B_ARR,
    B_STRATEGIC,
    OUTAGE_SEVERITY,
    SEVERITY,
    SILENT_ARR,
    SILENT_H0,
    SILENT_HISTORY,
    SILENT_P1,
    SILENT_RENEWAL,
    SILENT_STRATEGIC,
    TicketState,
)

CATEGORIES = ("billing", "technical", "howto", "contract", "security")
CATEGORY_P = (0.18, 0.42, 0.22, 0.08, 0.10)
CATEGORY_F0 = {
    "billing": 0.08,
    "technical": 0.03,
    "howto": -0.04,
    "contract": 0.06,
    "security": 0.10,
}
# How often a reply at the right tier moves the ticket forward, by category; a misrouted ticket
# bounces back from a specialist team with BOUNCE_P.
HELPFULNESS = {"howto": 0.8, "billing": 0.7, "technical": 0.6, "contract": 0.65, "security": 0.6}
BOUNCE_P = 0.15
VENT_P = 0.12  # share of customers who write angrier than they are
CHANNELS = ("email", "web", "chat", "phone")
CHANNEL_P = (0.42, 0.25, 0.22, 0.11)
TECH_AREAS = (
    "api",
    "integrations",
    "reporting",
    "mobile_app",
    "data_sync",
    "notifications",
    "webhooks",
    "admin_console",
    "authentication",
)
NEEDED_TIER_P = {  # P(tier 1), P(tier 2), P(tier 3) needed to solve
    "howto": (0.9, 0.1, 0.0),
    "billing": (0.6, 0.4, 0.0),
    "technical": (0.5, 0.38, 0.12),
    "security": (0.0, 0.7, 0.3),
    "contract": (0.1, 0.9, 0.0),
}


def new_ticket(
    rng: random.Random,
    t: float,
    account: dict[str, Any],
    outage: dict[str, Any] | None,
    business: Calendar,
    history: int = 0,
) -> tuple[TicketState, dict[str, Any]]:
    """A new ticket created at ``t`` (epoch hours): its hidden state and its ticket columns.

    ``account`` holds arr, strategic, renewal_h (epoch hours) and temper; ``outage`` (start,
    end, area) is the outage the ticket reports, if any; ``history`` counts the account's
    escalations in the year before ``t``. The columns returned are category, product_area,
    channel and priority.
    """
    if outage is not None:
        category, area = "technical", outage["area"]
        priority = "P1" if rng.random() < 0.4 else ("P2" if rng.random() < 0.8 else "P3")
        needed = 3
    else:
        category = rng.choices(CATEGORIES, CATEGORY_P)[0]
        if category == "billing":
            area = "billing_portal" if rng.random() < 0.8 else "admin_console"
        elif category == "contract":
            area = rng.choice(("admin_console", "billing_portal"))
        elif category == "security":
            area = rng.choice(("authentication", "admin_console", "api"))
        else:
            area = rng.choice(TECH_AREAS)
        p1 = {"security": 0.25, "technical": 0.1}.get(category, 0.04) + 0.06 * account["strategic"]
        u = rng.random()
        priority = (
            "P1" if u < p1 else ("P2" if u < p1 + 0.35 + 0.1 * account["strategic"] else "P3")
        )
        needed = rng.choices((1, 2, 3), NEEDED_TIER_P[category])[0]
    channel = rng.choices(CHANNELS, CHANNEL_P)[0]
    days_to_renewal = (account["renewal_h"] - t) / 24.0
    f0 = (
        0.12
        + CATEGORY_F0[category]
        + account["temper"]
        + 0.12 * (outage is not None)
        + 0.06 * (0 <= days_to_renewal <= 60)
        + rng.gauss(0.0, 0.04)
    )
    s = TicketState()
    s.t = t
    s.created = t
    s.F = min(0.9, max(0.0, f0))
    s.status = "new"
    s.tier, s.team, s.agent = 1, None, None
    s.needed_tier = needed
    s.priority = priority
    s.breached = s.responded = s.unanswered = s.reopens = 0
    s.wait_since = t
    s.visited = set()
    s.clocks = {}
    s.outage = outage is not None
    s.outage_end = outage["end"] if outage is not None else 0.0
    s.category, s.area, s.channel = category, area, channel
    s.arr_log = math.log10(max(account["arr"], 1.0) / 30000.0)
    s.arr_term = B_ARR * s.arr_log + B_STRATEGIC * account["strategic"]
    s.strategic = int(account["strategic"])
    s.severity = SEVERITY[category] + OUTAGE_SEVERITY * (outage is not None)
    s.renewal_near = max(0.0, 1.0 - days_to_renewal / 90.0) if days_to_renewal >= 0 else 0.0
    s.history = history
    s.demand, s.demand_kind, s.demand_at, s.demands, s.defused = 0.0, "", 0.0, 0, 0
    s.nudges, s.heard = 0, False
    s.silent = SILENT_H0 * math.exp(
        SILENT_ARR * s.arr_log
        + SILENT_RENEWAL * s.renewal_near
        + SILENT_HISTORY * min(history, 3)
        + SILENT_STRATEGIC * s.strategic
        + SILENT_P1 * (priority == "P1")
    )
    s.vent = 0.15 + 0.3 * rng.random() if rng.random() < VENT_P else 0.0
    s.assertive = int(rng.random() < ASSERTIVE_P)
    s.trigger = 0.0
    s.bounce_p = BOUNCE_P
    s.load_mult = 1.0
    s.helpfulness = HELPFULNESS[category]
    s.sla_due = sla_deadline(t, priority, business)
    meta = {"category": category, "product_area": area, "channel": channel, "priority": priority}
    return s, meta
