"""The service's routers, one per resource, in the order the app includes them.

Each is included into the app directly: nesting them under one parent router costs every
request an extra routing level in this FastAPI version.
"""

from __future__ import annotations

from fastapi import APIRouter

from serving.api.routes import admin, events, feedback, groups, model, ops, score
from serving.board.router import router as board_router

ROUTERS: tuple[APIRouter, ...] = (
    ops.router,
    score.router,
    model.router,
    feedback.router,
    events.router,
    board_router,
    admin.router,
    groups.router,
)
