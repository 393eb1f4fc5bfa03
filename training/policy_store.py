"""Tuned threshold policies stored with a registered model version.

A tuned policy is written as a JSON artifact of the version's run, ``policies/<policy
version>.json``, and the model version gets two tags:

- ``policy_artifact``: that artifact's path inside the run (only ever set here);
- ``policy_version``: the policy's content hash (training sets it too, for the policy bundled in
  the model, so its presence alone does not mean a tuned policy exists).

``load_policy`` returns the tuned policy, or None when the version was never tuned, so that the
caller falls back to the ``policy.json`` bundled in the model. Both functions use the tracking
URI already configured (``training.tracking.configure_tracking`` in entry points).
"""

from __future__ import annotations

import logging
import re

from models.policy import ThresholdPolicy

log = logging.getLogger(__name__)
POLICY_VERSION_TAG = "policy_version"
POLICY_ARTIFACT_TAG = "policy_artifact"
POLICY_FOLDER = "policies"
_ARTIFACT_RE = re.compile(rf"^{POLICY_FOLDER}/p-[0-9a-f]+\.json$")


def resolve_model_version(model_uri: str) -> tuple[str, str]:
    """(name, version) of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.

    Raises:
        ValueError: on another URI form, or an unknown model, alias or version.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    ref = model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else None
    if not ref or ("@" not in ref and "/" not in ref):
        raise ValueError(
            f"model must look like models:/NAME@ALIAS or models:/NAME/VERSION, got {model_uri!r}"
        )
    client = MlflowClient()
    try:
        if "@" in ref:
            name, alias = ref.split("@", 1)
            return name, str(client.get_model_version_by_alias(name, alias).version)
        name, version = ref.rsplit("/", 1)
        return name, str(client.get_model_version(name, version).version)
    except MlflowException as err:
        raise ValueError(f"{model_uri}: {err.message}") from None


def _run_id(client, model_name: str, version: str) -> str:
    mv = client.get_model_version(model_name, str(version))
    if not mv.run_id:
        raise ValueError(f"models:/{model_name}/{version} has no run to store a policy with")
    return mv.run_id


def save_policy(model_name: str, version: str, policy: ThresholdPolicy) -> str:
    """Write ``policy`` to the model version; return the artifact URI (``runs:/<id>/policies/..``).

    Writing the same thresholds again overwrites the artifact (the version is a content hash);
    the JSON's ``source`` then records the latest derivation.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    run_id = _run_id(client, model_name, version)
    path = f"{POLICY_FOLDER}/{policy.version}.json"
    client.log_text(run_id, policy.to_json(), path)
    # Artifact first, then the tags: a reader never finds a tag pointing at nothing.
    client.set_model_version_tag(model_name, str(version), POLICY_ARTIFACT_TAG, path)
    client.set_model_version_tag(model_name, str(version), POLICY_VERSION_TAG, policy.version)
    log.info("policy %s written to models:/%s/%s", policy.version, model_name, version)
    return f"runs:/{run_id}/{path}"


def load_policy(model_name: str, version: str) -> ThresholdPolicy | None:
    """The tuned policy of a model version, or None if it has none (use the bundled one).

    Raises:
        ValueError: when the tags and the stored JSON disagree, or the JSON is not a policy.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    mv = client.get_model_version(model_name, str(version))
    path = (mv.tags or {}).get(POLICY_ARTIFACT_TAG)
    if not path:
        return None
    if not _ARTIFACT_RE.match(path):
        raise ValueError(
            f"models:/{model_name}/{version}: unexpected {POLICY_ARTIFACT_TAG} {path!r}"
        )
    text = mlflow.artifacts.load_text(f"runs:/{mv.run_id}/{path}")
    policy = ThresholdPolicy.from_json(text)
    tagged = (mv.tags or {}).get(POLICY_VERSION_TAG)
    if tagged != policy.version:
        raise ValueError(
            f"models:/{model_name}/{version}: tag {POLICY_VERSION_TAG}={tagged} but {path} holds "
            f"policy {policy.version}"
        )
    return policy
