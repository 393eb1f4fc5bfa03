"""Storing a tuned threshold policy with a registered model version (the write side; reading is
``models.registry.load_policy``).

A tuned policy is written as a JSON artifact of the version's run, ``policies/<policy
version>.json``, and the model version gets two tags:

- ``policy_artifact``: that artifact's path inside the run (only ever set here);
- ``policy_version``: the policy's content hash (training sets it too, for the policy bundled in
  the model, so its presence alone does not mean a tuned policy exists).

It uses the tracking URI already configured (``models.registry.configure_tracking``).
"""

from __future__ import annotations

import logging

from models.policy import ThresholdPolicy
from models.registry import POLICY_ARTIFACT_TAG, POLICY_FOLDER, POLICY_VERSION_TAG

log = logging.getLogger(__name__)


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
