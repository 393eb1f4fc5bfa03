"""The feature registry: every feature of the catalogue, its version, its declared directions
(LightGBM's monotone constraints), and reasons in words.

The feature set is versioned: the version string carries a hash of each feature's name, dtype,
group and formula code, and of the code the formulas run on (per-event state, the as-of
context, the calendar), so a model trained on one set refuses input built by another. Wording
and descriptions do not count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType

import numpy as np

from features import arrays, calendar, context, inputs, state
from features import text as text_signals
from features.catalogue import account, process, text, timing
from features.catalogue import context as context_group
from features.catalogue.feature import Direction, DType, Feature
from features.catalogue.reasons import select_reasons
from features.catalogue.wording import is_missing, is_number
from features.version import digest, function_code, module_code

__all__ = [
    "BY_NAME",
    "CATEGORICAL",
    "EXPLAINABLE",
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "FORMULA_MODULES",
    "MONOTONE_CONSTRAINTS",
    "DType",
    "Direction",
    "Feature",
    "describe",
    "direction_table",
    "feature_set_version",
    "feature_table",
    "reasons",
]

FEATURES: tuple[Feature, ...] = (
    *text.FEATURES,
    *timing.FEATURES,
    *process.FEATURES,
    *account.FEATURES,
    *context_group.FEATURES,
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
CATEGORICAL: tuple[str, ...] = tuple(f.name for f in FEATURES if f.dtype == "category")
BY_NAME = {f.name: f for f in FEATURES}
# LightGBM's monotone_constraints: each feature's declared direction, in FEATURE_NAMES order.
MONOTONE_CONSTRAINTS: tuple[int, ...] = tuple(f.direction for f in FEATURES)
# The features a reason may name (the others still count in the score).
EXPLAINABLE: tuple[str, ...] = tuple(f.name for f in FEATURES if f.explain)

# The code every formula runs on besides its own; a change to any of it is a new feature set.
# features.text computes the per-message signals (intensity, length) the formulas read.
FORMULA_MODULES: tuple[ModuleType, ...] = (arrays, calendar, context, inputs, state, text_signals)
_MAJOR = "1"


def feature_set_version(
    features: Sequence[Feature], modules: Sequence[ModuleType] = FORMULA_MODULES
) -> str:
    """``"<major>.<hash>"`` over the features' names, dtypes, groups and formula code, in
    order, and the code of ``modules``."""
    parts = [f"{f.name}:{f.dtype}:{f.group}:{function_code(f.formula)}" for f in features]
    parts += [module_code(m) for m in modules]
    return f"{_MAJOR}.{digest(parts)}"


FEATURE_SET_VERSION = feature_set_version(FEATURES)


def feature_table() -> list[dict[str, str]]:
    """The registry as rows (name, group, dtype, description) for printing or logging."""
    return [
        {"name": f.name, "group": f.group, "dtype": f.dtype, "description": f.description}
        for f in FEATURES
    ]


def describe(feature: str, value: object, row: Mapping[str, object]) -> str:
    """One plain sentence for a feature's value (a reason's text).

    Missing values read "<description>: unknown"; finite numbers use the feature's words if it
    has any; anything else reads "<description>: <value>" (integral floats without ".0").

    Args:
        feature: a registered feature name.
        value: its value.
        row: the whole feature row (name -> value), for words that depend on other features.
    """
    f = BY_NAME[feature]
    if is_missing(value):
        return f"{f.description}: unknown"
    if f.words is not None and is_number(value):
        return f.words(float(value), row)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{f.description}: {value}"


def direction_table() -> list[dict[str, object]]:
    """The constrained features as rows (name, group, direction, reason), in registry order."""
    return [
        {"name": f.name, "group": f.group, "direction": f.direction, "reason": f.direction_reason}
        for f in FEATURES
        if f.direction
    ]


def reasons(
    row: Mapping[str, object], contributions: Sequence[float], up: int = 5, down: int = 2
) -> tuple[list[dict], list[dict]]:
    """What raised the risk and what lowered it, strongest first, in a support lead's words.

    Only features that may be shown (``explain``), never a missing value, never a zero count on
    a side its declared direction rules out, the strongest of each topic only; see
    :mod:`features.catalogue.reasons`.

    Args:
        row: the feature row scored (name -> value; every registered feature).
        contributions: one row of LightGBM's ``pred_contrib`` for that row (registry order,
            then the bias), log-odds.
        up, down: at most this many reasons raising / lowering the risk.

    Returns:
        (raising, lowering): lists of ``{"feature", "value", "contribution", "text"}``.
    """
    return select_reasons(FEATURES, row, np.asarray(contributions), describe, up=up, down=down)
