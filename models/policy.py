"""The threshold policy: probability -> decision, versioned JSON stored with the model version.

Bands per segment: below ``watch`` nothing; from ``watch`` a watch-list entry; from ``escalate``
an alert; from ``executive`` an alert that goes to the executive path. Strategic accounts may run
lower thresholds (their own segment).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Decision = Literal["none", "watch", "escalate"]
Band = Literal["low", "watch", "high", "critical"]


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


@dataclass(frozen=True)
class ThresholdPolicy:
    default: Bands
    segments: dict[str, Bands] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def escalate(self) -> float:
        return self.default.escalate

    @property
    def version(self) -> str:
        """Content hash: the same thresholds give the same version."""
        body = json.dumps(
            {
                "default": asdict(self.default),
                "segments": {k: asdict(v) for k, v in sorted(self.segments.items())},
            },
            sort_keys=True,
        )
        return "p-" + hashlib.sha256(body.encode()).hexdigest()[:10]

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

    def decide(self, p: float, strategic: bool = False) -> tuple[Decision, bool]:
        """(decision, executive?) for a calibrated probability: the band as an action."""
        band = self.band(p, strategic)
        if band in ("high", "critical"):
            return "escalate", band == "critical"
        return ("watch" if band == "watch" else "none"), False

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "default": asdict(self.default),
                "segments": {k: asdict(v) for k, v in self.segments.items()},
                "source": self.source,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ThresholdPolicy:
        obj = json.loads(text)
        try:
            policy = cls(
                Bands(**obj["default"]),
                {k: Bands(**v) for k, v in obj.get("segments", {}).items()},
                obj.get("source", {}),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a threshold policy: {err}") from None
        if "version" in obj and obj["version"] != policy.version:
            raise ValueError("threshold policy version does not match its thresholds")
        return policy
