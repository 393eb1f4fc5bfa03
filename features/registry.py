"""The feature registry: every feature declared once, with group, dtype and a description.

The feature set is versioned: the version string carries a hash of the declarations, so a model
trained on one set refuses input built by another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

DType = Literal["float", "int", "bool", "category"]


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    dtype: DType
    description: str


_F = Feature
FEATURES: tuple[Feature, ...] = (
    # -- text: from customer messages, via the sentiment transformer and its intent heads
    _F(
        "customer_sentiment_last",
        "text",
        "float",
        "sentiment of the latest customer message, -1..1",
    ),
    _F("customer_sentiment_mean", "text", "float", "mean sentiment of customer messages so far"),
    _F("customer_sentiment_min", "text", "float", "most negative customer message so far"),
    _F("customer_sentiment_first", "text", "float", "sentiment of the first customer message"),
    _F("customer_sentiment_drop", "text", "float", "first minus latest sentiment (>0: souring)"),
    _F(
        "customer_sentiment_trend_last3",
        "text",
        "float",
        "latest sentiment minus the mean of up to 3 customer messages before it",
    ),
    _F("customer_negative_share", "text", "float", "share of customer messages read as negative"),
    _F("customer_intent_legal", "text", "bool", "a legal threat has been made"),
    _F("customer_intent_churn", "text", "bool", "cancellation or switching has been mentioned"),
    _F("customer_intent_executive", "text", "bool", "a manager or executive has been demanded"),
    _F("customer_intent_security", "text", "bool", "a security or breach concern was raised"),
    _F("customer_intent_billing", "text", "bool", "a billing dispute was raised"),
    _F("customer_intent_outage", "text", "bool", "an outage was reported"),
    _F("customer_intent_followup_count", "text", "int", "messages read as 'any update?' chasers"),
    _F(
        "customer_intensity_last",
        "text",
        "float",
        "exclamation marks plus all-caps words in the latest customer message",
    ),
    _F("customer_intensity_max", "text", "float", "highest intensity of any customer message"),
    _F(
        "customer_message_length_last",
        "text",
        "float",
        "characters in the latest customer message",
    ),
    _F("customer_message_count", "text", "int", "customer messages so far"),
    # -- timing and SLA
    _F("ticket_age_h", "timing", "float", "hours since the ticket was created"),
    _F(
        "ticket_first_response_h",
        "timing",
        "float",
        "hours from creation to the first agent reply; NaN while there is none",
    ),
    _F(
        "ticket_waiting_h",
        "timing",
        "float",
        "hours the customer has been waiting for a reply right now (0 if not waiting)",
    ),
    _F(
        "ticket_longest_wait_h",
        "timing",
        "float",
        "longest time the customer waited for a reply, the current wait included",
    ),
    _F(
        "ticket_since_agent_h",
        "timing",
        "float",
        "hours since the last agent message (or creation)",
    ),
    _F(
        "sla_consumed_share",
        "timing",
        "float",
        "share of the first-response SLA used (business-hours aware); >1 when breached",
    ),
    _F("sla_breached", "timing", "bool", "the first-response SLA was missed"),
    _F(
        "sla_hours_to_breach",
        "timing",
        "float",
        "wall-clock hours until the first-response deadline (<0 past it; NaN once answered)",
    ),
    _F("ticket_in_business_hours", "timing", "bool", "as_of falls in business hours"),
    # -- process
    _F("ticket_reopen_count", "process", "int", "times the ticket was reopened"),
    _F("ticket_handoff_count", "process", "int", "reassignments after the first assignment"),
    _F("ticket_tier_current", "process", "float", "tier holding the ticket (1-3; NaN if none)"),
    _F("ticket_tier_max", "process", "float", "highest tier reached so far"),
    _F("ticket_tier_changes", "process", "int", "assignments that changed the tier"),
    _F("ticket_bounceback_count", "process", "int", "assignments back to a team already visited"),
    _F("ticket_agent_count", "process", "int", "distinct agents who acted or were assigned"),
    _F(
        "ticket_unanswered_count",
        "process",
        "int",
        "customer messages since the last agent message",
    ),
    _F("ticket_priority_current", "process", "int", "current priority (1 = P1 .. 3 = P3)"),
    _F("ticket_priority_initial", "process", "int", "priority at creation (1 = P1 .. 3 = P3)"),
    _F("ticket_priority_changes", "process", "int", "priority changes so far"),
    _F("ticket_status_changes", "process", "int", "status changes so far"),
    _F("ticket_pending_customer", "process", "bool", "the ticket waits on the customer now"),
    _F(
        "ticket_customer_agent_ratio",
        "process",
        "float",
        "customer messages per agent message (agent messages + 1)",
    ),
    _F("ticket_internal_note_count", "process", "int", "internal notes so far"),
    _F("ticket_event_count", "process", "int", "events so far"),
    # -- account
    _F("account_arr", "account", "float", "annual recurring revenue, USD (NaN if unknown)"),
    _F(
        "account_arr_tier",
        "account",
        "float",
        "ARR tier: 0 <10k, 1 <50k, 2 <200k, 3 <500k, 4 >=500k (NaN if unknown)",
    ),
    _F("account_strategic", "account", "bool", "named strategic account"),
    _F("account_plan", "account", "category", "commercial plan"),
    _F("account_days_to_renewal", "account", "float", "days until the contract renewal"),
    _F("account_age_days", "account", "float", "days since the account was created"),
    _F(
        "account_open_tickets",
        "account",
        "int",
        "the account's open tickets now (this one included)",
    ),
    _F("account_tickets_30d", "account", "int", "tickets the account opened in the last 30 days"),
    _F("account_tickets_90d", "account", "int", "tickets the account opened in the last 90 days"),
    _F(
        "account_escalations_365d",
        "account",
        "int",
        "escalations of the account's tickets in the last 365 days (known by as_of)",
    ),
    _F(
        "account_sentiment_30d",
        "account",
        "float",
        "mean sentiment of the account's customer messages in the last 30 days",
    ),
    # -- context
    _F(
        "area_tickets_24h",
        "context",
        "int",
        "tickets opened in the same product area in the last 24 h (outage signal)",
    ),
    _F("area_open_tickets", "context", "int", "open tickets in the same product area now"),
    _F("agent_backlog", "context", "float", "open tickets held by the assigned agent now"),
    _F("team_backlog", "context", "float", "open tickets held by the assigned team now"),
    _F("ticket_channel", "context", "category", "channel the ticket came in by"),
    _F("ticket_product_area", "context", "category", "product area"),
    _F("ticket_hour_utc", "context", "int", "hour of day of as_of, UTC"),
    _F("ticket_weekday", "context", "int", "weekday of as_of (Monday = 0)"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
CATEGORICAL: tuple[str, ...] = tuple(f.name for f in FEATURES if f.dtype == "category")
BY_NAME = {f.name: f for f in FEATURES}

_MAJOR = "1"
FEATURE_SET_VERSION = (
    f"{_MAJOR}."
    + hashlib.sha256(
        "|".join(f"{f.name}:{f.dtype}:{f.group}" for f in FEATURES).encode()
    ).hexdigest()[:8]
)


def feature_table() -> list[dict[str, str]]:
    """The registry as rows (name, group, dtype, description) for printing or logging."""
    return [
        {"name": f.name, "group": f.group, "dtype": f.dtype, "description": f.description}
        for f in FEATURES
    ]
