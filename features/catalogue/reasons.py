"""Which TreeSHAP contributions a support lead is shown as reasons, and in what words.

A reason is one feature's exact contribution to the model's log-odds, worded from its value. Not
every contribution makes a reason a lead can act on, so the choice skips:

- features declared ``explain=False`` (calendar, the ticket's setting, technical counts);
- missing values (a reason never reads "unknown");
- a zero count or an unset flag on the side its declared direction does not allow, and on
  either side when no direction is declared: "no handoffs" may lower the risk, but "0 priority
  changes" raising (or lowering) it says how the data happen to be written, not what happened;
- a weaker feature of a topic already shown ("SLA missed" makes "125% of the SLA used" noise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from features.catalogue.feature import Feature
from features.catalogue.wording import is_missing

Describe = Callable[[str, object, Mapping[str, object]], str]


def shown_as_reason(feature: Feature, value: object, contribution: float) -> bool:
    """Whether this feature's value and contribution may be shown to a support lead."""
    if not feature.explain or contribution == 0 or is_missing(value):
        return False
    if feature.dtype in ("int", "bool") and not isinstance(value, str) and float(value) == 0:
        # Zero is the floor: a declared +1 may only lower the risk there, -1 only raise it.
        return feature.direction != 0 and np.sign(contribution) == -feature.direction
    return True


def select_reasons(
    features: Sequence[Feature],
    row: Mapping[str, object],
    contributions: np.ndarray,
    describe: Describe,
    up: int = 5,
    down: int = 2,
) -> tuple[list[dict], list[dict]]:
    """(reasons raising the risk, reasons lowering it), strongest first.

    Args:
        features: the registered features, in the order of ``contributions``.
        row: the feature row scored (name -> value).
        contributions: one row of LightGBM's ``pred_contrib`` (one column per feature, then
            the bias, which is ignored), log-odds.
        describe: the sentence for a (feature, value, row).
        up, down: at most this many reasons raising / lowering the risk.

    Returns:
        Two lists of ``{"feature", "value", "contribution", "text"}``; ``value`` is a float,
        or the category's text.
    """
    c = np.asarray(contributions, dtype="float64")[: len(features)]
    raising: list[dict] = []
    lowering: list[dict] = []
    seen: set[tuple[str, bool]] = set()
    for j in np.argsort(-np.abs(c), kind="stable"):
        f, value, contribution = features[j], row.get(features[j].name), float(c[j])
        if not shown_as_reason(f, value, contribution):
            continue
        side, limit = (raising, up) if contribution > 0 else (lowering, down)
        topic = (f.topic or f.name, contribution > 0)
        if len(side) >= limit or topic in seen:
            continue
        seen.add(topic)
        side.append(
            {
                "feature": f.name,
                "value": value if isinstance(value, str) else float(value),
                "contribution": contribution,
                "text": describe(f.name, value, row),
            }
        )
        if len(raising) >= up and len(lowering) >= down:
            break
    return raising, lowering
