"""The FastAPI application: routes, auth, limits, errors, metrics and the background loader.

``create_app()`` builds the app from :class:`Settings`; the model, the store and the text model are
loaded in a background thread started by the lifespan (after any fork), so ``/healthz`` answers at
once and ``/readyz`` turns true when the model is loaded and warmed up.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from features.build import FeatureContext
from serving.config import Settings
from serving.model import ModelManager, ServedModel
from serving.schemas import (
    BatchIn,
    BatchOut,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    ModelOut,
    ScoreIn,
    ScoreOut,
)
from serving.scoring import InputError, Scorer
from serving.store import Store

log = logging.getLogger(__name__)
API_KEY_HEADER = "X-API-Key"


class ServiceError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class Metrics:
    """Prometheus metrics of one app (own registry: several apps may live in one process)."""

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


class Service:
    """What the routes share: settings, model manager, store, scorer, context."""

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
        self.scorer.score(ScoreIn.model_validate(_WARM_UP), served, self.context)
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
        s = self.settings
        if len(req.events) > s.max_events:
            raise InputError(f"{prefix}events", f"at most {s.max_events} events per ticket")
        for i, ev in enumerate(req.events):
            if ev.text is not None and len(ev.text) > s.max_text_chars:
                raise InputError(
                    f"{prefix}events[{i}].text", f"at most {s.max_text_chars} characters"
                )

    def score_one(self, req: ScoreIn, served: ServedModel) -> dict:
        stored = self.store.account(req.account.account_id) if self.store else None
        result = self.scorer.score(req, served, self.context, stored)
        if self.store is not None:
            self.store.record_ticket(result.account, result.ticket, result.events)
        b = result.body
        self.metrics.decisions.labels(b["decision"]["action"]).inc()
        self.metrics.probability.observe(b["probability"])
        return b


_WARM_UP = {
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


def _load_text_scorer(settings: Settings):
    from models.sentiment import load_sentiment_model
    from models.text_scorer import TransformerTextScorer

    return TransformerTextScorer(load_sentiment_model(threads=settings.compute_threads()))


# ----------------------------------------------------------------------------------- the app
def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def require_api_key(request: Request, service: ServiceDep) -> None:
    keys = service.settings.keys
    if not keys:
        return
    given = request.headers.get(API_KEY_HEADER)
    auth = request.headers.get("Authorization", "")
    if given is None and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    if not given:
        raise ServiceError(401, "unauthorized", f"missing API key (header {API_KEY_HEADER})")
    if not any(secrets.compare_digest(given.encode(), k.encode()) for k in keys):
        raise ServiceError(403, "forbidden", "the API key is not valid")


_AUTH = [Depends(require_api_key)]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    413: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}

ops = APIRouter(tags=["operations"])
scoring = APIRouter(prefix="/v1", tags=["scoring"], dependencies=_AUTH, responses=_RESPONSES)
models_router = APIRouter(prefix="/v1", tags=["model"], dependencies=_AUTH, responses=_RESPONSES)
feedback_router = APIRouter(
    prefix="/v1", tags=["feedback"], dependencies=_AUTH, responses=_RESPONSES
)


@ops.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive (says nothing about the model)."""
    return {"status": "alive"}


@ops.get("/readyz", responses={503: {"model": ErrorOut}})
def readyz(service: ServiceDep) -> JSONResponse:
    """Ready when the model is loaded and warmed up and the store's context is built."""
    ready = service.ready
    served = service.manager.current
    body = {
        "ready": ready,
        "status": service.status(),
        "model_version": served.version if served else None,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@ops.get("/metrics")
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@scoring.post("/score", response_model=ScoreOut)
def score(req: ScoreIn, service: ServiceDep) -> dict:
    """Score one ticket snapshot: probability, decision, routing, severity, reasons, brief."""
    served = service.served()  # one model version for the whole request
    service.check_limits(req)
    body = service.score_one(req, served)
    if service.store is not None:
        service.store.record_score(
            [
                (
                    body["ticket_id"],
                    body["as_of"],
                    body["probability"],
                    body["decision"]["action"],
                    served.version,
                    served.policy.version,
                )
            ]
        )
    return body


@scoring.post("/score/batch", response_model=BatchOut)
def score_batch(batch: BatchIn, service: ServiceDep) -> dict:
    """Score up to ``max_batch`` tickets with one model version."""
    if len(batch.items) > service.settings.max_batch:
        raise InputError("items", f"at most {service.settings.max_batch} tickets per batch")
    served = service.served()
    for i, req in enumerate(batch.items):
        service.check_limits(req, f"items[{i}].")
    results = []
    for i, req in enumerate(batch.items):
        try:
            results.append(service.score_one(req, served))
        except InputError as err:
            raise InputError(f"items[{i}].{err.location}", err.problem) from None
    if service.store is not None:
        service.store.record_score(
            [
                (
                    b["ticket_id"],
                    b["as_of"],
                    b["probability"],
                    b["decision"]["action"],
                    served.version,
                    served.policy.version,
                )
                for b in results
            ]
        )
    return {"results": results, "model": served.ref()}


@models_router.get("/model", response_model=ModelOut)
def model_info(service: ServiceDep) -> dict:
    """The served model version, where it came from, and its threshold policy."""
    served = service.manager.current
    if served is None:
        raise ServiceError(503, "not_ready", f"no model loaded: {service.status()}")
    import json

    return {
        "name": served.name,
        "version": served.version,
        "uri": served.uri,
        "source": served.source,
        "status": service.status(),
        "feature_set_version": served.metadata.get("feature_set_version", ""),
        "text_model": served.text_model,
        "policy_version": served.policy.version,
        "policy": json.loads(served.policy.to_json()),
        "loaded_at": served.loaded_at,
    }


@feedback_router.post("/feedback", response_model=FeedbackOut, status_code=202)
def feedback(fb: FeedbackIn, service: ServiceDep) -> dict:
    """Record a ticket's real outcome (monitoring, retraining, account escalation history)."""
    if service.store is None:
        raise ServiceError(503, "not_ready", "the store is not open yet")
    service.store.record_feedback(fb.model_dump())
    return {"ticket_id": fb.ticket_id, "stored": True}


# ----------------------------------------------------------------------------- errors, limits
def _error(status: int, error: str, message: str, details: list | None = None) -> JSONResponse:
    body = ErrorOut(error=error, message=message, details=details or []).model_dump()
    return JSONResponse(body, status_code=status)


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only where and what: never the offending input (it may hold customer text).
        details = [
            {"location": _location(e.get("loc", ())), "problem": e.get("msg", "invalid")}
            for e in exc.errors()[:20]
        ]
        return _error(422, "invalid_input", "the request does not match the schema", details)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return _error(
            422,
            "invalid_input",
            "the request is inconsistent",
            [{"location": exc.location, "problem": exc.problem}],
        )

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.error, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return _error(exc.status_code, names.get(exc.status_code, "http_error"), message)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return _error(500, "internal", "internal error (logged on the server)")


class BodyLimit:
    """Pure ASGI middleware: bodies over ``limit`` bytes get 413 before anything parses them."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _send_413(send, self.limit)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            return await self.app(scope, limited, send)
        except _TooLarge:
            return await _send_413(send, self.limit)


class _TooLarge(Exception):
    pass


async def _send_413(send, limit: int) -> None:
    response = _error(413, "too_large", f"request body over {limit} bytes")
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def create_app(
    settings: Settings | None = None,
    *,
    service: Service | None = None,
    background: bool = True,
) -> FastAPI:
    """The application. ``service`` and ``background=False`` let tests load things themselves."""
    settings = settings or (service.settings if service else Settings())
    if not logging.getLogger().handlers:  # a uvicorn worker process: no CLI set logging up
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    holder: dict[str, Service] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        svc = holder["service"]
        threads = []
        if background:

            def run() -> None:
                svc.boot()
                svc.refresh_loop()

            t = threading.Thread(target=run, name="model-loader", daemon=True)
            t.start()
            threads.append(t)
        yield
        svc.stop.set()
        if svc.store is not None and background:
            svc.store.close()

    app = FastAPI(
        title="escalation-risk",
        version="1",
        summary="Which support tickets are about to escalate, how urgent, who should take them, why.",
        lifespan=lifespan,
    )
    svc = service or Service(settings)
    holder["service"] = svc
    app.state.service = svc
    install_error_handlers(app)

    for router in (ops, scoring, models_router, feedback_router):
        app.include_router(router)
    app.add_middleware(Observe, metrics=svc.metrics)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app


class Observe:
    """Pure ASGI middleware: request counts and latency per route template and status."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def sending(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(path, str(status["code"])).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)
