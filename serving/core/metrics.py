"""The service's Prometheus metrics (one registry per app: several apps may share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Prometheus metrics of one app: requests, latency, decisions, the served model."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "escalation_requests", "HTTP requests", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "escalation_request_seconds",
            "request latency",
            ["route"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.decisions = Counter(
            "escalation_decisions", "scored tickets by decision", ["action"], registry=r
        )
        self.probability = Histogram(
            "escalation_probability",
            "calibrated probabilities served",
            buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9),
            registry=r,
        )
        self.model_info = Gauge(
            "escalation_model_info",
            "the served model (value 1)",
            ["name", "version", "policy_version", "source"],
            registry=r,
        )
        self.ready = Gauge("escalation_ready", "1 when ready to score", registry=r)
        self.swaps = Counter("escalation_model_swaps", "model or policy swaps", registry=r)
