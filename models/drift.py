"""Population stability of features and scores: a reference distribution and the PSI against it.

The reference is taken once, on the training window of a registered model (by
``training.report.drift``), and stored with the model version's run as the JSON artifact
``drift/reference.json`` (model-version tag ``drift_reference``). The service and the report read it
from there; neither recomputes it from training data.

Binning: a numeric column gets up to 10 quantile bins of the reference (cut points at the
reference's deciles, duplicates merged, open-ended outer bins) plus one bin for missing values; a
categorical column one bin per reference level (the 20 most frequent), one for any other level
and one for missing. PSI = sum over bins of (a - e) * ln(a / e) with the shares e (reference) and
a (recent), each floored at 1e-4 so that an empty bin counts as a large, finite shift.

Thresholds (the usual reading of PSI): below 0.1 stable; from 0.1 "look" (a moderate shift: find
out why); from 0.25 "retrain" (the population the model learnt on has moved).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

PSI_LOOK = 0.1
PSI_RETRAIN = 0.25
N_BINS = 10
MAX_LEVELS = 20
MIN_SHARE = 1e-4
SCORE = "score"  # the name the model's calibrated probability goes by in a reference
REFERENCE_ARTIFACT = "drift/reference.json"
REFERENCE_TAG = "drift_reference"
OTHER, MISSING = "__other__", "__missing__"

Status = Literal["ok", "look", "retrain"]


def drift_status(psi: float | None) -> Status | None:
    """``ok`` below 0.1, ``look`` from 0.1, ``retrain`` from 0.25; None when not computed."""
    if psi is None or not np.isfinite(psi):
        return None
    if psi >= PSI_RETRAIN:
        return "retrain"
    if psi >= PSI_LOOK:
        return "look"
    return "ok"


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two count (or share) vectors over the same bins.

    Raises:
        ValueError: when the vectors differ in length or one of them is empty.
    """
    e = np.asarray(expected, dtype="float64")
    a = np.asarray(actual, dtype="float64")
    if e.shape != a.shape or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("psi needs two non-empty distributions over the same bins")
    e = np.maximum(e / e.sum(), MIN_SHARE)
    a = np.maximum(a / a.sum(), MIN_SHARE)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class ColumnReference:
    """One column's reference bins and the share of reference rows in each.

    Numeric: ``edges`` are the interior cut points (bins (-inf, e0], (e0, e1], ..., (ek, inf)),
    then the missing bin. Categorical: ``levels`` then ``__other__`` then ``__missing__``.
    """

    name: str
    kind: Literal["numeric", "categorical"]
    shares: tuple[float, ...]
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()

    def counts(
        self, values: pd.Series | np.ndarray, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """How many of ``values`` (or how much of their ``weights``) fall in each bin."""
        s = pd.Series(values).reset_index(drop=True)
        w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype="float64")
        missing = s.isna().to_numpy()
        if self.kind == "numeric":
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            missing = missing | np.isnan(x)
            idx = np.searchsorted(np.asarray(self.edges), x[~missing], side="left")
            n_bins = len(self.edges) + 1
        else:
            known = {level: i for i, level in enumerate(self.levels)}
            text = s[~missing].astype(str)
            idx = text.map(known).fillna(len(self.levels)).to_numpy(dtype=np.int64)
            n_bins = len(self.levels) + 1
        counts = np.bincount(idx, weights=w[~missing], minlength=n_bins)
        return np.r_[counts, w[missing].sum()]

    def psi(
        self, values: pd.Series | np.ndarray, weights: np.ndarray | None = None
    ) -> float | None:
        """PSI of ``values`` against this reference; None when ``values`` is empty."""
        actual = self.counts(values, weights)
        if actual.sum() == 0:
            return None
        return psi(np.asarray(self.shares), actual)


def column_reference(
    name: str,
    values: pd.Series,
    categorical: bool = False,
    weights: np.ndarray | None = None,
) -> ColumnReference:
    """The reference bins of one column from its training-window values (bin edges from the
    unweighted values, shares weighted)."""
    s = pd.Series(values).reset_index(drop=True)
    if categorical or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        text = s[s.notna()].astype(str)
        levels = tuple(text.value_counts().index[:MAX_LEVELS].astype(str))
        ref = ColumnReference(name, "categorical", (), levels=levels)
    else:
        x = s.to_numpy(dtype="float64", na_value=np.nan)
        x = x[np.isfinite(x)]
        edges: tuple[float, ...] = ()
        if len(x):
            qs = np.quantile(x, np.linspace(0, 1, N_BINS + 1)[1:-1])
            edges = tuple(float(v) for v in np.unique(qs))
        ref = ColumnReference(name, "numeric", (), edges=edges)
    counts = ref.counts(s, weights)
    total = counts.sum()
    shares = tuple(float(c / total) for c in counts) if total else tuple(0.0 for _ in counts)
    return ColumnReference(ref.name, ref.kind, shares, ref.edges, ref.levels)


@dataclass(frozen=True)
class DriftReference:
    """Reference distributions of a model's features and score, with the window they come from.

    ``window`` holds ``start`` / ``end`` (ISO UTC, snapshot as_of), ``rows`` and ``source``.
    """

    columns: dict[str, ColumnReference]
    window: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [c for c in self.columns if c != SCORE]

    def to_json(self) -> str:
        return json.dumps(
            {"window": self.window, "columns": [asdict(c) for c in self.columns.values()]},
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> DriftReference:
        """Raises ValueError when the JSON is not a drift reference."""
        try:
            raw = json.loads(text)
            cols = {
                c["name"]: ColumnReference(
                    name=c["name"],
                    kind=c["kind"],
                    shares=tuple(float(v) for v in c["shares"]),
                    edges=tuple(float(v) for v in c.get("edges", ())),
                    levels=tuple(str(v) for v in c.get("levels", ())),
                )
                for c in raw["columns"]
            }
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"not a drift reference: {err}") from None
        return cls(cols, dict(raw.get("window", {})))


def build_reference(
    X: pd.DataFrame,
    features: Sequence[str],
    categorical: Iterable[str] = (),
    score: np.ndarray | None = None,
    window: dict[str, Any] | None = None,
    weights: np.ndarray | None = None,
) -> DriftReference:
    """Reference bins of ``features`` (columns of ``X``) and, if given, of the model's score.

    ``weights`` (one per row) let each ticket count once however many snapshots it has.
    """
    cat = set(categorical)
    cols = {f: column_reference(f, X[f], f in cat, weights) for f in features}
    if score is not None:
        cols[SCORE] = column_reference(SCORE, pd.Series(score, dtype="float64"), False, weights)
    return DriftReference(cols, dict(window or {}))


def drift_table(
    reference: DriftReference, X: pd.DataFrame, weights: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """PSI and status of every reference column found in ``X`` (the score as column ``score``),
    rows weighted by ``weights`` if given.

    Returns one dict per column: ``column``, ``psi`` (None when ``X`` is empty), ``status``,
    ``rows``; sorted by PSI, largest first.
    """
    rows = []
    for name, ref in reference.columns.items():
        if name not in X.columns:
            continue
        value = ref.psi(X[name], weights)
        rows.append(
            {
                "column": name,
                "psi": None if value is None else round(value, 4),
                "status": drift_status(value),
                "rows": int(len(X)),
            }
        )
    rows.sort(key=lambda r: -1.0 if r["psi"] is None else r["psi"], reverse=True)
    return rows


def overall_status(table: list[dict[str, Any]]) -> Status | None:
    """The worst status of a drift table (None when nothing was computed)."""
    order = {"ok": 0, "look": 1, "retrain": 2}
    seen = [r["status"] for r in table if r["status"] is not None]
    return max(seen, key=order.__getitem__) if seen else None


def load_reference(model_name: str, version: str) -> DriftReference | None:
    """The drift reference stored with a registered model version, or None if it has none.

    Raises:
        ValueError: when the stored artifact is not a drift reference.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    mv = MlflowClient().get_model_version(model_name, str(version))
    path = (mv.tags or {}).get(REFERENCE_TAG)
    if not path:
        return None
    if path != REFERENCE_ARTIFACT:
        raise ValueError(f"models:/{model_name}/{version}: unexpected {REFERENCE_TAG} {path!r}")
    return DriftReference.from_json(mlflow.artifacts.load_text(f"runs:/{mv.run_id}/{path}"))
