"""The registry: unique declarations with formulas, a version that follows the formula code, and
reasons in words."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from features.arrays import US_PER_H
from features.registry import (
    BY_NAME,
    CATEGORICAL,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    FEATURES,
    FORMULA_MODULES,
    describe,
    feature_set_version,
    feature_table,
)
from features.text import INTENTS, RISK_INTENTS


def test_registry_has_forty_plus_unique_features():
    assert len(FEATURES) >= 40
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert {f.group for f in FEATURES} == {"text", "timing", "process", "account", "context"}
    assert {f.dtype for f in FEATURES} <= {"float", "int", "bool", "category"}
    assert CATEGORICAL == ("account_plan", "ticket_channel", "ticket_product_area")
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
        ("account_plan", pd.NA, "commercial plan: unknown"),
        ("ticket_age_h", pd.NaT, "hours since the ticket was created: unknown"),
        # No words of its own, or not a finite number: the generic wording.
        ("ticket_event_count", 4.0, "events so far: 4"),
        ("customer_sentiment_first", 0.25, "sentiment of the first customer message: 0.25"),
        ("ticket_channel", "email", "channel the ticket came in by: email"),
        ("ticket_age_h", float("inf"), "hours since the ticket was created: inf"),
        ("ticket_age_h", "soon", "hours since the ticket was created: soon"),
    ],
)
def test_describe_generic(feature, value, text):
    assert describe(feature, value, {}) == text
