"""The escalation brief: artifacts, timeline, customer and risk indicators, by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from features.text import RISK_INTENTS
from serving.services.brief import artifacts, brief, first_reply_time, risk_indicators

NAN = float("nan")


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


# -------------------------------------------------------------------------------- artifacts
def test_artifacts_in_order_of_appearance_once_each():
    texts = [
        "see https://status.example.com/incident/42. thanks",
        "invoice INV-20931 failed with ERR-504 and HTTP 502; logs in trace.har, app v2.14.1",
        "CVE-2024-12345 again, see case #4521 and https://status.example.com/incident/42",
    ]
    assert artifacts(texts) == [
        "https://status.example.com/incident/42",  # the trailing full stop is not part of it
        "INV-20931",
        "ERR-504",
        "HTTP 502",
        "trace.har",
        "v2.14.1",
        "CVE-2024-12345",
        "#4521",
    ]


def test_artifacts_ignore_ordinary_words_and_stop_at_the_limit():
    assert artifacts(["please fix the export, it is broken since 9 am"]) == []
    assert artifacts(["#100 #200 #300"], limit=2) == ["#100", "#200"]


# --------------------------------------------------------------------------- risk indicators
def test_a_calm_ticket_has_no_risk_indicators():
    row = {
        "sla_breached": 0.0,
        **{f"customer_intent_{i}": 0.0 for i in RISK_INTENTS},
        "ticket_reopen_count": 0.0,
        "ticket_handoff_count": 1.0,  # one handoff is routine
        "ticket_bounceback_count": 0.0,
        "ticket_unanswered_count": 1.0,
        "customer_intent_followup_count": 1.0,
        "account_escalations_365d": 0.0,
        "ticket_waiting_h": 3.9,
        "customer_sentiment_drop": 0.4,
        "account_strategic": 0.0,
        "account_arr": 199_999.0,
        "account_days_to_renewal": 91.0,
    }
    assert risk_indicators(row) == []
    assert risk_indicators({}) == []
    assert risk_indicators({"account_days_to_renewal": -5.0, "ticket_waiting_h": NAN}) == []


def test_risk_indicators_in_their_order():
    row = {
        "sla_breached": 1.0,
        "customer_intent_legal": 1.0,
        "customer_intent_churn": 0.0,
        "ticket_reopen_count": 2.0,
        "ticket_handoff_count": 1.0,
        "ticket_bounceback_count": 0.0,
        "ticket_unanswered_count": 3.0,
        "customer_intent_followup_count": 2.0,
        "account_escalations_365d": 0.0,
        "ticket_waiting_h": 5.0,
        "ticket_priority_current": 2.0,
        "customer_sentiment_drop": 0.6,
        "account_strategic": 1.0,
        "account_arr": 250_000.0,
        "account_days_to_renewal": 45.0,
    }
    assert risk_indicators(row) == [
        "first-response SLA breached",
        "customer has mentioned legal action",
        "reopened 2 times",
        "3 customer messages without an answer",
        "customer has chased for updates 2 times",
        "customer has waited 5.0 h for a reply; SLA is 2 h",
        "customer sentiment has soured by 0.60 since the first message",
        "strategic account",
        "account ARR $250k",
        "contract renews in 45 days",
    ]


def test_renewal_window_is_inclusive():
    assert risk_indicators({"account_days_to_renewal": 90.0}) == ["contract renews in 90 days"]
    assert risk_indicators({"account_days_to_renewal": 0.0}) == ["contract renews in 0 days"]


# ------------------------------------------------------------------------ first reply, brief
def test_first_reply_time():
    created = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    assert first_reply_time(created, {"ticket_first_response_h": 1.5}) == at(10, 30)
    assert first_reply_time(created, {"ticket_first_response_h": NAN}) is None
    assert first_reply_time(created, {}) is None


def _events() -> pd.DataFrame:
    rows = [
        # ts, type, agent, team, tier, status, priority, csat, sentiment, intents, text
        (
            at(9),
            "customer_message",
            None,
            None,
            NAN,
            None,
            None,
            NAN,
            -0.7,
            {"outage"},
            "Our export fails with ERR-504, see https://x.example.com/a",
        ),
        (at(9, 5), "assignment", "ag1", "frontline", 1.0, None, None, NAN, NAN, set(), None),
        (at(9, 30), "agent_message", "ag1", None, NAN, None, None, NAN, NAN, set(), "looking"),
        (
            at(10),
            "status_change",
            None,
            None,
            NAN,
            "pending_customer",
            None,
            NAN,
            NAN,
            set(),
            None,
        ),
        (at(11), "customer_message", None, None, NAN, None, None, NAN, 0.1, set(), "ok thanks"),
        (at(12), "priority_change", None, None, NAN, None, "P1", NAN, NAN, set(), None),
        (at(13), "reopened", None, None, NAN, None, None, NAN, NAN, set(), None),
        (at(13, 30), "internal_note", "ag1", None, NAN, None, None, NAN, NAN, set(), "note"),
        (at(14), "csat", None, None, NAN, None, None, 2.0, NAN, set(), None),
    ]
    cols = ("ts", "event_type", "agent_id", "team", "tier", "status", "priority", "csat")
    out = pd.DataFrame([dict(zip(cols, r[:8], strict=True)) for r in rows])
    out["ts"] = pd.to_datetime(out["ts"], utc=True)
    out["sentiment"] = [r[8] for r in rows]
    for intent in RISK_INTENTS:
        out[f"intent_{intent}"] = [1.0 if intent in r[9] else 0.0 for r in rows]
    out["text"] = [r[10] for r in rows]
    return out


ACCOUNT = {
    "account_id": "a1",
    "plan": "enterprise",
    "arr": 250_000.0,
    "strategic": True,
    "region": "EMEA",
    "industry": None,
}
TICKET = {
    "ticket_id": "t1",
    "created_at": pd.Timestamp("2026-03-02 09:00", tz="UTC"),
    "channel": "email",
    "product_area": "api",
    "subject": "Export broken in v1.2.3",
    "priority": "P2",
}
ROW = {
    "sla_breached": 1.0,
    "account_arr_tier": 3.0,
    "account_days_to_renewal": 45.04,
    "account_open_tickets": 2.0,
    "account_escalations_365d": NAN,
}


def test_brief_customer_and_artifacts():
    out = brief(ROW, ACCOUNT, TICKET, _events(), at(9, 30), at(11))
    assert out["customer"] == {
        "account_id": "a1",
        "plan": "enterprise",
        "arr": 250_000,
        "arr_tier": 3,
        "strategic": True,
        "region": "EMEA",
        "industry": None,
        "days_to_renewal": 45.0,
        "open_tickets": 2,
        "escalations_365d": None,
        "channel": "email",
        "product_area": "api",
        "subject": "Export broken in v1.2.3",
    }
    assert out["artifacts"] == ["v1.2.3", "https://x.example.com/a", "ERR-504"]
    assert out["risk_indicators"] == ["first-response SLA breached", "contract renews in 45 days"]


def test_brief_timeline_holds_the_key_events_in_time_order():
    out = brief(ROW, ACCOUNT, TICKET, _events(), at(9, 30), at(11))
    assert [(t["ts"], t["what"]) for t in out["timeline"]] == [
        (at(9), "ticket created"),
        (at(9), "customer message: outage (reads negative)"),
        (at(9, 5), "assigned to frontline at tier 1 (ag1)"),
        (at(9, 30), "first agent reply"),
        (at(10), "status -> pending_customer"),
        (at(11), "first-response SLA breached"),
        (at(12), "priority -> P1"),
        (at(13), "reopened by the customer"),
        (at(14), "CSAT 2/5"),
    ]


def test_brief_timeline_keeps_the_start_and_the_latest():
    out = brief(ROW, ACCOUNT, TICKET, _events(), at(9, 30), at(11), limit=4)
    assert [t["what"] for t in out["timeline"]] == [
        "ticket created",
        "priority -> P1",
        "reopened by the customer",
        "CSAT 2/5",
    ]


def test_no_reply_and_no_breach_leave_the_timeline_alone():
    row = {**ROW, "sla_breached": 0.0}
    events = _events().iloc[:2]
    out = brief(row, ACCOUNT, {**TICKET, "subject": None}, events, None, at(11))
    assert [t["what"] for t in out["timeline"]] == [
        "ticket created",
        "customer message: outage (reads negative)",
        "assigned to frontline at tier 1 (ag1)",
    ]
    assert out["risk_indicators"] == ["contract renews in 45 days"]


@pytest.mark.parametrize(
    ("sentiment", "intents", "line"),
    [
        (-0.7, set(), "customer message (reads negative)"),
        (-0.4, set(), None),  # mildly negative, no risk: not a key event
        (0.5, {"legal", "churn"}, "customer message: legal, churn (reads positive)"),
        (NAN, {"billing"}, "customer message: billing"),
    ],
)
def test_which_customer_messages_enter_the_timeline(sentiment, intents, line):
    events = _events().iloc[:1].copy()
    events["sentiment"] = sentiment
    for intent in RISK_INTENTS:
        events[f"intent_{intent}"] = 1.0 if intent in intents else 0.0
    out = brief({}, ACCOUNT, TICKET, events, None, at(11))
    lines = [t["what"] for t in out["timeline"][1:]]
    assert lines == ([] if line is None else [line])
