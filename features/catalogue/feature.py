"""The declaration of one feature: name, group, dtype, description, formula, wording, the
direction the risk may move in as it grows, and whether it may be shown as a reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from features.inputs import SnapshotInputs

DType = Literal["float", "int", "bool", "category"]
Direction = Literal[-1, 0, 1]
Formula = Callable[[SnapshotInputs], np.ndarray]
Words = Callable[[float, Mapping[str, object]], str]


@dataclass(frozen=True)
class Feature:
    """One feature, declared once.

    Attributes:
        name: ``<entity>_<signal>[_<window>]``.
        group: text, timing, process, account or context.
        dtype: how models read it (values are float64, or objects for categories).
        description: one line; also the generic wording of a reason ("<description>: <value>").
        formula: the values for a batch of snapshots, one per snapshot, in their order.
        words: the sentence a reason prints for a finite numeric value, given the whole feature
            row (name -> value); None for the generic wording.
        direction: what support knows about the risk as the value grows, all else equal: +1 it
            never falls, -1 it never rises, 0 no such knowledge (the model is free). Training
            passes it to LightGBM as a monotone constraint. Missing values are not constrained.
        direction_reason: one line saying why; required when ``direction`` is not 0.
        explain: whether the feature may be shown as a reason. False for calendar, id-like and
            technical features a support lead would not act on (the model still reads them).
        topic: features that tell one story (waiting, sla, sentiment, value...); reasons show
            the strongest of a topic only. Empty: a topic of its own.
    """

    name: str
    group: str
    dtype: DType
    description: str
    formula: Formula
    words: Words | None = None
    direction: Direction = 0
    direction_reason: str = ""
    explain: bool = True
    topic: str = ""

    def __post_init__(self) -> None:
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"{self.name}: direction must be -1, 0 or +1, not {self.direction}")
        if self.direction and self.dtype == "category":
            raise ValueError(f"{self.name}: a category has no direction")
        reason = self.direction_reason.strip()
        if self.direction and (not reason or "\n" in reason):
            raise ValueError(f"{self.name}: a direction needs a one-line direction_reason")
        if not self.direction and reason:
            raise ValueError(f"{self.name}: direction_reason given for an unconstrained feature")
