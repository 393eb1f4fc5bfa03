"""The threshold policy: probability and triggers -> decision; versioned JSON kept with the model.

Bands per segment: below ``watch`` nothing; from ``watch`` a watch-list entry; from ``escalate``
an alert; from ``executive`` an alert that goes to the executive path. Strategic accounts may run
lower thresholds (their own segment). An optional ``executive_scope`` (e.g. high-value accounts)
limits the executive band to the rows it holds; an executive threshold of ``NEVER`` means the
probability alone never reaches the executive path (only a trigger can).

The policy also carries the multi-signal triggers (``models.triggers``): declarative conditions
on the scored feature row that can raise the action (watch < escalate < executive), never lower
it. Thresholds, the scope and the triggers are all hashed into the policy version; a policy
without triggers or scope (older JSON) keeps the version it always had.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from models.triggers import (
    ACTION_RANK,
    ACTIONS,
    FiredTrigger,
    Scope,
    Trigger,
    TriggerError,
    number,
    parse_scope,
    parse_triggers,
    trigger_ranks,
)

Decision = Literal["none", "watch", "escalate"]
Band = Literal["low", "watch", "high", "critical"]
# An executive threshold no probability reaches (p <= 1): executive only via triggers.
NEVER = math.nextafter(1.0, math.inf)
_BAND_RANK = {"low": 0, "watch": 1, "high": 2, "critical": 3}
_BANDS = ("low", "watch", "high", "critical")


@dataclass(frozen=True)
class Bands:
    watch: float
    escalate: float
    executive: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.watch <= self.escalate <= self.executive <= 1.0 + 1e-12:
            raise ValueError(
                f"thresholds must satisfy 0 <= watch <= escalate <= executive <= 1, got {self}"
            )

    @property
    def executive_reachable(self) -> bool:
        """Can a probability (<= 1) reach the executive band at all?"""
        return self.executive <= 1.0


@dataclass(frozen=True)
class PolicyDecision:
    """What the policy decides for one scored row.

    Attributes:
        action: the final action, none < watch < escalate < executive: the highest of the
            probability's action and the fired triggers' actions.
        band: the probability's band (low, watch, high, critical) under the segment's
            thresholds, as ``ThresholdPolicy.band`` gives it; triggers do not change it.
        model_action: the probability's action alone (the executive scope applied).
        fired: every trigger that fired on the row, in policy order (name, action,
            description, route hint), whether or not it raised the action.
        raised_by: the fired triggers that set the final action above the model's.
        route: the route hint of the first trigger in ``raised_by`` that has one (e.g.
            "next_tier"), else None.
    """

    action: str
    band: Band
    model_action: str
    fired: tuple[FiredTrigger, ...] = ()
    raised_by: tuple[str, ...] = ()
    route: str | None = None

    @property
    def decision(self) -> Decision:
        """The action as ``ThresholdPolicy.decide`` names it: none, watch or escalate."""
        action = "escalate" if self.action == "executive" else self.action
        return action  # type: ignore[return-value]

    @property
    def executive(self) -> bool:
        return self.action == "executive"

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "executive": self.executive,
            "action": self.action,
            "band": self.band,
            "model_action": self.model_action,
            "fired": [f.to_dict() for f in self.fired],
            "raised_by": list(self.raised_by),
            "route": self.route,
        }


@dataclass(frozen=True)
class ThresholdPolicy:
    default: Bands
    segments: dict[str, Bands] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    triggers: tuple[Trigger, ...] = ()
    executive_scope: Scope | None = None

    def __post_init__(self) -> None:
        names = [t.name for t in self.triggers]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate trigger names in {names}")

    @property
    def escalate(self) -> float:
        return self.default.escalate

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "default": asdict(self.default),
            "segments": {k: asdict(v) for k, v in sorted(self.segments.items())},
        }
        # Only when present, so a policy without them keeps its earlier version.
        if self.triggers:
            body["triggers"] = [t.to_obj() for t in self.triggers]
        if self.executive_scope is not None:
            body["executive_scope"] = self.executive_scope.to_obj()
        return body

    @property
    def version(self) -> str:
        """Content hash of thresholds, executive scope and triggers (not of ``source``)."""
        body = json.dumps(self._body(), sort_keys=True)
        return "p-" + hashlib.sha256(body.encode()).hexdigest()[:10]

    def feature_names(self) -> list[str]:
        """The features the triggers and the executive scope read, sorted."""
        names: set[str] = set().union(*(t.features() for t in self.triggers))
        if self.executive_scope is not None:
            names |= self.executive_scope.features()
        return sorted(names)

    def bands_for(self, strategic: bool) -> Bands:
        return self.segments.get("strategic", self.default) if strategic else self.default

    def band(self, p: float, strategic: bool = False) -> Band:
        """The band a calibrated probability falls in: low < watch < high (escalate) < critical
        (executive), under the segment's thresholds (each inclusive)."""
        b = self.bands_for(strategic)
        if p >= b.executive:
            return "critical"
        if p >= b.escalate:
            return "high"
        if p >= b.watch:
            return "watch"
        return "low"

    def _in_scope(self, row: Mapping[str, object]) -> bool:
        return self.executive_scope is None or self.executive_scope.contains(row)

    def decide_with_triggers(
        self, p: float, row: Mapping[str, object], strategic: bool | None = None
    ) -> PolicyDecision:
        """The decision for one scored row: the probability's bands, then the triggers.

        Args:
            p: the calibrated probability of the row.
            row: the feature row the model scored (feature name -> value; None/NaN or an
                absent name is missing, and a missing value never fires a trigger).
            strategic: use the strategic segment's bands; None reads ``account_strategic``
                from the row (> 0).

        Returns:
            A ``PolicyDecision``: the final action is the highest of the probability's (the
            executive band only inside ``executive_scope``) and every fired trigger's.
        """
        if strategic is None:
            s = number(row.get("account_strategic"))
            strategic = s is not None and s > 0
        band = self.band(p, strategic)
        model = _BAND_RANK[band]
        if model == 3 and not self._in_scope(row):
            model = 2
        fired = [t for t in self.triggers if t.fires(row)]
        rank = max([model, *(ACTION_RANK[t.action] for t in fired)])
        raised = [t for t in fired if rank > model and ACTION_RANK[t.action] == rank]
        route = next((t.route for t in raised if t.route is not None), None)
        return PolicyDecision(
            action=ACTIONS[rank],
            band=band,
            model_action=ACTIONS[model],
            fired=tuple(FiredTrigger(t.name, t.action, t.description, t.route) for t in fired),
            raised_by=tuple(t.name for t in raised),
            route=route,
        )

    def decide(self, p: float, strategic: bool = False) -> tuple[Decision, bool]:
        """(decision, executive?) for a calibrated probability alone: no triggers.

        Without a feature row the executive scope sees only ``strategic`` (an account in scope
        by another feature, e.g. ARR, is not sent to the executive path): where the row is
        known, call ``decide_with_triggers``.
        """
        d = self.decide_with_triggers(
            p, {"account_strategic": 1.0 if strategic else 0.0}, strategic
        )
        model = d.model_action
        decision = "escalate" if model == "executive" else model
        return decision, model == "executive"  # type: ignore[return-value]

    def decide_frame(
        self, p: np.ndarray, frame: pd.DataFrame, strategic: np.ndarray | None = None
    ) -> pd.DataFrame:
        """``decide_with_triggers`` for every row of a feature DataFrame (vectorised).

        Args:
            p: calibrated probability per row of ``frame``.
            frame: feature rows with at least the columns of ``feature_names()``.
            strategic: per row, use the strategic bands; None reads ``account_strategic`` (> 0).

        Returns:
            Same index as ``frame``: model_rank, trigger_rank, rank (the final, ACTION_RANK),
            action, decision, executive, band; plus one bool column per trigger,
            ``fired.<name>``.
        """
        p = np.asarray(p, dtype="float64")
        if strategic is None:
            strategic = (
                frame["account_strategic"].to_numpy(dtype="float64", na_value=0.0) > 0
                if "account_strategic" in frame.columns
                else np.zeros(len(frame), dtype=bool)
            )
        s = self.bands_for(True)
        d = self.default
        pick = np.asarray(strategic, dtype=bool)
        watch = np.where(pick, s.watch, d.watch)
        esc = np.where(pick, s.escalate, d.escalate)
        exe = np.where(pick, s.executive, d.executive)
        band_rank = np.select([p >= exe, p >= esc, p >= watch], [3, 2, 1], 0).astype("int8")
        model = band_rank.copy()
        if self.executive_scope is not None:
            model[(model == 3) & ~self.executive_scope.contains_frame(frame)] = 2
        trig = trigger_ranks(self.triggers, frame)
        rank = np.maximum(model, trig)
        actions = np.asarray(ACTIONS, dtype=object)[rank]
        out = pd.DataFrame(
            {
                "model_rank": model,
                "trigger_rank": trig,
                "rank": rank,
                "action": actions,
                "decision": np.where(rank == 3, "escalate", actions),
                "executive": rank == 3,
                "band": np.asarray(_BANDS, dtype=object)[band_rank],
            },
            index=frame.index,
        )
        for t in self.triggers:
            out[f"fired.{t.name}"] = t.fires_frame(frame)
        return out

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "default": asdict(self.default),
                "segments": {k: asdict(v) for k, v in self.segments.items()},
                "triggers": [t.to_obj() for t in self.triggers],
                "executive_scope": (
                    None if self.executive_scope is None else self.executive_scope.to_obj()
                ),
                "source": self.source,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ThresholdPolicy:
        """Parse a policy; JSON without triggers or executive scope (older versions) loads with
        none.

        Raises:
            ValueError: not a policy; a trigger that does not parse (unknown feature name, bad
                operator...); a version that does not match the content.
        """
        obj = json.loads(text)
        try:
            scope = obj.get("executive_scope")
            policy = cls(
                Bands(**obj["default"]),
                {k: Bands(**v) for k, v in obj.get("segments", {}).items()},
                obj.get("source", {}),
                parse_triggers(obj.get("triggers") or []),
                None if scope is None else parse_scope(scope, "executive_scope"),
            )
        except TriggerError as err:
            raise ValueError(f"threshold policy: {err}") from None
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"not a threshold policy: {err}") from None
        if "version" in obj and obj["version"] != policy.version:
            raise ValueError("threshold policy version does not match its thresholds")
        return policy
