"""What the board shows, computed from the store: the ranked queue and one ticket's view.

The queue reads what the store keeps of each ticket's latest answer (probability, action, model
and policy version, and the answer's decision fields: route, type, severity and its deadline,
the top reason) plus the ticket, its account and its events; the band comes from the served
policy's thresholds (triggers never change a band), the first-response SLA from the support
calendar. The ticket view shows the latest stored answer as it was sent: route, severity, SLA,
type, triggers, reasons, mitigating factors and brief, with nothing re-computed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from features.calendar import business_calendar, sla_deadlines
from features.catalogue.wording import is_missing
from features.schema import ESCALATION_TYPES
from serving.board.queries import BoardQueries
from serving.services.model import ServedModel
from serving.services.service import Service

CLOSED = frozenset({"solved", "closed"})
BANDS = ("critical", "high", "watch", "low")
SEGMENTS = ("strategic", "standard")
PAGE_SIZES = (25, 50, 100)
TYPES = ESCALATION_TYPES


def _us_to_dt(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, UTC)


@dataclass(frozen=True)
class Filters:
    """The queue's filters; None or empty: no filter."""

    team: str | None = None
    tier: str | None = None  # the account's plan (its subscription tier)
    band: str | None = None
    segment: str | None = None  # the policy's segment: strategic or standard
    type: str | None = None  # the answer's escalation type

    def keep(self, row: dict) -> bool:
        return all(
            not want or row[key] == want
            for key, want in (
                ("team", self.team),
                ("tier", self.tier),
                ("band", self.band),
                ("segment", self.segment),
                ("escalation_type", self.type),
            )
        )


class QueueView:
    """The open, scored tickets ranked by risk, kept in memory and refreshed from the store.

    The first read loads every scored ticket; after that a store write costs a read of the
    tickets answered since the last one seen (new scores carry the new events' state), and a
    full re-read happens when the policy changes or every ``full_every_s`` (what else can
    change a row: an account's ARR or plan).
    """

    def __init__(self, full_every_s: float = 300.0) -> None:
        self.full_every_s = full_every_s
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._policy: str | None = None
        self._full_at = float("-inf")
        self._last_id = -1
        self._by_ticket: dict[str, dict] = {}
        self._ranked: list[dict] = []
        self._calendar = business_calendar()

    def rows(self, service: Service) -> tuple[list[dict], int]:
        """(open tickets ranked by probability, highest first; the store version they are of)."""
        store = service.store
        served = service.manager.current
        if store is None:
            return [], -1
        policy = served.policy.version if served else None
        version = (id(store), store.version)
        with self._lock:
            if version == self._version and policy == self._policy:
                return self._ranked, store.version
            q = BoardQueries(store.path)
            full = (
                policy != self._policy
                or self._version is None
                or version[0] != self._version[0]
                or time.monotonic() - self._full_at > self.full_every_s
            )
            if full:
                raw = q.queue_rows()
                self._by_ticket = {}
                self._full_at = time.monotonic()
            else:
                raw = q.queue_rows(since_id=self._last_id)
            for row in self._build(raw, served):
                self._by_ticket[row["ticket_id"]] = row
            self._last_id = max([self._last_id, *(r["score_id"] for r in raw)])
            ranked = [r for r in self._by_ticket.values() if r["status"] not in CLOSED]
            ranked.sort(key=lambda x: (-x["probability"], x["ticket_id"]))
            self._ranked = [{**r, "rank": i} for i, r in enumerate(ranked, 1)]
            self._version, self._policy = version, policy
            return self._ranked, store.version

    def _build(self, raw: list[dict], served: ServedModel | None) -> list[dict]:
        """Board rows (band, segment, SLA due) of the store's queue rows, closed ones too."""
        if not raw:
            return []
        created_h = np.array([r["created_at"] / 3.6e9 for r in raw])
        priority = np.array([r["priority"] for r in raw], dtype=object)
        due_h = sla_deadlines(created_h, priority, self._calendar)
        out = []
        for r, due in zip(raw, due_h, strict=True):
            strategic = bool(r["strategic"])
            p = float(r["probability"])
            out.append(
                {
                    "ticket_id": r["ticket_id"],
                    "probability": p,
                    "band": served.policy.band(p, strategic) if served else None,
                    "action": r["action"],
                    "as_of": r["as_of"] // 1_000_000,
                    "scored_at": r["scored_at"] // 1_000_000,
                    "n_scores": r["n_scores"],
                    # The stored answer's decision fields (None: stored before answers were).
                    "route_to": r["route_to"],
                    "route_team": r["route_team"],
                    "escalation_type": r["escalation_type"],
                    "severity": r["severity"],
                    "severity_due": _epoch_s(r["respond_by"]),
                    "top_reason": r["top_reason"],
                    "account_id": r["account_id"],
                    "arr": r["arr"],
                    "tier": r["plan"],
                    "segment": "strategic" if strategic else "standard",
                    "team": r["team"],
                    "priority": r["priority"],
                    "product_area": r["product_area"],
                    "channel": r["channel"],
                    "status": r["status"] or "new",
                    "answered": bool(r["answered"]),
                    "sla_due": None if np.isnan(due) else int(due * 3600),
                    "model_version": r["model_version"],
                    "policy_version": r["policy_version"],
                }
            )
        return out

    def page(self, service: Service, filters: Filters, page: int, size: int) -> dict[str, object]:
        """One page of the filtered queue and the values the filters offer."""
        rows, version = self.rows(service)
        kept = [r for r in rows if filters.keep(r)]
        pages = max(1, -(-len(kept) // size))
        page = min(max(1, page), pages)
        return {
            "version": version,
            "total_open": len(rows),
            "matching": len(kept),
            "page": page,
            "pages": pages,
            "size": size,
            "rows": kept[(page - 1) * size : page * size],
            "options": {
                "team": sorted({r["team"] for r in rows if r["team"]}),
                "tier": sorted({r["tier"] for r in rows if r["tier"]}),
                "band": list(BANDS),
                "segment": list(SEGMENTS),
                "type": list(TYPES),
            },
        }


def _epoch_s(iso: str | None) -> int | None:
    """An ISO 8601 time of a stored answer as epoch seconds (None stays None)."""
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp())


def _iso_dt(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(UTC)


def ticket_view(service: Service, ticket_id: str) -> dict | None:
    """One ticket: its stored answers and the latest one's decision fields as stored (None
    under ``answer`` when that score was stored before the store kept answers). None if the
    ticket is not in the store.

    Raises:
        LookupError: the store is not open yet.
    """
    store, served = service.store, service.manager.current
    if store is None:
        raise LookupError("the store is not open yet")
    q = BoardQueries(store.path)
    tk = q.ticket(ticket_id)
    if tk is None:
        return None
    history = q.score_history(ticket_id)
    account = store.account(tk["account_id"]) or {"account_id": tk["account_id"]}
    latest = history[-1] if history else None
    answer = q.latest_answer(ticket_id) if latest else None
    view: dict = {
        "ticket": {**tk, "created_at": _us_to_dt(tk["created_at"])},
        "account": {k: (None if is_missing(v) else v) for k, v in account.items()},
        "history": [
            {**h, "as_of": _us_to_dt(h["as_of"]), "scored_at": _us_to_dt(h["scored_at"])}
            for h in history
        ],
        "feedback": [
            {**f, "received_at": _us_to_dt(f["received_at"])} for f in q.feedback(ticket_id)
        ],
        "latest": latest,
        "answer": _with_times(answer) if answer else None,
        "band": None,
    }
    if latest is not None and served is not None:
        # The band under the policy in force (as the queue shows it); the answer keeps its own.
        view["band"] = served.policy.band(latest["probability"], bool(account.get("strategic")))
    elif answer:
        view["band"] = answer.get("band")
    return view


def _with_times(answer: dict) -> dict:
    """The stored answer with its times (ISO 8601 text in the JSON) as aware datetimes."""
    out = dict(answer)
    if isinstance(out.get("severity"), dict):
        out["severity"] = {**out["severity"], "respond_by": _iso_dt(out["severity"]["respond_by"])}
    if isinstance(out.get("sla"), dict):
        due = out["sla"]["first_response_due"]
        out["sla"] = {**out["sla"], "first_response_due": _iso_dt(due)}
    if isinstance(out.get("brief"), dict):
        timeline = [{**t, "ts": _iso_dt(t["ts"])} for t in out["brief"].get("timeline", [])]
        out["brief"] = {**out["brief"], "timeline": timeline}
    return out


def day_start_us(now: float | None = None) -> int:
    """Midnight UTC of today (or of ``now``, epoch seconds), in epoch microseconds."""
    now = time.time() if now is None else now
    return int(now // 86400 * 86400 * 1_000_000)
