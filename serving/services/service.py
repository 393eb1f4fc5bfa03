"""The service's state and lifecycle: settings, the model manager, the store, the scorer and the
feature context, loaded once (``boot``), warmed up, and refreshed in the background.

``boot`` never raises: what went wrong shows in ``/readyz`` and ``/v1/model``, and the process
stays alive to say so.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from features.context import FeatureContext
from models.sentiment import load_sentiment_model
from models.text_scorer import TransformerTextScorer
from serving.core.config import Settings
from serving.core.errors import InputError, ServiceError
from serving.core.metrics import Metrics
from serving.schemas import ScoreIn
from serving.services.model import ModelManager, ServedModel
from serving.services.scoring import Scorer
from serving.services.store import Store

log = logging.getLogger(__name__)

# One full request, scored before /readyz says yes (tokenizer, ONNX session, trees).
WARM_UP_REQUEST = {
    "ticket": {"ticket_id": "warm-up", "created_at": "2026-01-05T09:00:00Z", "priority": "P2"},
    "account": {"account_id": "warm-up"},
    "events": [
        {
            "ts": "2026-01-05T09:00:00Z",
            "event_type": "customer_message",
            "actor": "customer",
            "text": "Our dashboard has been down since this morning, please help.",
        },
        {
            "ts": "2026-01-05T09:20:00Z",
            "event_type": "assignment",
            "actor": "system",
            "team": "frontline",
            "tier": 1,
            "agent_id": "warm-up-agent",
        },
    ],
    "as_of": "2026-01-05T10:00:00Z",
}


class Service:
    """What the routes share: settings, model manager, store, scorer, context, metrics."""

    def __init__(
        self,
        settings: Settings,
        manager: ModelManager | None = None,
        store: Store | None = None,
        text_scorer: Any = None,
    ) -> None:
        self.settings = settings
        self.manager = manager or ModelManager(settings)
        self.store = store
        self.scorer = Scorer(text_scorer)
        self.context: FeatureContext | None = None
        self._context_version = -1
        self._context_seconds = 0.0
        self._context_at = float("-inf")
        self.warm = False
        self.metrics = Metrics()
        self.stop = threading.Event()
        self.boot_error: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.warm and self.manager.current is not None and self.context is not None

    def boot(self) -> None:
        """Load everything; never raises (the reason shows in /readyz and /v1/model)."""
        try:
            if self.store is None:
                self.store = Store(self.settings.store_path)
            if self.settings.backfill_dir is not None:
                self.store.backfill(self.settings.backfill_dir, self._text_scorer_for_backfill())
            self.refresh_context(force=True)
            served = self.manager.start()
            if served is not None:
                self._check_text_model(served)
                self._publish(served)
                self.warm_up(served)
        except Exception as err:  # keep the process alive and say why it is not ready
            log.exception("start-up failed")
            self.boot_error = f"start-up failed: {err}"

    def _text_scorer_for_backfill(self):
        if self.scorer.text_scorer is None:
            self.scorer.text_scorer = _load_text_scorer(self.settings)
        return self.scorer.text_scorer

    def _check_text_model(self, served: ServedModel) -> None:
        """A model trained on text signals needs the very same sentiment/intent artifacts."""
        if not served.text_model:
            return
        if self.scorer.text_scorer is None:
            self.scorer.text_scorer = _load_text_scorer(self.settings)
        have = self.scorer.text_scorer.version
        if have != served.text_model:
            raise RuntimeError(
                f"model v{served.version} was trained with text model {served.text_model}; this "
                f"service has {have}: scores would silently differ, so it refuses to serve"
            )

    def warm_up(self, served: ServedModel) -> None:
        """One full scoring pass (tokenizer, ONNX session, trees) before /readyz says yes."""
        self.scorer.score(ScoreIn.model_validate(WARM_UP_REQUEST), served, self.context)
        self.warm = True
        self.metrics.ready.set(1)

    def refresh_context(self, force: bool = False) -> None:
        """Rebuild the other tickets' context from the store when it changed.

        A rebuild holds the interpreter for a while (0.6 s for 5,000 tickets), so it runs at
        most once per 20 times its own duration: at most 5% of the time, however large the
        history grows.
        """
        store = self.store
        if store is None or (not force and store.version == self._context_version):
            return
        if not force and time.monotonic() - self._context_at < 20 * self._context_seconds:
            return
        version = store.version
        t0 = time.perf_counter()
        self.context = store.context().index_for_overlays()
        self._context_version = version
        self._context_seconds = time.perf_counter() - t0
        self._context_at = time.monotonic()
        log.info("feature context rebuilt from the store in %.2f s", self._context_seconds)

    def refresh_loop(self) -> None:
        """Every ``refresh_seconds`` until ``stop`` is set: follow the alias and the policy,
        rebuild the context if the store changed. Errors are logged and retried."""
        while not self.stop.wait(self.settings.refresh_seconds):
            try:
                before = self.manager.current
                if self.manager.refresh():
                    served = self.manager.current
                    self._check_text_model(served)
                    self._publish(served, before)
                    if not self.warm:
                        self.warm_up(served)
                self.refresh_context()
            except Exception:
                log.exception("background refresh failed (will retry)")

    def _publish(self, served: ServedModel, before: ServedModel | None = None) -> None:
        self.metrics.model_info.clear()
        self.metrics.model_info.labels(**served.ref()).set(1)
        if before is not None:
            self.metrics.swaps.inc()

    # -- scoring ---------------------------------------------------------------------------------
    def served(self) -> ServedModel:
        """The model a request uses from start to end; 503 until ready."""
        served = self.manager.current
        if served is None or not self.ready:
            raise ServiceError(503, "not_ready", f"the model is not ready: {self.status()}")
        return served

    def status(self) -> str:
        if self.boot_error:
            return self.boot_error
        if self.manager.current is not None and not self.warm:
            return "warming up"
        return self.manager.status

    def check_limits(self, req: ScoreIn, prefix: str = "") -> None:
        """The settings' per-ticket limits (events, text length), tighter than the schema's."""
        s = self.settings
        if len(req.events) > s.max_events:
            raise InputError(f"{prefix}events", f"at most {s.max_events} events per ticket")
        for i, ev in enumerate(req.events):
            if ev.text is not None and len(ev.text) > s.max_text_chars:
                raise InputError(
                    f"{prefix}events[{i}].text", f"at most {s.max_text_chars} characters"
                )

    def score_one(self, req: ScoreIn, served: ServedModel) -> dict:
        """Score one ticket with ``served``; the store keeps the ticket, metrics count it."""
        stored = self.store.account(req.account.account_id) if self.store else None
        result = self.scorer.score(req, served, self.context, stored)
        if self.store is not None:
            self.store.record_ticket(result.account, result.ticket, result.events)
        b = result.body
        self.metrics.decisions.labels(b["decision"]["action"]).inc()
        self.metrics.probability.observe(b["probability"])
        return b

    def record_scores(self, bodies: list[dict], served: ServedModel) -> None:
        """Keep what was answered, by which model and policy version (monitoring)."""
        if self.store is None:
            return
        self.store.record_score(
            [
                (
                    b["ticket_id"],
                    b["as_of"],
                    b["probability"],
                    b["decision"]["action"],
                    served.version,
                    served.policy.version,
                )
                for b in bodies
            ]
        )


def _load_text_scorer(settings: Settings) -> TransformerTextScorer:
    return TransformerTextScorer(load_sentiment_model(threads=settings.compute_threads()))
