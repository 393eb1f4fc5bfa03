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
        # Backpressure (README "Security"): what was refused before any work, and the queue.
        self.rejected = Counter(
            "escalation_rejected",
            "requests refused before any work: overload (503) or rate_limit (429)",
            ["reason"],
            registry=r,
        )
        self.in_flight = Gauge("escalation_in_flight", "requests being processed", registry=r)
        self.queued = Gauge("escalation_queued", "requests waiting for a slot", registry=r)
        self.queue_wait = Histogram(
            "escalation_queue_wait_seconds",
            "time a request waited for a slot (admitted or refused)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        # Drift of the served model (serving.services.monitor.DriftMonitor; README "Operations
        # report and drift"): PSI per feature and of the score against the version's
        # training-window reference; status -1 unknown, 0 ok, 1 look (>= 0.1), 2 retrain (>= 0.25).
        self.drift_psi = Gauge(
            "escalation_drift_psi", "PSI vs the training window", ["column"], registry=r
        )
        self.drift_status = Gauge(
            "escalation_drift_status", "-1 unknown, 0 ok, 1 look, 2 retrain", registry=r
        )
        self.drift_status.set(-1)
        self.drift_rows = Gauge(
            "escalation_drift_rows", "recent snapshots the drift is measured on", registry=r
        )
        self.alert_precision = Gauge(
            "escalation_alert_precision",
            "precision of first alerts in the window, among tickets with feedback",
            ["window"],
            registry=r,
        )
