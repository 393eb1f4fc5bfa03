"""The read side of the MLflow model registry, shared by training, evaluation and the service.

One place for: the tracking set-up (embedded SQLite + ``./mlartifacts`` unless
``MLFLOW_TRACKING_URI`` says otherwise), parsing ``models:/NAME@ALIAS`` / ``models:/NAME/VERSION``,
reading a registered version's artifacts with the feature-set check, and reading the tuned
threshold policy a version may carry. Writing (runs, registration, promotion, storing a policy)
belongs to ``training``.

A tuned policy is a JSON artifact of the version's run, ``policies/<policy version>.json``; the
model version carries two tags: ``policy_artifact`` (that path; set only when a policy is stored)
and ``policy_version`` (its content hash; training sets it for the bundled policy too).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.registry import FEATURE_SET_VERSION
from models.classifier import CalibratedBooster
from models.policy import ThresholdPolicy

EXPERIMENT = "escalation-risk"
POLICY_VERSION_TAG = "policy_version"
POLICY_ARTIFACT_TAG = "policy_artifact"
POLICY_FOLDER = "policies"
_POLICY_ARTIFACT_RE = re.compile(rf"^{POLICY_FOLDER}/p-[0-9a-f]+\.json$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``models:/`` URI: a name and either an alias or a version."""

    name: str
    alias: str | None = None
    version: str | None = None

    @property
    def uri(self) -> str:
        return (
            f"models:/{self.name}@{self.alias}"
            if self.alias
            else f"models:/{self.name}/{self.version}"
        )


def parse_model_uri(uri: str) -> ModelRef:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` -> :class:`ModelRef`.

    Raises:
        ValueError: on any other form (the message shows both accepted forms).
    """
    ref = uri.removeprefix("models:/") if uri.startswith("models:/") else ""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        if name and alias:
            return ModelRef(name, alias=alias)
    elif "/" in ref:
        name, version = ref.rsplit("/", 1)
        if name and version:
            return ModelRef(name, version=version)
    raise ValueError(
        f"model must look like models:/NAME@ALIAS or models:/NAME/VERSION, got {uri!r}"
    )


def configure_tracking(tracking_uri: str | None = None) -> str:
    """Point MLflow at ``tracking_uri``, $MLFLOW_TRACKING_URI or the embedded SQLite store.

    With the embedded store, artifacts go to ``./mlartifacts`` (absolute, so a later change of
    directory does not move them). Returns the URI in use.
    """
    import mlflow

    uri = (
        tracking_uri
        or os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    )
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = None
        if uri.startswith("sqlite:"):
            location = (Path.cwd() / "mlartifacts").resolve().as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)
    return uri


def champion_version(name: str, alias: str = "champion") -> str | None:
    """The version ``alias`` points at, or None when the alias is not set.

    Raises:
        mlflow.exceptions.MlflowException: on any other registry error (unreachable, ...).
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException as err:
        if "not found" in str(err.message) and err.error_code in (
            "INVALID_PARAMETER_VALUE",
            "RESOURCE_DOES_NOT_EXIST",
        ):
            return None
        raise


def resolve(ref: ModelRef) -> tuple[str, str]:
    """(version, ``policy_version`` tag) that ``ref`` points at now.

    Raises:
        ValueError: for an unknown model, alias or version (the registry's message).
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    try:
        mv = (
            client.get_model_version_by_alias(ref.name, ref.alias)
            if ref.alias
            else client.get_model_version(ref.name, str(ref.version))
        )
    except MlflowException as err:
        raise ValueError(f"{ref.uri}: {err.message}") from None
    return str(mv.version), str((mv.tags or {}).get(POLICY_VERSION_TAG, ""))


def download(name: str, version: str, dst: Path | None = None) -> Path:
    """Download a version's artifacts; return the folder holding ``booster.txt`` and the rest."""
    import mlflow

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}", dst_path=str(dst) if dst else None
        )
    )
    return local / "artifacts" if (local / "artifacts").exists() else local


class FeatureSetMismatch(ValueError):
    """A model was trained on another feature set than the one this code builds."""


def check_feature_set(metadata: dict[str, Any], source: str) -> None:
    """Refuse a model trained on another feature set than the one this code builds.

    Raises:
        FeatureSetMismatch: naming both versions.
    """
    trained = metadata.get("feature_set_version")
    if trained != FEATURE_SET_VERSION:
        raise FeatureSetMismatch(
            f"{source} was trained on feature set {trained}; this code builds "
            f"{FEATURE_SET_VERSION} (retrain the model with this code)"
        )


@dataclass(frozen=True)
class ModelArtifacts:
    """What a registered version bundles: the calibrated booster, its policy and metadata."""

    model: CalibratedBooster
    policy: ThresholdPolicy
    metadata: dict[str, Any]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(X)


def load_artifacts(folder: Path, source: str = "the model") -> ModelArtifacts:
    """Read a version's artifact folder (booster.txt, calibrator.json, policy.json, metadata.json),
    checking the feature-set version first.

    Raises:
        ValueError: on another feature set; FileNotFoundError when a file is missing.
    """
    folder = Path(folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    check_feature_set(metadata, source)
    model = CalibratedBooster.load(str(folder / "booster.txt"), str(folder / "calibrator.json"))
    policy = ThresholdPolicy.from_json((folder / "policy.json").read_text())
    return ModelArtifacts(model, policy, metadata)


@dataclass(frozen=True)
class RegisteredModel(ModelArtifacts):
    """A registered version's artifacts with where they came from."""

    uri: str = ""
    version: str | None = None


def load_registered(uri: str) -> RegisteredModel:
    """Download and load ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` (tracking configured
    here)."""
    configure_tracking()
    ref = parse_model_uri(uri)
    version, _ = resolve(ref)
    art = load_artifacts(download(ref.name, version), uri)
    return RegisteredModel(art.model, art.policy, art.metadata, uri=uri, version=version)


def load_policy(model_name: str, version: str) -> ThresholdPolicy | None:
    """The tuned policy of a model version, or None if it has none (use the bundled one).

    Raises:
        ValueError: when the tags and the stored JSON disagree, or the JSON is not a policy.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    mv = MlflowClient().get_model_version(model_name, str(version))
    tags = mv.tags or {}
    path = tags.get(POLICY_ARTIFACT_TAG)
    if not path:
        return None
    if not _POLICY_ARTIFACT_RE.match(path):
        raise ValueError(
            f"models:/{model_name}/{version}: unexpected {POLICY_ARTIFACT_TAG} {path!r}"
        )
    policy = ThresholdPolicy.from_json(mlflow.artifacts.load_text(f"runs:/{mv.run_id}/{path}"))
    if tags.get(POLICY_VERSION_TAG) != policy.version:
        raise ValueError(
            f"models:/{model_name}/{version}: tag {POLICY_VERSION_TAG}="
            f"{tags.get(POLICY_VERSION_TAG)} but {path} holds policy {policy.version}"
        )
    return policy
