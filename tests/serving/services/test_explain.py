"""Reasons: the strongest TreeSHAP contributions, split into raising and lowering the risk."""

from __future__ import annotations

import numpy as np

from features.registry import FEATURE_NAMES
from serving.services.explain import reasons

NAN = float("nan")


def _contributions(**by_feature: float) -> np.ndarray:
    c = np.zeros(len(FEATURE_NAMES) + 1)
    for name, value in by_feature.items():
        c[FEATURE_NAMES.index(name)] = value
    c[-1] = 5.0  # the bias: never a reason
    return c


def test_reasons_strongest_first_and_at_most_two_mitigating():
    row = {name: NAN for name in FEATURE_NAMES}
    row.update(ticket_waiting_h=6.0, sla_breached=1.0, account_arr=12_000.0, ticket_age_h=3.0)
    row.update(ticket_reopen_count=0.0)
    c = _contributions(
        sla_breached=0.3,
        ticket_waiting_h=0.8,
        account_arr=-0.5,
        ticket_age_h=-0.1,
        ticket_reopen_count=-0.05,
    )
    up, down = reasons(row, c)
    assert [(r["feature"], r["value"], r["contribution"]) for r in up] == [
        ("ticket_waiting_h", 6.0, 0.8),
        ("sla_breached", 1.0, 0.3),
    ]
    assert [(r["feature"], r["value"], r["contribution"]) for r in down] == [
        ("account_arr", 12_000.0, -0.5),
        ("ticket_age_h", 3.0, -0.1),
    ]
    assert all(isinstance(r["text"], str) and r["text"] for r in up + down)


def test_at_most_top_reasons_and_missing_values_are_none():
    names = FEATURE_NAMES[:7]
    row = {name: NAN for name in FEATURE_NAMES}
    c = _contributions(**{name: 0.1 * (i + 1) for i, name in enumerate(names)})
    up, down = reasons(row, c, top=3)
    assert [r["feature"] for r in up] == [names[6], names[5], names[4]]
    assert down == []
    assert all(r["value"] is None for r in up)


def test_no_contribution_no_reason():
    row = {name: 0.0 for name in FEATURE_NAMES}
    assert reasons(row, _contributions()) == ([], [])
