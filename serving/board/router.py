"""The risk board's routes: ``/board`` (the queue), ``/board/ticket`` (one ticket), their JSON
feeds, the similar-escalation groups the queue page fetches after it loads, the login form and
the static files. The feedback buttons call ``POST /v1/feedback`` (see
:mod:`serving.board.auth` for how the board's session reaches it).

Every page is rendered on the server with autoescaping on, sent with a Content-Security-Policy
that allows only this origin's script and style (no inline script, nothing from elsewhere), and
needs a valid key when keys are configured.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from models.grouping import Embedder
from serving.board import charts
from serving.board.auth import COOKIE, COOKIE_PATHS, denied
from serving.board.format import FILTERS
from serving.board.queries import BoardQueries
from serving.board.views import (
    BANDS,
    PAGE_SIZES,
    SEGMENTS,
    TYPES,
    Filters,
    QueueView,
    day_start_us,
    ticket_view,
)
from serving.core.errors import InputError, ServiceError
from serving.core.security import Scope
from serving.schemas import GroupsOut
from serving.services.groups import (
    LOOKBACK_HOURS,
    NO_TEXT_MODEL,
    loaded_embedder,
    similar_groups,
)
from serving.services.service import Service

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STATIC = {
    "board.js": "text/javascript; charset=utf-8",
    "board.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

router = APIRouter(prefix="/board", tags=["board"], include_in_schema=False)
_env = Environment(
    loader=PackageLoader("serving.board", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(FILTERS)
_queue_lock = threading.Lock()

Team = Annotated[str | None, Query(max_length=128)]
Band = Annotated[str | None, Query(max_length=16, description="one of the policy's bands")]
Segment = Annotated[str | None, Query(max_length=16, description="strategic or standard")]
EscType = Annotated[
    str | None, Query(alias="type", max_length=32, description="an escalation type")
]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
Size = Annotated[int, Query(description="rows per page: 25, 50 or 100")]


def _service(request: Request) -> Service:
    return request.app.state.service


def queue_of(request: Request) -> QueueView:
    """The app's ranked queue (one per app: each serves one service and its store)."""
    with _queue_lock:
        view = getattr(request.app.state, "board_queue", None)
        if view is None:
            view = request.app.state.board_queue = QueueView()
        return view


def _html(name: str, status: int = 200, **context) -> HTMLResponse:
    body = _env.get_template(name).render(**context)
    return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=_SECURITY_HEADERS)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(
        f"/board/login?next={quote(target, safe='')}", 303, headers=_SECURITY_HEADERS
    )


def _api_guard(request: Request, scope: Scope = Scope.READ) -> Service:
    service = _service(request)
    refused = denied(request, service.settings.key_ring, scope)
    if refused is not None:
        error = "unauthorized" if refused.status == 401 else "forbidden"
        raise ServiceError(refused.status, error, f"{refused.message}; or sign in at /board/login")
    return service


def _page_refused(request: Request, service: Service) -> Response | None:
    """A redirect to the sign-in form without a key, a 403 page for a key without ``read``."""
    refused = denied(request, service.settings.key_ring, Scope.READ)
    if refused is None:
        return None
    if refused.status == 401:
        return _login_redirect(request)
    return _html("message.html", 403, title="Forbidden", message=refused.message)


def _safe_next(target: str | None) -> str:
    """Only a path on the board: never another site (an open redirect)."""
    if target and target.startswith("/board") and not target.startswith("//"):
        return target
    return "/board"


# -- sign-in ---------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None):
    service = _service(request)
    return _html("login.html", keys=bool(service.settings.key_ring), next=_safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    """Form fields ``key`` and ``next``; a valid key sets the board's session cookie."""
    service = _service(request)
    raw = (await request.body())[:8192].decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(raw, max_num_fields=4).items()}
    nxt = _safe_next(form.get("next"))
    ring = service.settings.key_ring
    if ring and ring.identify(form.get("key")) is None:
        return _html("login.html", 401, keys=True, next=nxt, error="That key is not valid.")
    out = RedirectResponse(nxt, 303, headers=_SECURITY_HEADERS)
    if ring:
        for path in COOKIE_PATHS:
            out.set_cookie(
                COOKIE,
                form["key"],
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path=path,
                max_age=12 * 3600,
            )
    return out


@router.post("/logout")
def logout() -> Response:
    out = RedirectResponse("/board/login", 303, headers=_SECURITY_HEADERS)
    for path in COOKIE_PATHS:
        out.delete_cookie(COOKIE, path=path)
    return out


# -- the queue -------------------------------------------------------------------------------
def _queue_page(
    request: Request, service: Service, team, tier, band, segment, etype, page: int, size: int
) -> dict[str, object]:
    # An empty value is "all" (the filter form sends every field).
    if size not in PAGE_SIZES:
        raise InputError("query.size", "one of 25, 50 or 100")
    if band and band not in BANDS:
        raise InputError("query.band", f"one of {', '.join(BANDS)}")
    if segment and segment not in SEGMENTS:
        raise InputError("query.segment", f"one of {', '.join(SEGMENTS)}")
    if etype and etype not in TYPES:
        raise InputError("query.type", f"one of {', '.join(TYPES)}")
    filters = Filters(
        team=team or None,
        tier=tier or None,
        band=band or None,
        segment=segment or None,
        type=etype or None,
    )
    out = queue_of(request).page(service, filters, page, size)
    chosen = {
        "team": team or "",
        "tier": tier or "",
        "band": band or "",
        "segment": segment or "",
        "type": etype or "",
    }
    out["filters"] = chosen
    out["query"] = urlencode({**{k: v for k, v in chosen.items() if v}, "size": size})
    return out


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    team: Team = None,
    tier: Team = None,
    band: Band = None,
    segment: Segment = None,
    etype: EscType = None,
    page: Page = 1,
    size: Size = 25,
):
    """The open tickets, ranked by risk, with filters and paging."""
    service = _service(request)
    if (refused := _page_refused(request, service)) is not None:
        return refused
    data = _queue_page(request, service, team, tier, band, segment, etype, page, size)
    return _html(
        "queue.html",
        q=data,
        health=_health(service),
        now=int(datetime.now(UTC).timestamp()),
        signed_in=bool(service.settings.key_ring),
    )


@router.get("/api/queue")
def queue_json(
    request: Request,
    team: Team = None,
    tier: Team = None,
    band: Band = None,
    segment: Segment = None,
    etype: EscType = None,
    page: Page = 1,
    size: Size = 25,
) -> JSONResponse:
    """The same page as JSON (what the page polls to follow newly scored events)."""
    service = _api_guard(request)
    data = _queue_page(request, service, team, tier, band, segment, etype, page, size)
    data["health"] = _health(service)
    return _json(data)


@router.get("/api/version")
def queue_version(request: Request) -> JSONResponse:
    """The store's write counter: the page reloads its rows only when it moved."""
    service = _api_guard(request)
    return _json({"version": service.store.version if service.store is not None else -1})


# -- one ticket ------------------------------------------------------------------------------
@router.get("/ticket", response_class=HTMLResponse)
def ticket_page(request: Request, id: Annotated[str, Query(min_length=1, max_length=128)]):
    """The escalation brief, reasons and mitigating factors, score history and feedback."""
    service = _service(request)
    if (refused := _page_refused(request, service)) is not None:
        return refused
    try:
        view = ticket_view(service, id)
    except LookupError as err:
        return _html("message.html", 503, title="Not ready", message=str(err))
    if view is None:
        return _html(
            "message.html", 404, title="Unknown ticket", message="No such ticket in the store."
        )
    answer = view["answer"]
    return _html(
        "ticket.html",
        v=view,
        a=answer,
        reasons_chart=charts.reason_bars(answer["reasons"], answer["mitigating"])
        if answer
        else None,
        history_chart=charts.history_line(view["history"]),
        signed_in=bool(service.settings.key_ring),
    )


# -- similar-escalation groups ---------------------------------------------------------------
GROUPS_SHOWN = 10  # the panel lists the largest groups by ARR at stake


def board_reader(request: Request) -> Service:
    """The service, for a request whose key (header or board session) grants ``read``."""
    return _api_guard(request, Scope.READ)


board_reader.scope = Scope.READ  # type: ignore[attr-defined]  # read by the route-coverage test
BoardReader = Annotated[Service, Depends(board_reader)]


def board_embedder(service: BoardReader) -> Embedder | None:
    """The text model's sentence embedder for the groups panel, None while it is not loaded
    (tests swap it)."""
    return loaded_embedder(service)


@router.get("/api/groups")
def groups_json(
    service: BoardReader, embedder: Annotated[Embedder | None, Depends(board_embedder)]
) -> JSONResponse:
    """The groups panel's feed: the last week's groups of similar escalations and at-risk
    tickets (``GET /v1/groups`` with its defaults), each with its tickets' board links.

    The queue page fetches it after it has rendered: grouping embeds every candidate's text.
    What makes ``/v1/groups`` a 503 (no text model, no store yet) is a state of the panel
    here, ``{"available": false, "reason": ...}`` with status 200: the board shows it as "not
    available", and a browser logs no failed request for an expected condition. The reader
    check runs first (the embedder depends on it), so without a key nothing is said about the
    service's state.
    """
    if embedder is None:
        return _json({"available": False, "reason": NO_TEXT_MODEL})
    try:
        found = similar_groups(
            service, embedder, lookback_hours=LOOKBACK_HOURS, limit=GROUPS_SHOWN
        )
    except ServiceError as err:
        if err.status != 503:
            raise
        return _json({"available": False, "reason": err.message})
    body = GroupsOut.model_validate(found).model_dump(mode="json")
    for group in body["groups"]:
        group["links"] = [
            {"ticket_id": tid, "href": f"/board/ticket?id={quote(tid, safe='')}"}
            for tid in group["tickets"]
        ]
    return _json(body | {"available": True, "lookback_days": LOOKBACK_HOURS / 24})


# -- health and static -----------------------------------------------------------------------
def _health(service: Service) -> dict[str, object]:
    """The policy in force and today's alerts against the policy's budget."""
    served = service.manager.current
    out: dict[str, object] = {"ready": service.ready, "status": service.status()}
    if service.store is not None:
        out["alerts_today"] = BoardQueries(service.store.path).escalate_alerts_since(
            day_start_us()
        )
    if served is not None:
        policy = json.loads(served.policy.to_json())
        source = policy.get("source") or {}
        out["model"] = {"name": served.name, "version": served.version}
        out["policy"] = {
            "version": policy["version"],
            "default": policy["default"],
            "segments": policy["segments"],
            "triggers": [
                {"name": t["name"], "action": t["action"], "description": t["description"]}
                for t in policy["triggers"]
            ],
            "source": {k: v for k, v in source.items() if isinstance(v, str | int | float)},
        }
        out["alert_budget"] = _alert_budget(source)
    return out


def _alert_budget(source: dict) -> float | None:
    """The alerts a day the policy was tuned to (``tune --alerts-per-day``), if it was."""
    constraint = source.get("constraint")
    budget = constraint.get("alerts_per_day") if isinstance(constraint, dict) else None
    return float(budget) if isinstance(budget, int | float) else None


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in _STATIC:
        raise ServiceError(404, "not_found", "no such file")
    body = resources.files("serving.board").joinpath("static", name).read_bytes()
    headers = {**_SECURITY_HEADERS, "Cache-Control": "max-age=300"}
    return Response(body, media_type=_STATIC[name], headers=headers)
