"""Runtime settings of the scoring service: one pydantic-settings class, read from the environment.

Every setting has an ``ESCALATION_RISK_`` environment variable (e.g. ``ESCALATION_RISK_API_KEYS``);
a ``.env`` file in the working directory is read too (see ``.env.example``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that look like an unfilled template: refusing them beats running with a known key.
_PLACEHOLDERS = {"changeme", "change-me", "secret", "your-key-here", "xxx", "todo"}


class Settings(BaseSettings):
    """Service settings (environment variables ``ESCALATION_RISK_<NAME>``)."""

    model_config = SettingsConfigDict(
        env_prefix="ESCALATION_RISK_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        protected_namespaces=(),
    )

    model_uri: str = Field(
        "models:/escalation-risk@champion",
        description="registered model to serve: models:/NAME@ALIAS or models:/NAME/VERSION",
    )
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )
    store_path: Path = Field(Path("serving.db"), description="the service's SQLite store")
    backfill_dir: Path | None = Field(
        None, description="data folder loaded into an empty store at start (account history)"
    )
    model_cache_dir: Path = Field(
        Path(".cache/serving-model"), description="last-known-good local copy of the model"
    )
    api_keys: str = Field(
        "", description="comma-separated API keys; empty: no authentication (local use)"
    )
    refresh_seconds: float = Field(
        30.0, gt=0, description="how often the alias, the policy and the store are re-read"
    )
    max_batch: int = Field(64, ge=1, le=1000, description="tickets per /v1/score/batch call")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="request body limit (413)")
    max_events: int = Field(1000, ge=1, description="events per ticket in one request")
    max_text_chars: int = Field(20_000, ge=1, description="characters per event text")
    threads: int | None = Field(
        None, ge=1, description="compute threads per worker (default: CPUs / workers)"
    )
    workers: int = Field(1, ge=1, description="uvicorn worker processes")

    @field_validator("api_keys")
    @classmethod
    def _no_placeholder_keys(cls, value: str) -> str:
        for key in (k.strip() for k in value.split(",") if k.strip()):
            if key.lower() in _PLACEHOLDERS or len(key) < 16:
                raise ValueError(
                    "ESCALATION_RISK_API_KEYS holds a placeholder or a key shorter than 16 "
                    "characters; set real keys (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'`) or leave it empty for no auth"
                )
        return value

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    def compute_threads(self) -> int:
        """Threads per worker so that threads x workers <= CPUs."""
        if self.threads is not None:
            return self.threads
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        return max(1, cpus // self.workers)
