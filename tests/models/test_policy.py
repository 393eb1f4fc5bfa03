"""The threshold policy with triggers: parsing, decisions on hand-made rows, versions, old JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from models.policy import NEVER, Bands, ThresholdPolicy
from models.triggers import (
    TriggerError,
    parse_condition,
    parse_scope,
    parse_trigger,
    parse_triggers,
)

# A policy written by the code before triggers existed (its version is the old hash).
OLD_JSON = """{
  "default": {"escalate": 0.3, "executive": 0.7, "watch": 0.1},
  "segments": {"strategic": {"escalate": 0.2, "executive": 0.6, "watch": 0.05}},
  "source": {"kind": "tuned"},
  "version": "p-037a191221"
}"""

HIGH_VALUE = {
    "any": [
        {"feature": "account_arr", "op": ">=", "value": 500000},
        {"feature": "account_strategic", "op": "==", "value": True},
    ]
}
THREAT = {
    "name": "high_value_threat",
    "action": "executive",
    "description": "high-value account made a legal or executive threat",
    "when": {
        "all": [
            HIGH_VALUE,
            {
                "any": [
                    {"feature": "customer_intent_legal", "op": "==", "value": True},
                    {"feature": "customer_intent_executive", "op": "==", "value": True},
                ]
            },
        ]
    },
}
BREACH = {
    "name": "sla_breach",
    "action": "escalate",
    "description": "first-response SLA missed",
    "route": "next_tier",
    "when": {"feature": "sla_breached", "op": "==", "value": True},
}
WATCH_P1 = {
    "name": "p1_open",
    "action": "watch",
    "description": "a P1 ticket",
    "when": {"feature": "ticket_priority_current", "op": "in", "value": [1]},
}


def policy(*triggers: dict, scope: bool = True) -> ThresholdPolicy:
    return ThresholdPolicy(
        Bands(0.1, 0.3, 0.7),
        {"strategic": Bands(0.05, 0.2, 0.6)},
        triggers=parse_triggers(list(triggers)),
        executive_scope=(
            parse_scope({"name": "high_value", "description": "hv", "when": HIGH_VALUE})
            if scope
            else None
        ),
    )


def row(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "account_arr": 20000.0,
        "account_strategic": 0.0,
        "customer_intent_legal": 0.0,
        "customer_intent_executive": 0.0,
        "sla_breached": 0.0,
        "ticket_priority_current": 3.0,
    }
    base.update(values)
    return base


# -------------------------------------------------------------------------------------------
# parsing and validation
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({**BREACH, "when": {"feature": "sla_breachd", "op": "==", "value": 1}}, "sla_breachd"),
        ({**BREACH, "when": {"feature": "sla_breached", "op": "=>", "value": 1}}, "unknown op"),
        ({**BREACH, "when": {"feature": "sla_breached", "op": "==", "value": "yes"}}, "numeric"),
        ({**BREACH, "when": {"feature": "ticket_channel", "op": ">=", "value": "x"}}, "category"),
        ({**BREACH, "when": {"feature": "ticket_channel", "op": "==", "value": 3}}, "category"),
        ({**BREACH, "when": {"feature": "sla_breached", "op": "in", "value": []}}, "non-empty"),
        ({**BREACH, "when": {"all": []}}, "non-empty list"),
        ({**BREACH, "when": {"all": [], "any": []}}, "exactly one key"),
        ({**BREACH, "when": {"feature": "sla_breached", "op": "==", "valeu": 1}}, "got keys"),
        ({**BREACH, "when": "sla_breached == 1"}, "mapping"),
        ({**BREACH, "action": "lower"}, "'action' must be one of"),
        ({**BREACH, "action": "none"}, "'action' must be one of"),
        ({**BREACH, "route": "tier9"}, "'route' must be one of"),
        ({**BREACH, "name": "Bad Name"}, "lower_snake_case"),
        ({**BREACH, "description": " "}, "'description'"),
        ({**BREACH, "extra": 1}, "unknown key"),
        ({k: v for k, v in BREACH.items() if k != "when"}, "'when'"),
        (
            {**BREACH, "when": {"feature": "sla_breached", "op": ">=", "value": math.nan}},
            "numeric",
        ),
    ],
)
def test_bad_triggers_are_clear_errors(obj: dict, message: str) -> None:
    with pytest.raises(TriggerError, match=message):
        parse_trigger(obj)


def test_trigger_errors_name_the_trigger_and_duplicates_are_refused() -> None:
    bad = {**BREACH, "when": {"all": [{"feature": "nope", "op": "==", "value": 1}]}}
    with pytest.raises(TriggerError, match=r"trigger 'sla_breach'\.when\.all\[0\].*'nope'"):
        parse_triggers([bad])
    with pytest.raises(TriggerError, match="duplicate trigger name"):
        parse_triggers([BREACH, BREACH])
    with pytest.raises(TriggerError, match="must be a list"):
        parse_triggers("sla_breach")


def test_policy_json_with_an_unknown_feature_fails_at_load() -> None:
    obj = json.loads(policy(BREACH).to_json())
    obj["triggers"][0]["when"]["feature"] = "sla_blown"
    obj.pop("version")
    with pytest.raises(ValueError, match="threshold policy: .*'sla_blown'"):
        ThresholdPolicy.from_json(json.dumps(obj))


def test_booleans_become_numbers_and_the_form_round_trips() -> None:
    cond = parse_condition({"feature": "sla_breached", "op": "==", "value": True})
    assert cond.to_obj() == {"feature": "sla_breached", "op": "==", "value": 1.0}
    assert parse_condition(cond.to_obj()) == cond
    t = parse_trigger(THREAT)
    assert parse_trigger(t.to_obj()) == t
    assert t.features() == {
        "account_arr",
        "account_strategic",
        "customer_intent_legal",
        "customer_intent_executive",
    }


# -------------------------------------------------------------------------------------------
# decisions
# -------------------------------------------------------------------------------------------
def test_each_trigger_raises_on_hand_made_rows() -> None:
    pol = policy(THREAT, BREACH, WATCH_P1)
    # p = 0.05 is "low" on the default bands: the model alone says none.
    quiet = pol.decide_with_triggers(0.05, row())
    assert (quiet.action, quiet.decision, quiet.executive, quiet.fired) == (
        "none",
        "none",
        False,
        (),
    )
    # ARR 600k + a legal threat: executive, raised by the threat trigger.
    d = pol.decide_with_triggers(0.05, row(account_arr=600000.0, customer_intent_legal=1.0))
    assert (d.decision, d.executive, d.band, d.model_action) == ("escalate", True, "low", "none")
    assert [f.name for f in d.fired] == ["high_value_threat"] and d.raised_by == (
        "high_value_threat",
    )
    # The same threat from a small account: not high value, nothing fires.
    assert pol.decide_with_triggers(0.05, row(customer_intent_legal=1.0)).action == "none"
    # Strategic (not by ARR) + an executive demand: executive too (0.05 is watch on the
    # strategic bands, read from the row).
    d = pol.decide_with_triggers(0.05, row(account_strategic=1.0, customer_intent_executive=1.0))
    assert d.executive and (d.band, d.model_action) == ("watch", "watch")
    # SLA breached: escalate, with the next-tier route hint.
    d = pol.decide_with_triggers(0.05, row(sla_breached=1.0))
    assert (d.decision, d.executive, d.route) == ("escalate", False, "next_tier")
    assert d.to_dict()["fired"] == [
        {
            "name": "sla_breach",
            "action": "escalate",
            "description": "first-response SLA missed",
            "route": "next_tier",
        }
    ]
    # A P1: watch.
    assert pol.decide_with_triggers(0.05, row(ticket_priority_current=1.0)).action == "watch"


def test_triggers_never_lower_a_decision() -> None:
    pol = policy(WATCH_P1, BREACH)
    for p in (0.0, 0.12, 0.31, 0.75, 1.0):
        for r in (row(), row(ticket_priority_current=1.0), row(sla_breached=1.0)):
            for strategic in (False, True):
                plain, executive = pol.decide(p, strategic)
                d = pol.decide_with_triggers(p, {**r, "account_strategic": float(strategic)})
                rank = {"none": 0, "watch": 1, "escalate": 2}
                assert rank[d.decision] >= rank[plain]
                assert d.executive >= executive
    # p = 0.35 escalates on its own; a watch trigger fires but raises nothing.
    d = pol.decide_with_triggers(0.35, row(ticket_priority_current=1.0))
    assert (
        d.action == "escalate" and d.raised_by == () and [f.name for f in d.fired] == ["p1_open"]
    )
    assert d.route is None


@pytest.mark.parametrize("missing", [None, math.nan, np.nan, pd.NA, "n/a"])
def test_missing_values_never_fire(missing: object) -> None:
    pol = policy(THREAT, BREACH, WATCH_P1)
    r = row(
        account_arr=missing,
        account_strategic=missing,
        customer_intent_legal=1.0,
        sla_breached=missing,
        ticket_priority_current=missing,
    )
    assert pol.decide_with_triggers(0.05, r).fired == ()
    # != on a missing value does not fire either; an absent key counts as missing.
    neq = parse_trigger({**BREACH, "when": {"feature": "sla_breached", "op": "!=", "value": 1}})
    assert not neq.fires({"sla_breached": missing}) and not neq.fires({})


def test_executive_band_only_inside_the_scope() -> None:
    pol = policy()
    assert pol.decide_with_triggers(0.8, row()).action == "escalate"  # small account
    assert pol.decide_with_triggers(0.8, row(account_arr=750000.0)).action == "executive"
    # decide() only knows `strategic`: in scope when strategic, never by ARR.
    assert pol.decide(0.8, strategic=True) == ("escalate", True)
    assert pol.decide(0.8, strategic=False) == ("escalate", False)
    # Without a scope (older policies) the executive band applies to every row.
    assert policy(scope=False).decide(0.8) == ("escalate", True)
    # NEVER: no probability reaches the executive band.
    never = ThresholdPolicy(Bands(0.1, 0.3, NEVER))
    assert never.band(1.0) == "high" and never.decide(1.0) == ("escalate", False)
    assert not never.default.executive_reachable


def test_the_frame_evaluation_matches_row_by_row() -> None:
    pol = policy(THREAT, BREACH, WATCH_P1)
    rows = [
        row(),
        row(account_arr=600000.0, customer_intent_legal=1.0),
        row(sla_breached=1.0),
        row(ticket_priority_current=1.0, account_strategic=1.0),
        row(account_arr=None, sla_breached=np.nan, customer_intent_legal=1.0),
        row(account_arr=900000.0),
    ]
    p = np.array([0.05, 0.05, 0.5, 0.25, 0.9, 0.9])
    frame = pd.DataFrame(rows)
    got = pol.decide_frame(p, frame)
    for i, r in enumerate(rows):
        d = pol.decide_with_triggers(float(p[i]), r)
        assert got["action"].iloc[i] == d.action
        assert got["decision"].iloc[i] == d.decision
        assert got["band"].iloc[i] == d.band
        fired = [t.name for t in pol.triggers if got[f"fired.{t.name}"].iloc[i]]
        assert fired == [f.name for f in d.fired]
    # Hand-computed: none, executive (threat), escalate, escalate (strategic 0.25 >= 0.2),
    # escalate (0.9 but ARR missing: outside the scope), executive (0.9 and ARR 900k).
    assert got["action"].tolist() == [
        "none",
        "executive",
        "escalate",
        "escalate",
        "escalate",
        "executive",
    ]
    with pytest.raises(ValueError, match="sla_breached"):
        pol.decide_frame(p, frame.drop(columns=["sla_breached"]))


# -------------------------------------------------------------------------------------------
# versions and JSON
# -------------------------------------------------------------------------------------------
def test_version_changes_with_any_trigger_change() -> None:
    base = policy(BREACH)
    assert base.version == policy(BREACH).version
    assert policy().version != base.version
    changed_value = {**BREACH, "when": {"feature": "sla_consumed_share", "op": ">=", "value": 1}}
    assert policy(changed_value).version != base.version
    assert policy({**BREACH, "action": "watch"}).version != base.version
    assert policy({k: v for k, v in BREACH.items() if k != "route"}).version != base.version
    assert policy(BREACH, WATCH_P1).version != policy(WATCH_P1, BREACH).version != base.version
    assert policy(BREACH, scope=False).version != base.version
    # The source is not part of the version.
    assert ThresholdPolicy(base.default, base.segments, {"by": "x"}, base.triggers).version == (
        ThresholdPolicy(base.default, base.segments, {}, base.triggers).version
    )


def test_json_round_trip_with_triggers_and_tampering() -> None:
    pol = policy(THREAT, BREACH, WATCH_P1)
    again = ThresholdPolicy.from_json(pol.to_json())
    assert again == pol and again.version == pol.version
    tampered = json.loads(pol.to_json())
    tampered["triggers"][1]["action"] = "watch"
    with pytest.raises(ValueError, match="version"):
        ThresholdPolicy.from_json(json.dumps(tampered))
    never = ThresholdPolicy(Bands(0.1, 0.3, NEVER))
    assert ThresholdPolicy.from_json(never.to_json()).default.executive == NEVER


def test_old_json_without_triggers_loads_with_its_version() -> None:
    old = ThresholdPolicy.from_json(OLD_JSON)
    assert old.version == "p-037a191221"
    assert old.triggers == () and old.executive_scope is None
    assert old.decide(0.75) == ("escalate", True)
    d = old.decide_with_triggers(0.75, {})
    assert d.executive and d.fired == ()
    assert ThresholdPolicy.from_json(old.to_json()) == old
