"""The declaration of one feature: name, group, dtype, description, formula and wording."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from features.inputs import SnapshotInputs

DType = Literal["float", "int", "bool", "category"]
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
    """

    name: str
    group: str
    dtype: DType
    description: str
    formula: Formula
    words: Words | None = None
