"""The served model: loaded from the MLflow registry, kept as a last-known-good local copy, and
swapped atomically when the alias (or the version's threshold policy) moves.

A request takes one :class:`ServedModel` reference at its start and uses only that: every
response names the one version that produced it, and a swap never fails a request in flight.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models import registry as model_registry
from models.classifier import CalibratedBooster
from models.policy import ThresholdPolicy
from serving.core.config import Settings

log = logging.getLogger(__name__)
_MANIFEST = "served.json"


@dataclass(frozen=True)
class ServedModel:
    """One registered version with the threshold policy in force for it."""

    name: str
    version: str
    uri: str
    source: str  # "registry" or "local copy (...)"
    model: CalibratedBooster
    policy: ThresholdPolicy
    metadata: dict[str, Any]
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def text_model(self) -> str | None:
        return self.metadata.get("text_model")

    def ref(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "policy_version": self.policy.version,
            "source": self.source,
        }


class Registry:
    """The few MLflow registry calls the service makes (a seam for tests)."""

    def __init__(self, tracking_uri: str | None) -> None:
        model_registry.configure_tracking(tracking_uri)

    def resolve(self, ref: model_registry.ModelRef) -> tuple[str, str]:
        """(version, policy_version tag) the reference points at now."""
        return model_registry.resolve(ref)

    def download(self, name: str, version: str, dst: Path) -> Path:
        return model_registry.download(name, version, dst)

    def tuned_policy(self, name: str, version: str) -> ThresholdPolicy | None:
        """The policy written by the tuning notebook / `escalation-risk tune`, if any."""
        return model_registry.load_policy(name, version)


class ModelManager:
    """Loads, refreshes and hands out the served model. Never raises from start/refresh."""

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.ref = model_registry.parse_model_uri(settings.model_uri)
        self.name = self.ref.name
        self._registry = registry
        self.current: ServedModel | None = None
        self.status = "loading"
        self._policy_tag = ""
        self._lock = threading.Lock()

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry(self.settings.tracking_uri)
        return self._registry

    @property
    def copy_dir(self) -> Path:
        return self.settings.model_cache_dir / self.name

    # -- public --------------------------------------------------------------------------------
    def start(self) -> ServedModel | None:
        """First load: the registry, else the last-known-good local copy, else not ready."""
        try:
            return self._load_from_registry()
        except Exception as err:  # registry down, model missing, bad artifacts: keep serving
            reason = _short(err)
            log.warning("cannot load %s from the registry: %s", self.settings.model_uri, reason)
        try:
            served = self._load_local_copy(f"local copy (registry unavailable: {reason})")
        except FileNotFoundError:
            self.status = f"not ready: registry unavailable ({reason}) and no local copy"
            return None
        except Exception as err:
            self.status = f"not ready: registry unavailable ({reason}); local copy: {_short(err)}"
            return None
        self.swap(served)
        return served

    def refresh(self) -> bool:
        """Follow the alias and the version's policy; True if the served model changed."""
        try:
            version, tag = self.registry.resolve(self.ref)
        except Exception as err:
            if self.current is not None and self.current.source == "registry":
                log.warning("registry check failed, keeping v%s: %s", self.current.version, err)
            return False
        cur = self.current
        if cur is not None and cur.source == "registry" and version == cur.version:
            if tag == self._policy_tag:
                return False
            try:  # same version, new threshold policy
                policy = self.registry.tuned_policy(self.name, version) or cur.policy
            except Exception as err:
                log.warning("cannot read the new policy of v%s: %s", version, err)
                return False
            self._policy_tag = tag
            if policy.version == cur.policy.version:
                return False
            self.swap(dataclasses.replace(cur, policy=policy))
            self._save_local_copy_policy(policy)
            return True
        try:
            self._load_from_registry()
            return True
        except Exception as err:
            log.warning("cannot load v%s, keeping the current model: %s", version, _short(err))
            return False

    def swap(self, served: ServedModel) -> None:
        """Serve ``served`` from now on (requests in flight keep the model they took)."""
        with self._lock:
            self.current = served  # one reference assignment: requests see old or new, whole
            self.status = "ready" if served.source == "registry" else f"ready ({served.source})"
        log.info(
            "serving %s v%s, policy %s (%s)",
            served.name,
            served.version,
            served.policy.version,
            served.source,
        )

    # -- internals -----------------------------------------------------------------------------
    def _load_from_registry(self) -> ServedModel:
        version, tag = self.registry.resolve(self.ref)
        self.copy_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=self.copy_dir.parent))
        try:
            folder = self.registry.download(self.name, version, tmp)
            art = model_registry.load_artifacts(folder, self.settings.model_uri)
            policy = self.registry.tuned_policy(self.name, version) or art.policy
            served = ServedModel(
                self.name,
                version,
                self.settings.model_uri,
                "registry",
                art.model,
                policy,
                art.metadata,
            )
            self._save_local_copy(folder, served)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._policy_tag = tag
        self.swap(served)
        return served

    def _save_local_copy(self, folder: Path, served: ServedModel) -> None:
        staging = self.copy_dir.with_name(self.copy_dir.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(folder, staging)
        (staging / "policy.json").write_text(served.policy.to_json())
        manifest = {"name": served.name, "version": served.version, "uri": served.uri}
        (staging / _MANIFEST).write_text(json.dumps(manifest))
        old = self.copy_dir.with_name(self.copy_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.copy_dir.exists():
            self.copy_dir.rename(old)
        staging.rename(self.copy_dir)
        shutil.rmtree(old, ignore_errors=True)

    def _save_local_copy_policy(self, policy: ThresholdPolicy) -> None:
        try:
            (self.copy_dir / "policy.json").write_text(policy.to_json())
        except OSError as err:
            log.warning("cannot update the local copy's policy: %s", err)

    def _load_local_copy(self, source: str) -> ServedModel:
        manifest_path = self.copy_dir / _MANIFEST
        if not manifest_path.exists():
            raise FileNotFoundError(manifest_path)
        manifest = json.loads(manifest_path.read_text())
        if manifest["name"] != self.name:
            raise ValueError(f"local copy is of {manifest['name']}, not {self.name}")
        art = model_registry.load_artifacts(self.copy_dir, f"the local copy of {self.name}")
        return ServedModel(
            self.name,
            str(manifest["version"]),
            manifest["uri"],
            source,
            art.model,
            art.policy,
            art.metadata,
        )


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]
