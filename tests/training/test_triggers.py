"""Triggers in training and tuning: the shipped YAML, bands under a budget, trigger figures.

The prediction set here is small enough to work out by hand (see ``hand_made``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from models.policy import NEVER, Bands, ThresholdPolicy
from training.config import (
    DEFAULT_TRIGGERS,
    PolicyConfig,
    TriggerSet,
    load_config,
    load_triggers,
    parse_trigger_file,
)
from training.thresholds import (
    ConstraintError,
    choose_bands,
    default_policy,
    policy_evaluation,
    policy_tickets,
)
from training.tuning import expected_figures, trigger_table, tune_policy

T0 = pd.Timestamp("2026-01-05", tz="UTC")
ESCALATED = {4, 9, 13, 16, 18, 19}
BREACHED = {2, 4, 6}
HIGH_VALUE = {15, 16, 17, 18, 19}


def hand_made() -> pd.DataFrame:
    """20 tickets over exactly 10 days, two snapshots each (12 h apart, ticket i opens at
    i * 12 h). Ticket i peaks at p = (i + 1) / 20 on its second snapshot (half that on the first,
    the "blank" one). Tickets 4, 9, 13, 16, 18 and 19 escalate, 36 h after opening; tickets 2, 4
    and 6 breach the first-response SLA at their second snapshot; tickets 15-19 belong to an
    account with ARR 600k (high value); nobody is strategic; the other trigger features are
    missing."""
    rows = []
    for i in range(20):
        for k in range(2):
            peak = (i + 1) / 20
            rows.append(
                {
                    "ticket_id": f"t{i:02d}",
                    "as_of": T0 + pd.Timedelta(hours=12 * i + 12 * k),
                    "label": int(i in ESCALATED),
                    "hours_to_escalation": (36.0 - 12 * k) if i in ESCALATED else np.nan,
                    "p": peak if k else peak / 2,
                    "account_arr_tier": 4.0 if i in HIGH_VALUE else 1.0,
                    "account_strategic": 0.0,
                    "ticket_priority_initial": 2.0,
                    "ticket_channel": "email",
                    "account_arr": 600_000.0 if i in HIGH_VALUE else 20_000.0,
                    "customer_intent_legal": np.nan,
                    "customer_intent_executive": np.nan,
                    "customer_intent_escalation_request": np.nan,
                    "customer_sentiment_last": np.nan,
                    "sla_consumed_share": np.nan,
                    "sla_breached": 1.0 if (i in BREACHED and k == 1) else 0.0,
                    # unknown once answered: the clock still runs only on breached snapshots
                    "sla_hours_to_breach": -1.0 if (i in BREACHED and k == 1) else np.nan,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def shipped() -> TriggerSet:
    return load_triggers()


# -------------------------------------------------------------------------------------------
# the shipped triggers file
# -------------------------------------------------------------------------------------------
def test_shipped_triggers_file_parses(shipped: TriggerSet) -> None:
    assert [t.name for t in shipped.triggers] == [
        "high_value_threat",
        "high_value_unhappy_sla_at_risk",
        "first_response_sla_breached",
    ]
    assert [t.action for t in shipped.triggers] == ["executive", "escalate", "escalate"]
    assert shipped.triggers[2].route == "next_tier"
    assert shipped.executive_scope is not None and shipped.executive_scope.name == "high_value"
    assert load_config()[0].policy.triggers == DEFAULT_TRIGGERS.name


def _row(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "account_arr": 40_000.0,
        "account_strategic": 0.0,
        "customer_intent_legal": 0.0,
        "customer_intent_executive": 0.0,
        "customer_intent_escalation_request": 0.0,
        "customer_sentiment_last": 0.2,
        "sla_consumed_share": 0.1,
        "sla_breached": 0.0,
        "sla_hours_to_breach": 3.0,
    }
    base.update(values)
    return base


@pytest.mark.parametrize(
    ("values", "fired", "action"),
    [
        ({}, [], "none"),
        # high value + a legal or executive threat -> executive
        (
            {"account_arr": 500_000.0, "customer_intent_legal": 1.0},
            ["high_value_threat"],
            "executive",
        ),
        (
            {"account_strategic": 1.0, "customer_intent_executive": 1.0},
            ["high_value_threat"],
            "executive",
        ),
        ({"account_arr": 499_999.0, "customer_intent_legal": 1.0}, [], "none"),
        ({"account_arr": 800_000.0}, [], "none"),
        # high value + negative sentiment + SLA at risk (>= 75% used or breached) -> escalate
        (
            {
                "account_arr": 900_000.0,
                "customer_sentiment_last": -0.3,
                "sla_consumed_share": 0.75,
            },
            ["high_value_unhappy_sla_at_risk"],
            "escalate",
        ),
        (
            {
                "account_strategic": 1.0,
                "customer_sentiment_last": -0.8,
                "sla_consumed_share": 0.74,
            },
            [],
            "none",
        ),
        (
            {
                "account_strategic": 1.0,
                "customer_sentiment_last": -0.29,
                "sla_consumed_share": 0.9,
            },
            [],
            "none",
        ),
        (
            {
                "account_strategic": 1.0,
                "customer_sentiment_last": -0.5,
                "sla_breached": 1.0,
                "sla_hours_to_breach": -0.5,
            },
            ["high_value_unhappy_sla_at_risk", "first_response_sla_breached"],
            "escalate",
        ),
        # the first-response SLA clock ran out with no reply yet -> escalate (next tier)
        (
            {"sla_breached": 1.0, "sla_hours_to_breach": -2.0},
            ["first_response_sla_breached"],
            "escalate",
        ),
        # answered late: the clock stopped (hours to breach unknown), the trigger stays quiet
        ({"sla_breached": 1.0, "sla_hours_to_breach": math.nan}, [], "none"),
        # missing values never fire
        ({"account_arr": None, "customer_intent_legal": 1.0}, [], "none"),
        ({"sla_breached": math.nan, "sla_hours_to_breach": None}, [], "none"),
        (
            {"account_arr": 900_000.0, "customer_sentiment_last": None, "sla_breached": None},
            [],
            "none",
        ),
    ],
)
def test_each_shipped_trigger_on_hand_made_rows(
    shipped: TriggerSet, values: dict, fired: list[str], action: str
) -> None:
    # p = 0 is below every band: whatever the decision is, the triggers made it.
    policy = ThresholdPolicy(
        Bands(0.5, 0.6, 0.9), {}, {}, shipped.triggers, shipped.executive_scope
    )
    d = policy.decide_with_triggers(0.0, _row(**values))
    assert [f.name for f in d.fired] == fired
    assert d.action == action
    if "first_response_sla_breached" in fired and action == "escalate":
        assert d.route == "next_tier"


def test_trigger_file_errors_name_the_file_and_the_trigger(tmp_path) -> None:
    bad = tmp_path / "triggers.yaml"
    bad.write_text(
        "triggers:\n  - name: typo\n    action: escalate\n    description: x\n"
        "    when: {feature: sla_breachd, op: '==', value: true}\n"
    )
    with pytest.raises(ValueError, match=r"triggers\.yaml: trigger 'typo'.*'sla_breachd'"):
        load_triggers(bad)
    with pytest.raises(ValueError, match="executive_scope 'vip' is not one of the scopes"):
        parse_trigger_file({"executive_scope": "vip", "triggers": []})
    with pytest.raises(ValueError, match="unknown key"):
        parse_trigger_file({"trigger": []})
    bad.write_text("triggers: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_triggers(bad)
    assert load_triggers(None) == TriggerSet()


# -------------------------------------------------------------------------------------------
# bands: the watch share and the executive band
# -------------------------------------------------------------------------------------------
def test_watch_share_stays_within_its_budget(shipped: TriggerSet) -> None:
    frame = hand_made()
    tickets = policy_tickets(frame, frame["p"].to_numpy(), shipped)
    # Escalate at 0.925 alerts t18 and t19 (0.95, 1.0); a share of 20% = 4 tickets leaves room
    # for two more (0.90, 0.85): watch sits between 0.80 and 0.85.
    c = choose_bands(
        tickets,
        0.925,
        0.925,
        watch_share=0.2,
        executive_precision=0.75,
        min_alerts=2,
        triggers=shipped,
    )
    assert c.default.watch == pytest.approx(0.825)
    assert c.info["watch"]["reached_share"] == pytest.approx(0.2)
    # Every snapshot of every ticket below 0.85 stays off watch, so the blank ones do too.
    policy = ThresholdPolicy(c.default, {"strategic": c.strategic}, {}, shipped.triggers)
    decided = policy.decide_frame(frame["p"].to_numpy(), frame)
    on_watch = decided["model_rank"].groupby(frame["ticket_id"]).max() >= 1
    assert on_watch.mean() == pytest.approx(0.2)
    assert not (decided["model_rank"].to_numpy()[::2] >= 1).any()  # first (blank) snapshots
    # When escalate alone alerts more than the share, there is no separate watch band.
    c = choose_bands(
        tickets,
        0.5,
        0.5,
        watch_share=0.2,
        executive_precision=0.75,
        min_alerts=2,
        triggers=shipped,
    )
    assert c.default.watch == c.default.escalate == 0.5
    assert any("no separate watch band" in n for n in c.notes)


def test_executive_band_reachable_on_high_value_or_explained(shipped: TriggerSet) -> None:
    frame = hand_made()
    tickets = policy_tickets(frame, frame["p"].to_numpy(), shipped)
    # High value t15-t19 peak 0.80 .. 1.0, escalating t16, t18, t19: from the top, precision
    # 1/1, 2/2, 2/3, 3/4, 3/5 -> 0.75 with >= 2 alerts first holds at the top four (0.825).
    c = choose_bands(
        tickets,
        0.6,
        0.6,
        watch_share=0.5,
        executive_precision=0.75,
        min_alerts=2,
        triggers=shipped,
    )
    assert c.default.executive == pytest.approx(0.825)
    assert c.info["executive"]["reachable"] and c.info["executive"]["scope"] == "high_value"
    assert c.info["executive"]["scope_tickets"] == 5
    # On all 20 tickets the same floor would need the top two only; the scope is what counts.
    # 0.9 with >= 3 alerts is out of reach (best 0.75): executive only via triggers, said so.
    c = choose_bands(
        tickets, 0.6, 0.6, watch_share=0.5, executive_precision=0.9, min_alerts=3, triggers=shipped
    )
    assert c.default.executive == NEVER and c.strategic.executive == NEVER
    reason = c.info["executive"]["reason"]
    assert "5 high_value tickets" in reason and "best 0.75" in reason
    assert "executive only via triggers (high_value_threat)" in reason


def test_default_policy_from_training(shipped: TriggerSet) -> None:
    frame = hand_made()
    cfg = PolicyConfig(
        target_precision=0.75,
        watch_share=0.3,
        executive_precision=0.75,
        strategic_factor=0.8,
        min_alerts=2,
    )
    policy = default_policy(frame, frame["p"].to_numpy(), cfg)
    # Escalate: top four tickets (1.0 E, 0.95 E, 0.90, 0.85 E) = 3/4 -> 0.825. Watch: 6 tickets
    # of 20, 4 of them alerted -> two more (0.80, 0.75): between 0.70 and 0.75.
    assert policy.default.escalate == pytest.approx(0.825)
    assert policy.default.watch == pytest.approx(0.725)
    assert policy.default.executive == pytest.approx(0.825)
    assert [t.name for t in policy.triggers] == [t.name for t in shipped.triggers]
    assert policy.executive_scope == shipped.executive_scope
    assert policy.source["bands"]["watch"]["reached_share"] == pytest.approx(0.3)
    assert ThresholdPolicy.from_json(policy.to_json()) == policy
    with pytest.raises(ValueError, match="sla_breached"):
        default_policy(frame.drop(columns=["sla_breached"]), frame["p"].to_numpy(), cfg)


# -------------------------------------------------------------------------------------------
# trigger figures and the alert budget
# -------------------------------------------------------------------------------------------
def test_trigger_figures_by_hand(shipped: TriggerSet) -> None:
    frame = hand_made()
    policy = tune_policy(
        frame, precision=0.75, watch_share=0.3, min_alerts=2, triggers=shipped, keep_triggers=True
    )
    assert policy.default.escalate == pytest.approx(0.825)
    table = trigger_table(frame, policy).set_index("trigger")
    sla = table.loc["first_response_sla_breached"]
    # t02, t04, t06 over 10 days; t04 of the 6 escalating tickets; breached 12 h after opening,
    # escalated 36 h after opening: 24 h of lead time.
    assert sla["tickets"] == 3 and sla["alerts_per_day"] == pytest.approx(0.3)
    assert sla["precision"] == pytest.approx(1 / 3) and sla["recall"] == pytest.approx(1 / 6)
    assert sla["raised_per_day"] == pytest.approx(0.3)
    assert sla["median_lead_time_h"] == pytest.approx(24.0)
    assert table.loc["high_value_threat", "tickets"] == 0  # intents missing: never fires
    # The whole policy: model alerts t16-t19 (3 escalate) plus the trigger's 3 (1 escalates).
    all_ = expected_figures(frame, policy).iloc[0]
    assert all_["alerts_per_day"] == pytest.approx(0.7)
    assert all_["precision"] == pytest.approx(4 / 7) and all_["recall"] == pytest.approx(4 / 6)
    assert all_["trigger_alerts_per_day"] == pytest.approx(0.3)
    assert all_["watch_share"] == pytest.approx(0.3)
    src = policy.source
    assert src["triggers"]["expected"]["first_response_sla_breached"]["tickets"] == 3
    ev = policy_evaluation(frame, frame["p"].to_numpy(), policy)
    assert ev["policy"]["alerts_per_day"] == pytest.approx(0.7)
    assert ev["triggers"]["first_response_sla_breached"]["precision"] == pytest.approx(1 / 3)


def test_precision_floor_drops_triggers_below_it(shipped: TriggerSet) -> None:
    frame = hand_made()
    # The first-response trigger alerts t02, t04, t06, one of which escalates (1/3): under a
    # floor of 0.75 it would break the promise, so it leaves the policy and the notes say why.
    policy = tune_policy(frame, precision=0.75, watch_share=0.3, min_alerts=2, triggers=shipped)
    names = [t.name for t in policy.triggers]
    assert names == ["high_value_threat", "high_value_unhappy_sla_at_risk"]
    (dropped,) = policy.source["triggers"]["dropped"]
    assert dropped["name"] == "first_response_sla_breached" and dropped["tickets"] == 3
    assert dropped["precision"] == pytest.approx(1 / 3)
    assert any("first_response_sla_breached dropped" in n for n in policy.source["notes"])
    # Without it the desk's alerts are the model's t16-t19: 3 of 4 escalate, the floor holds.
    assert expected_figures(frame, policy).iloc[0]["precision"] == pytest.approx(0.75)
    # A floor the trigger meets keeps it; so does too few firings to measure (min_alerts).
    assert len(tune_policy(frame, precision=0.3, min_alerts=2, triggers=shipped).triggers) == 3
    assert len(tune_policy(frame, precision=0.75, min_alerts=4, triggers=shipped).triggers) == 3
    # An alert budget counts trigger alerts instead; nothing is dropped there.
    assert len(tune_policy(frame, alerts_per_day=0.6, triggers=shipped).triggers) == 3


def test_alert_budget_includes_trigger_alerts(shipped: TriggerSet) -> None:
    frame = hand_made()
    # 0.6 a day over 10 days = 6 alerted tickets. Without triggers the model takes all six
    # (down to 0.75: threshold 0.725); with them, the trigger's three leave three (0.875).
    none = tune_policy(frame, alerts_per_day=0.6, triggers=TriggerSet())
    assert none.default.escalate == pytest.approx(0.725)
    policy = tune_policy(frame, alerts_per_day=0.6, triggers=shipped)
    assert policy.default.escalate == pytest.approx(0.875)
    decided = policy.decide_frame(frame["p"].to_numpy(), frame)
    alerted = (decided["rank"] >= 2).groupby(frame["ticket_id"]).max()
    assert alerted.sum() == 6
    assert expected_figures(frame, policy).loc[0, "alerts_per_day"] == pytest.approx(0.6)
    # Trigger alerts alone over the budget: a clear error that names them.
    with pytest.raises(ConstraintError, match="triggers alert count against the budget"):
        tune_policy(frame, alerts_per_day=0.2, triggers=shipped)


def test_tuning_without_the_trigger_columns_is_a_clear_error(shipped: TriggerSet) -> None:
    frame = hand_made().drop(columns=["customer_intent_legal"])
    with pytest.raises(ValueError, match="customer_intent_legal.*retrain"):
        tune_policy(frame, precision=0.75, triggers=shipped)
    # Without triggers the same predictions tune fine.
    assert tune_policy(frame, precision=0.75, min_alerts=2, triggers=TriggerSet()).triggers == ()
    # Predictions from before the trigger columns were written: no triggers, and without
    # account_arr no executive scope either (a note says so).
    old = hand_made().drop(columns=["account_arr", "customer_intent_legal", "sla_breached"])
    policy = tune_policy(old, precision=0.75, min_alerts=2, triggers=replace(shipped, triggers=()))
    assert policy.triggers == () and policy.executive_scope is None
    assert any("no executive scope" in n for n in policy.source["notes"])
