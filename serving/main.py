"""The FastAPI application: :func:`create_app` (the factory uvicorn runs) and its lifespan.

The model, the store and the text model are loaded in a background thread started by the
lifespan (after any fork), so ``/healthz`` answers at once and ``/readyz`` turns true when the
model is loaded and warmed up::

    uvicorn --factory serving.main:create_app
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from serving.api.main import ROUTERS
from serving.core.config import Settings
from serving.core.errors import install_error_handlers
from serving.core.redaction import install_log_redaction
from serving.middleware import BodyLimit, Observe, add_backpressure
from serving.services.purge import start_purge
from serving.services.service import Service


def create_app(
    settings: Settings | None = None,
    *,
    service: Service | None = None,
    background: bool = True,
) -> FastAPI:
    """The application. ``service`` and ``background=False`` let tests load things themselves.

    With ``background`` the lifespan boots the service in a thread, refreshes it every
    ``refresh_seconds`` and closes its store at shutdown; without it the caller boots and closes.
    """
    settings = settings or (service.settings if service else Settings())
    if not logging.getLogger().handlers:  # a uvicorn worker process: no CLI set logging up
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    if settings.redact_personal_data:  # no e-mail, phone, card or IBAN in a log line
        install_log_redaction()
    svc = service or Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if background:

            def run() -> None:
                svc.boot()
                svc.refresh_loop()

            threading.Thread(target=run, name="model-loader", daemon=True).start()
            start_purge(svc)  # retention: every purge_interval_seconds
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
    app.state.service = svc
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    add_backpressure(app, settings, svc.metrics)  # 429 / 503 with Retry-After
    app.add_middleware(Observe, metrics=svc.metrics)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
