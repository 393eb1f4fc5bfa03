"""Multi-signal triggers: declarative rules over the scored feature row that can raise an action.

A trigger is a named condition over the same point-in-time feature row the model scores (names
from ``features.registry.FEATURE_NAMES``) and the action it asks for: ``watch`` < ``escalate``
< ``executive``. A fired trigger can only raise the policy's decision, never lower it. Triggers
live inside the threshold policy JSON (and its version hash); their defaults are declared in
``training/triggers.yaml``.

A condition is either a leaf ``{feature, op, value}`` or a group ``{all: [...]}`` /
``{any: [...]}`` of conditions (nested freely). There is no negation, and a leaf whose feature is
missing (absent, None, NaN) is false whatever its operator, so a missing value can never make a
trigger fire. Operators: ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=`` (numbers; booleans count as
0/1) and ``in`` (a list of values); category features take strings and only ``==``, ``!=``,
``in``. Nothing is ever evaluated from a string.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.registry import BY_NAME

Action = Literal["none", "watch", "escalate", "executive"]
# Ranks: a decision is the highest-ranked action of the probability and the fired triggers.
ACTION_RANK: dict[str, int] = {"none": 0, "watch": 1, "escalate": 2, "executive": 3}
ACTIONS: tuple[str, ...] = tuple(ACTION_RANK)
TRIGGER_ACTIONS = ("watch", "escalate", "executive")
# Where a trigger suggests the ticket goes; the service maps a hint to a team by escalation type.
ROUTE_HINTS = ("next_tier", "executive")

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
OPS: tuple[str, ...] = (*_COMPARE, "in")
_CATEGORY_OPS = ("==", "!=", "in")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Value = float | str | tuple[float, ...] | tuple[str, ...]


class TriggerError(ValueError):
    """A trigger or condition that does not parse: the message names the trigger and the field."""


@dataclass(frozen=True)
class Leaf:
    """``feature op value`` on one feature of the row (see the module docstring)."""

    feature: str
    op: str
    value: Value

    def to_obj(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"feature": self.feature, "op": self.op, "value": value}

    def features(self) -> set[str]:
        return {self.feature}


@dataclass(frozen=True)
class Group:
    """``all`` (every item holds) or ``any`` (at least one holds) of conditions."""

    kind: Literal["all", "any"]
    items: tuple[Condition, ...]

    def to_obj(self) -> dict[str, Any]:
        return {self.kind: [c.to_obj() for c in self.items]}

    def features(self) -> set[str]:
        return set().union(*(c.features() for c in self.items))


Condition = Leaf | Group


@dataclass(frozen=True)
class Trigger:
    """A named condition and the action it raises a decision to.

    ``route`` is a hint for the service (e.g. ``next_tier``: one tier up from the ticket's
    current one); the team by escalation type stays the service's choice.
    """

    name: str
    action: Literal["watch", "escalate", "executive"]
    description: str
    when: Condition
    route: str | None = None

    def to_obj(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "action": self.action,
            "description": self.description,
            "when": self.when.to_obj(),
        }
        if self.route is not None:
            out["route"] = self.route
        return out

    def features(self) -> set[str]:
        return self.when.features()

    def fires(self, row: Mapping[str, object]) -> bool:
        """Does the condition hold on one feature row (name -> value; absent names are
        missing)?"""
        return holds(self.when, row)

    def fires_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row of a feature DataFrame: does the condition hold? (bool array)."""
        return holds_frame(self.when, frame)


@dataclass(frozen=True)
class Scope:
    """A named segment of rows (e.g. high-value accounts) defined by a condition."""

    name: str
    description: str
    when: Condition

    def to_obj(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "when": self.when.to_obj()}

    def features(self) -> set[str]:
        return self.when.features()

    def contains(self, row: Mapping[str, object]) -> bool:
        return holds(self.when, row)

    def contains_frame(self, frame: pd.DataFrame) -> np.ndarray:
        return holds_frame(self.when, frame)


@dataclass(frozen=True)
class FiredTrigger:
    """A trigger that fired on a row, as the decision reports it."""

    name: str
    action: str
    description: str
    route: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "description": self.description,
            "route": self.route,
        }


# -------------------------------------------------------------------------------------------
# Parsing (YAML or policy JSON -> objects), with every error naming where it is
# -------------------------------------------------------------------------------------------
def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _leaf_value(where: str, feature: str, op: str, value: object) -> Value:
    category = BY_NAME[feature].dtype == "category"
    kind = "a string" if category else "a number (or true/false)"

    def one(v: object) -> float | str:
        if category:
            if not isinstance(v, str):
                raise TriggerError(f"{where}: {feature} is a category; value must be {kind}")
            return v
        if isinstance(v, bool):
            return float(v)
        if not _is_number(v):
            raise TriggerError(f"{where}: {feature} is numeric; value must be {kind}, got {v!r}")
        return float(v)  # type: ignore[arg-type]

    if op == "in":
        if not isinstance(value, list | tuple) or not value:
            raise TriggerError(f"{where}: op 'in' needs a non-empty list of values")
        return tuple(one(v) for v in value)  # type: ignore[return-value]
    if category and op not in _CATEGORY_OPS:
        raise TriggerError(
            f"{where}: {feature} is a category; use one of {', '.join(_CATEGORY_OPS)}"
        )
    return one(value)


def parse_condition(obj: object, where: str = "condition") -> Condition:
    """A condition from its plain form (``{feature, op, value}`` or ``{all|any: [...]}``).

    Raises:
        TriggerError: unknown keys, an unknown feature name (not in the feature registry), an
            unknown operator, a value of the wrong type, an empty group.
    """
    if not isinstance(obj, Mapping):
        raise TriggerError(f"{where}: a condition is a mapping, got {type(obj).__name__}")
    keys = set(obj)
    if keys & {"all", "any"}:
        if len(keys) != 1:
            raise TriggerError(
                f"{where}: a group has exactly one key, 'all' or 'any'; got {sorted(keys)}"
            )
        kind = next(iter(keys))
        items = obj[kind]
        if not isinstance(items, list) or not items:
            raise TriggerError(f"{where}.{kind}: needs a non-empty list of conditions")
        return Group(
            kind,  # type: ignore[arg-type]
            tuple(parse_condition(c, f"{where}.{kind}[{i}]") for i, c in enumerate(items)),
        )
    if keys != {"feature", "op", "value"}:
        raise TriggerError(
            f"{where}: a condition is {{feature, op, value}} or {{all|any: [...]}}; "
            f"got keys {sorted(keys)}"
        )
    feature, op = obj["feature"], obj["op"]
    if not isinstance(feature, str) or feature not in BY_NAME:
        raise TriggerError(
            f"{where}: unknown feature {feature!r} (not in features.registry.FEATURE_NAMES)"
        )
    if op not in OPS:
        raise TriggerError(f"{where}: unknown op {op!r}; use one of {', '.join(OPS)}")
    return Leaf(feature, op, _leaf_value(f"{where} ({feature})", feature, op, obj["value"]))


def _text(obj: Mapping, key: str, where: str, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TriggerError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def parse_trigger(obj: object, where: str = "trigger") -> Trigger:
    """One trigger from ``{name, action, description, when, route?}``.

    Raises:
        TriggerError: naming the trigger and the offending field.
    """
    if not isinstance(obj, Mapping):
        raise TriggerError(f"{where}: a trigger is a mapping, got {type(obj).__name__}")
    name = obj.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise TriggerError(
            f"{where}: 'name' must be lower_snake_case (letters, digits, _), got {name!r}"
        )
    where = f"trigger {name!r}"
    unknown = set(obj) - {"name", "action", "description", "when", "route"}
    if unknown:
        raise TriggerError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    action = obj.get("action")
    if action not in TRIGGER_ACTIONS:
        raise TriggerError(
            f"{where}: 'action' must be one of {', '.join(TRIGGER_ACTIONS)}, got {action!r}"
        )
    route = _text(obj, "route", where, required=False)
    if route is not None and route not in ROUTE_HINTS:
        raise TriggerError(
            f"{where}: 'route' must be one of {', '.join(ROUTE_HINTS)}, got {route!r}"
        )
    if "when" not in obj:
        raise TriggerError(f"{where}: 'when' (the condition) is missing")
    return Trigger(
        name=name,
        action=action,
        description=_text(obj, "description", where),  # type: ignore[arg-type]
        when=parse_condition(obj["when"], f"{where}.when"),
        route=route,
    )


def parse_triggers(objs: object) -> tuple[Trigger, ...]:
    """A list of triggers (YAML or policy JSON); names must be unique.

    Raises:
        TriggerError: see ``parse_trigger``; a duplicate name; not a list.
    """
    if objs is None:
        return ()
    if not isinstance(objs, Sequence) or isinstance(objs, str):
        raise TriggerError(f"triggers must be a list, got {type(objs).__name__}")
    out = tuple(parse_trigger(t, f"triggers[{i}]") for i, t in enumerate(objs))
    names = [t.name for t in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TriggerError(f"duplicate trigger name(s): {', '.join(dupes)}")
    return out


def parse_scope(obj: object, where: str = "scope") -> Scope:
    """A named segment from ``{name, description, when}``."""
    if not isinstance(obj, Mapping):
        raise TriggerError(f"{where}: a scope is a mapping, got {type(obj).__name__}")
    unknown = set(obj) - {"name", "description", "when"}
    if unknown:
        raise TriggerError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = obj.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise TriggerError(f"{where}: 'name' must be lower_snake_case, got {name!r}")
    if "when" not in obj:
        raise TriggerError(f"{where} {name!r}: 'when' (the condition) is missing")
    return Scope(
        name,
        _text(obj, "description", f"{where} {name!r}"),  # type: ignore[arg-type]
        parse_condition(obj["when"], f"{where} {name!r}.when"),
    )


# -------------------------------------------------------------------------------------------
# Evaluation: one row (the service) and a feature DataFrame (evaluation, tuning)
# -------------------------------------------------------------------------------------------
def _scalar(value: object, category: bool) -> float | str | None:
    """A row value as a comparable scalar, or None when missing (absent, None, NaN, NA, or not
    of the feature's kind)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if category:
        return value if isinstance(value, str) else None
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    return None


def number(value: object) -> float | None:
    """A row value as a finite float (booleans 0/1), or None when missing or not a number."""
    v = _scalar(value, False)
    return v if isinstance(v, float) else None


def holds(cond: Condition, row: Mapping[str, object]) -> bool:
    """Does ``cond`` hold on one row (name -> value)? Missing values make a leaf false."""
    if isinstance(cond, Group):
        test = all if cond.kind == "all" else any
        return test(holds(c, row) for c in cond.items)
    v = _scalar(row.get(cond.feature), BY_NAME[cond.feature].dtype == "category")
    if v is None:
        return False
    if cond.op == "in":
        return v in cond.value  # type: ignore[operator]
    return bool(_COMPARE[cond.op](v, cond.value))


def _column(frame: pd.DataFrame, feature: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, present) of one feature column: floats (NaN where missing) or objects."""
    s = frame[feature]
    if BY_NAME[feature].dtype == "category":
        values = s.astype(object).to_numpy()
        present = np.array([isinstance(v, str) for v in values], dtype=bool)
        return values, present
    if s.dtype == object:
        values = np.array([_scalar(v, False) for v in s], dtype=object)
        values = np.where(pd.isna(values), np.nan, values).astype("float64")
    else:
        values = s.to_numpy(dtype="float64", na_value=np.nan)
    return values, np.isfinite(values)


def holds_frame(cond: Condition, frame: pd.DataFrame) -> np.ndarray:
    """``holds`` for every row of a feature DataFrame (bool array; missing values false).

    Raises:
        ValueError: when ``frame`` lacks a referenced feature column.
    """
    missing = sorted(cond.features() - set(frame.columns))
    if missing:
        raise ValueError(f"the rows lack feature column(s) {', '.join(missing)}")
    if isinstance(cond, Group):
        parts = [holds_frame(c, frame) for c in cond.items]
        return np.logical_and.reduce(parts) if cond.kind == "all" else np.logical_or.reduce(parts)
    values, present = _column(frame, cond.feature)
    out = np.zeros(len(frame), dtype=bool)
    if not present.any():
        return out
    v = values[present]
    if cond.op == "in":
        out[present] = np.isin(v, np.asarray(cond.value, dtype=v.dtype))
    else:
        out[present] = np.asarray(_COMPARE[cond.op](v, cond.value), dtype=bool)
    return out


def fired_frame(triggers: Sequence[Trigger], frame: pd.DataFrame) -> pd.DataFrame:
    """One bool column per trigger (its name), one row per row of ``frame`` (same index)."""
    return pd.DataFrame(
        {t.name: t.fires_frame(frame) for t in triggers}, index=frame.index, dtype=bool
    )


def trigger_ranks(triggers: Sequence[Trigger], frame: pd.DataFrame) -> np.ndarray:
    """Per row: the highest ``ACTION_RANK`` among the triggers that fire (0 when none does)."""
    out = np.zeros(len(frame), dtype="int8")
    for t in triggers:
        out = np.where(t.fires_frame(frame), np.maximum(out, ACTION_RANK[t.action]), out)
    return out.astype("int8")
