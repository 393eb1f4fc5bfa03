"""Runtime settings of the scoring service: one pydantic-settings class, read from the environment.

Every setting has an ``ESCALATION_RISK_`` environment variable (e.g. ``ESCALATION_RISK_API_KEYS``);
a ``.env`` file in the working directory is read too (see ``.env.example``).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.core.security import KeyConfigError, KeyRing


class Settings(BaseSettings):
    """Service settings (environment variables ``ESCALATION_RISK_<NAME>``)."""

    model_config = SettingsConfigDict(
        env_prefix="ESCALATION_RISK_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        protected_namespaces=(),
        hide_input_in_errors=True,  # a refused setting may be a key: never print its value
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

    # -- events, alerts and the shared store (issue 16) -----------------------------------
    ticket_cache_size: int = Field(
        10_000, ge=1, description="tickets whose events each worker keeps in memory (LRU)"
    )
    alert_webhooks: list[str] = Field(
        default_factory=list,
        description="webhook URLs sent a generic JSON alert (JSON list: '[\"https://...\"]')",
    )
    alert_slack_webhooks: list[str] = Field(
        default_factory=list, description="webhook URLs sent a Slack-compatible alert body"
    )
    alert_max_attempts: int = Field(8, ge=1, description="tries per delivery before dead letter")
    alert_backoff_seconds: float = Field(
        2.0, gt=0, description="first retry delay; doubles per failed try"
    )
    alert_backoff_max_seconds: float = Field(300.0, gt=0, description="longest retry delay")
    alert_timeout_seconds: float = Field(5.0, gt=0, description="per webhook call")
    alert_poll_seconds: float = Field(1.0, gt=0, description="how often due deliveries are sent")
    alert_lease_seconds: float = Field(
        60.0, gt=0, description="a claimed delivery is another worker's to retry after this"
    )

    @field_validator("alert_webhooks", "alert_slack_webhooks")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")) or len(url) > 2000:
                raise ValueError("every webhook must be an http:// or https:// URL")
        return value

    # -- end of issue 16's settings --------------------------------------------------------

    # -- auth, limits and personal data (README "Security") -------------------------------------
    api_keys: str = Field(
        "",
        repr=False,  # never in a logged repr of the settings
        description="comma-separated `scope:key` entries (scopes: score, feedback, read, admin; "
        "an entry without a scope grants score, feedback and read); empty: no authentication, "
        "which the service only accepts on a loopback address",
    )
    allow_unauthenticated: bool = Field(
        False,
        description="serve a non-loopback address without API keys (something in front must "
        "authenticate); logged as a warning at every start",
    )
    metrics_loopback_open: bool = Field(
        False, description="/metrics answers loopback clients without a key (a local scraper)"
    )
    max_in_flight: int = Field(8, ge=1, description="requests processed at once per worker")
    max_queue: int = Field(
        32, ge=0, description="requests waiting for a slot per worker; beyond them 503 at once"
    )
    queue_timeout_seconds: float = Field(
        1.0, gt=0, le=60, description="longest wait for a slot before 503 (Retry-After)"
    )
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After of a 503 (overload)")
    rate_limit_per_second: float = Field(
        20.0, ge=0, description="requests per second per API key (token bucket); 0: no limit"
    )
    rate_limit_burst: int = Field(40, ge=1, description="token-bucket size per API key")
    redact_personal_data: bool = Field(
        True,
        description="replace e-mail addresses, phone numbers, card numbers and IBANs in "
        "answers, briefs and logs",
    )
    retention_days: float = Field(
        400.0,
        ge=0,
        description="stored tickets, events, scores and alerts older than this are purged "
        "(0: never); above 365 so the 365-day account features keep their history",
    )
    purge_interval_seconds: float = Field(
        3600.0, gt=0, description="how often the retention purge runs in the service"
    )

    @field_validator("api_keys")
    @classmethod
    def _valid_keys(cls, value: str) -> str:
        try:
            KeyRing.parse(value)
        except KeyConfigError as err:  # the message names the entry, never the key
            raise ValueError(f"ESCALATION_RISK_API_KEYS: {err}") from None
        return value

    @property
    def keys(self) -> frozenset[str]:
        """The raw keys of every scope: kept for code written before scopes (it grants any
        valid key everything). Check a key with ``key_ring.check`` or
        :func:`serving.api.deps.check_key` instead."""
        entries = (e.strip() for e in self.api_keys.split(",") if e.strip())
        return frozenset(e.partition(":")[2].strip() if ":" in e else e for e in entries)

    @cached_property
    def key_ring(self) -> KeyRing:
        """The API keys as digests and scopes (empty: no authentication)."""
        return KeyRing.parse(self.api_keys)

    def compute_threads(self) -> int:
        """Threads per worker so that threads x workers <= CPUs."""
        if self.threads is not None:
            return self.threads
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        return max(1, cpus // self.workers)
