"""The registry: unique declarations with formulas, a version that follows the formula code, the
declared directions, the features removed as artefacts, and reasons in words."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from features.arrays import US_PER_H
from features.registry import (
    BY_NAME,
    CATEGORICAL,
    EXPLAINABLE,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    FEATURES,
    FORMULA_MODULES,
    MONOTONE_CONSTRAINTS,
    describe,
    direction_table,
    feature_set_version,
    feature_table,
    reasons,
)
from features.text import INTENTS, RISK_INTENTS


def test_registry_has_forty_plus_unique_features():
    assert len(FEATURES) >= 40
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert {f.group for f in FEATURES} == {"text", "timing", "process", "account", "context"}
    assert {f.dtype for f in FEATURES} <= {"float", "int", "bool", "category"}
    assert CATEGORICAL == ("ticket_channel", "ticket_product_area")
    assert BY_NAME["ticket_age_h"].group == "timing"


def test_every_feature_has_a_formula_and_a_description():
    for f in FEATURES:
        assert callable(f.formula), f.name
        assert f.description and "\n" not in f.description, f.name
        assert f.words is None or callable(f.words), f.name


def test_every_intent_has_a_feature():
    names = set(FEATURE_NAMES)
    assert {f"customer_intent_{i}" for i in RISK_INTENTS} <= names
    assert set(INTENTS) - set(RISK_INTENTS) == {"follow_up"}
    assert "customer_intent_followup_count" in names


def test_feature_table_lists_the_registry():
    rows = feature_table()
    assert [r["name"] for r in rows] == list(FEATURE_NAMES)
    assert set(rows[0]) == {"name", "group", "dtype", "description"}


# --------------------------------------------------------------------------------- the version
def _age(x):
    return (x.t - x.created_us) / US_PER_H


def _age_reworded(x):
    """Hours since creation."""
    # Only the comment, the docstring and the layout differ from _age.
    return (x.t - x.created_us) / (US_PER_H)


def _age_changed(x):
    return (x.t - x.created_us) / US_PER_H / 24


def _with(feature: str, /, **changes) -> list:
    """The registry with one feature's fields changed."""
    return [dataclasses.replace(f, **changes) if f.name == feature else f for f in FEATURES]


def test_the_version_is_major_one_and_hashes_the_registry():
    assert FEATURE_SET_VERSION.startswith("1.")
    assert len(FEATURE_SET_VERSION) == len("1.") + 8
    assert feature_set_version(FEATURES) == FEATURE_SET_VERSION


def test_a_changed_formula_is_a_new_version():
    same = feature_set_version(_with("ticket_age_h", formula=_age))
    assert same != FEATURE_SET_VERSION  # a def is other code than the catalogue's lambda
    assert feature_set_version(_with("ticket_age_h", formula=_age_reworded)) == same
    assert feature_set_version(_with("ticket_age_h", formula=_age_changed)) != same
    swapped = feature_set_version(_with("ticket_age_h", formula=lambda x: x.waiting_h))
    assert swapped not in (same, FEATURE_SET_VERSION)


def test_wording_and_descriptions_do_not_count():
    assert feature_set_version(_with("ticket_age_h", words=lambda v, r: "old")) == (
        FEATURE_SET_VERSION
    )
    assert feature_set_version(_with("ticket_age_h", words=None)) == FEATURE_SET_VERSION
    assert feature_set_version(_with("ticket_age_h", description="age")) == FEATURE_SET_VERSION


def test_names_dtypes_groups_order_and_modules_count():
    assert feature_set_version(_with("ticket_age_h", name="ticket_age")) != FEATURE_SET_VERSION
    assert feature_set_version(_with("ticket_age_h", dtype="int")) != FEATURE_SET_VERSION
    assert feature_set_version(_with("ticket_age_h", group="process")) != FEATURE_SET_VERSION
    assert feature_set_version(FEATURES[::-1]) != FEATURE_SET_VERSION
    assert feature_set_version(FEATURES, FORMULA_MODULES[1:]) != FEATURE_SET_VERSION
    names = {m.__name__ for m in FORMULA_MODULES}
    assert {"features.state", "features.context", "features.calendar"} <= names


# ------------------------------------------------------------------------------------- describe
@pytest.mark.parametrize(
    ("feature", "value", "row", "text"),
    [
        (
            "ticket_waiting_h",
            5.0,
            {"ticket_priority_current": 2.0},
            "customer has waited 5.0 h for a reply; SLA is 2 h",
        ),
        (
            "ticket_waiting_h",
            1.0,
            {"ticket_priority_current": 1},
            "customer has waited 1.0 h for a reply; SLA is 0.5 h",
        ),
        (
            "ticket_waiting_h",
            72.0,
            {"ticket_priority_current": np.nan},
            "customer has waited 3.0 days for a reply; SLA is 8 h",
        ),
        ("ticket_waiting_h", 0.0, {}, "customer is not waiting for a reply"),
        ("sla_hours_to_breach", -3.0, {}, "first-response SLA breached 3.0 h ago"),
        ("sla_hours_to_breach", 1.25, {}, "first-response SLA breaches in 1.2 h"),
        ("sla_consumed_share", 1.25, {}, "125% of the first-response SLA used"),
        ("sla_breached", 1.0, {}, "first-response SLA missed"),
        ("ticket_reopen_count", 0.0, {}, "never reopened"),
        ("ticket_reopen_count", np.int64(1), {}, "reopened once"),
        ("ticket_reopen_count", np.float64(3.0), {}, "reopened 3 times"),
        ("ticket_bounceback_count", 2.0, {}, "bounced back to a team 2 times"),
        ("ticket_priority_current", 1.0, {}, "priority P1"),
        ("customer_sentiment_last", -0.5, {}, "latest customer message reads negative (-0.50)"),
        ("customer_sentiment_mean", 0.1, {}, "customer messages read neutral on average"),
        (
            "customer_sentiment_drop",
            -0.25,
            {},
            "customer sentiment has improved by 0.25 since the first message",
        ),
        ("customer_intent_legal", True, {}, "customer has mentioned legal action"),
        ("customer_intent_legal", 0.0, {}, "no legal threat"),
        ("account_arr", 1_500_000.0, {}, "account ARR $1.5M"),
        ("account_arr", 520_000.0, {}, "account ARR $520k"),
        ("account_days_to_renewal", -10.0, {}, "renewal was due 10 days ago"),
        ("account_sentiment_30d", 0.5, {}, "account's messages this month read positive"),
        ("agent_backlog", 7.0, {}, "assigned agent holds 7 open tickets"),
    ],
)
def test_describe_words(feature, value, row, text):
    assert describe(feature, value, row) == text


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("account_arr", float("nan"), "annual recurring revenue, USD (NaN if unknown): unknown"),
        (
            "ticket_waiting_h",
            None,
            (
                "hours the customer has been waiting for a reply right now (0 if not waiting): "
                "unknown"
            ),
        ),
        ("ticket_channel", pd.NA, "channel the ticket came in by: unknown"),
        ("ticket_age_h", pd.NaT, "hours since the ticket was created: unknown"),
        # No words of its own, or not a finite number: the generic wording.
        ("ticket_hour_utc", 14.0, "hour of day of as_of, UTC: 14"),
        ("ticket_weekday", 4.5, "weekday of as_of (Monday = 0): 4.5"),
        ("ticket_channel", "email", "channel the ticket came in by: email"),
        ("ticket_age_h", float("inf"), "hours since the ticket was created: inf"),
        ("ticket_age_h", "soon", "hours since the ticket was created: soon"),
    ],
)
def test_describe_generic(feature, value, text):
    assert describe(feature, value, {}) == text


# ----------------------------------------------------------- directions (monotone constraints)
RISES = {
    "customer_sentiment_drop",
    "customer_negative_share",
    "customer_intent_legal",
    "customer_intent_churn",
    "customer_intent_executive",
    "customer_intent_escalation_request",
    "customer_intent_competitor",
    "customer_intent_renewal",
    "customer_intent_security",
    "customer_intent_followup_count",
    "ticket_first_response_h",
    "ticket_waiting_h",
    "customer_demand_unanswered_h",
    "ticket_longest_wait_h",
    "sla_consumed_share",
    "sla_breached",
    "ticket_reopen_count",
    "ticket_handoff_count",
    "ticket_bounceback_count",
    "ticket_unanswered_count",
    "ticket_customer_agent_ratio",
    "account_arr",
    "account_arr_tier",
    "account_strategic",
    "account_escalations_365d",
}
FALLS = {
    "customer_sentiment_last",
    "customer_sentiment_mean",
    "customer_sentiment_min",
    "customer_sentiment_first",
    "customer_sentiment_trend_last3",
    "sla_hours_to_breach",
    "ticket_priority_current",
    "ticket_priority_initial",
    "account_days_to_renewal",
    "account_sentiment_30d",
}


def test_directions_are_the_declared_domain_knowledge_each_with_a_reason():
    assert {f.name for f in FEATURES if f.direction == 1} == RISES
    assert {f.name for f in FEATURES if f.direction == -1} == FALLS
    for f in FEATURES:
        if f.direction:
            assert f.direction_reason.strip() and "\n" not in f.direction_reason, f.name
        else:
            assert f.direction_reason == "", f.name
    assert all(BY_NAME[c].direction == 0 for c in CATEGORICAL)
    rows = direction_table()
    assert [r["name"] for r in rows] == [n for n in FEATURE_NAMES if n in RISES | FALLS]
    assert all(r["reason"] == BY_NAME[r["name"]].direction_reason for r in rows)


def test_monotone_constraints_follow_the_feature_order():
    assert len(MONOTONE_CONSTRAINTS) == len(FEATURE_NAMES)
    assert MONOTONE_CONSTRAINTS == tuple(BY_NAME[n].direction for n in FEATURE_NAMES)
    assert set(MONOTONE_CONSTRAINTS) == {-1, 0, 1}


def test_directions_do_not_count_in_the_version():
    changed = _with("ticket_age_h", direction=1, direction_reason="older is worse")
    assert feature_set_version(changed) == FEATURE_SET_VERSION
    assert feature_set_version(_with("ticket_weekday", explain=True)) == FEATURE_SET_VERSION


# ------------------------------------------------------------------------- removed features
REMOVED = {
    "ticket_internal_note_count",  # how the simulator writes notes, the top 'reason' of half
    "ticket_event_count",  # rows of the event log, whatever they are
    "ticket_status_changes",  # status bookkeeping; '0 status changes' raised the risk
    "customer_message_length_last",  # the phrasebook's short chasers
    "account_age_days",  # a per-account constant: an account fingerprint
    "account_plan",  # ARR tier by another name here; it bent the ARR constraint
}


def test_artefact_features_are_gone():
    assert not REMOVED & set(FEATURE_NAMES)
    assert len(FEATURES) >= 40


def test_calendar_setting_and_id_like_features_are_not_reasons():
    hidden = {f.name for f in FEATURES if not f.explain}
    assert hidden == {
        "ticket_in_business_hours",
        "ticket_channel",
        "ticket_product_area",
        "ticket_hour_utc",
        "ticket_weekday",
    }
    assert set(EXPLAINABLE) == set(FEATURE_NAMES) - hidden


def test_a_past_renewal_date_is_unknown_not_overdue(small):
    *_, feats = small
    days = feats["account_days_to_renewal"]
    assert (days.dropna() >= 0).all() and days.isna().any() and days.notna().any()


# -------------------------------------------------------------------------------- reasons
def _contributions(**by_name: float) -> np.ndarray:
    c = np.zeros(len(FEATURE_NAMES) + 1)
    for name, v in by_name.items():
        c[FEATURE_NAMES.index(name)] = v
    c[-1] = -2.5  # the bias never becomes a reason
    return c


def _row(**values) -> dict:
    return {n: np.nan for n in FEATURE_NAMES} | values


def test_reasons_words_order_and_shape():
    row = _row(
        customer_intent_legal=1.0,
        ticket_waiting_h=5.0,
        ticket_priority_current=2.0,
        sla_breached=1.0,
        ticket_reopen_count=2.0,
        account_arr=600_000.0,
        account_days_to_renewal=20.0,
        ticket_handoff_count=0.0,
        customer_sentiment_mean=0.5,
    )
    c = _contributions(
        customer_intent_legal=0.9,
        ticket_waiting_h=0.7,
        sla_breached=0.5,
        ticket_reopen_count=0.4,
        account_arr=0.3,
        account_days_to_renewal=0.2,
        ticket_handoff_count=-0.6,
        customer_sentiment_mean=-0.1,
    )
    up, down = reasons(row, c)
    assert [r["text"] for r in up] == [
        "customer has mentioned legal action",
        "customer has waited 5.0 h for a reply; SLA is 2 h",
        "first-response SLA missed",
        "reopened 2 times",
        "account ARR $600k",
    ]
    assert [r["text"] for r in down] == [
        "no handoffs",
        "customer messages read positive on average",
    ]
    assert set(up[0]) == {"feature", "value", "contribution", "text"}
    assert up[0] == {
        "feature": "customer_intent_legal",
        "value": 1.0,
        "contribution": 0.9,
        "text": "customer has mentioned legal action",
    }
    assert reasons(row, c, up=2, down=1) == (up[:2], down[:1])


def test_reasons_skip_missing_values_and_features_not_to_show():
    row = _row(ticket_weekday=5.0, ticket_channel="email", ticket_waiting_h=3.0)
    c = _contributions(
        account_arr=2.0,  # missing
        ticket_weekday=1.5,
        ticket_channel=1.2,
        ticket_in_business_hours=-1.0,  # missing and not shown anyway
        ticket_waiting_h=0.1,
    )
    up, down = reasons(row, c)
    assert [r["feature"] for r in up] == ["ticket_waiting_h"] and down == []


def test_a_zero_count_shows_only_on_the_side_its_direction_allows():
    row = _row(ticket_handoff_count=0.0, ticket_priority_changes=0.0, customer_intent_churn=0.0)
    # +1 at zero lowering the risk: a lead recognises "no handoffs".
    assert reasons(row, _contributions(ticket_handoff_count=-0.4))[1][0]["text"] == "no handoffs"
    # ... raising it is an artefact of the data, and so is any unconstrained zero.
    for c in (
        _contributions(ticket_handoff_count=0.4),
        _contributions(customer_intent_churn=0.3),
        _contributions(ticket_priority_changes=0.5),
        _contributions(ticket_priority_changes=-0.5),
    ):
        assert reasons(row, c) == ([], [])
    # A non-zero count of an unconstrained feature is a fact and may be shown.
    up, _ = reasons(_row(ticket_priority_changes=2.0), _contributions(ticket_priority_changes=0.5))
    assert up[0]["text"] == "priority changed 2 times"


def test_reasons_show_one_feature_per_topic():
    row = _row(sla_breached=1.0, sla_consumed_share=1.4, ticket_first_response_h=9.0)
    c = _contributions(sla_consumed_share=0.8, sla_breached=0.6, ticket_first_response_h=0.5)
    up, _ = reasons(row, c)
    assert [r["feature"] for r in up] == ["sla_consumed_share"]


def test_reasons_on_real_rows_never_name_a_missing_or_hidden_feature(small):
    *_, feats = small
    rng = np.random.default_rng(0)
    rows = feats.sample(300, random_state=0).to_dict("records")
    for row in rows:
        up, down = reasons(row, rng.normal(0, 1, len(FEATURE_NAMES) + 1))
        assert len(up) <= 5 and len(down) <= 2
        for r in up + down:
            f = BY_NAME[r["feature"]]
            assert f.explain and not pd.isna(row[f.name]) and r["value"] is not None
            assert r["text"] == describe(f.name, row[f.name], row)
            if f.dtype in ("int", "bool") and row[f.name] == 0:
                assert f.direction and np.sign(r["contribution"]) == -f.direction
        topics = [BY_NAME[r["feature"]].topic or r["feature"] for r in up]
        assert len(set(topics)) == len(topics)
