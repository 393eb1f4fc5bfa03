"""What the board shows, computed from the store: the ranked queue and one ticket's view.

The queue reads only what the store keeps of each answer (probability, action, model and
policy version) plus the ticket, its account and its events; the band comes from the served
policy's thresholds (triggers never change a band), the first-response SLA from the support
calendar. The store keeps no answer body (reasons, route, severity, type, brief), so the ticket
view re-scores the ticket's stored events through the served model: the same feature code and
wording as the API, over what the store kept (no message text, tiers, priorities or CSAT).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from features.build import build_ticket_features
from features.calendar import business_calendar, sla_deadlines
from features.catalogue.wording import is_missing
from features.registry import FEATURE_NAMES, reasons
from features.schema import TABLES
from features.text import SIGNAL_COLUMNS
from serving.board.queries import BoardQueries
from serving.services import brief, routing
from serving.services.model import ServedModel
from serving.services.scoring import typed_frame
from serving.services.service import Service

CLOSED = frozenset({"solved", "closed"})
BANDS = ("critical", "high", "watch", "low")
SEGMENTS = ("strategic", "standard")
PAGE_SIZES = (25, 50, 100)
# Who acts in each event type (the store keeps the type, not the actor).
_ACTOR = {"customer_message": "customer", "reopened": "customer", "csat": "customer"}
_ACTOR |= {"agent_message": "agent", "internal_note": "agent"}


def _us_to_dt(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, UTC)


@dataclass(frozen=True)
class Filters:
    """The queue's filters; None or empty: no filter."""

    team: str | None = None
    tier: str | None = None  # the account's plan (its subscription tier)
    band: str | None = None
    segment: str | None = None  # the policy's segment: strategic or standard

    def keep(self, row: dict) -> bool:
        return all(
            not want or row[key] == want
            for key, want in (
                ("team", self.team),
                ("tier", self.tier),
                ("band", self.band),
                ("segment", self.segment),
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
            },
        }


def _us(value: object) -> int | None:
    """A timestamp as integer microseconds since the epoch (``Timestamp.value`` is in ns)."""
    if is_missing(value):
        return None
    return int(pd.Timestamp(value).value // 1000)


def ticket_view(service: Service, ticket_id: str) -> dict | None:
    """One ticket: its stored answers, and reasons, route, severity and brief re-computed from
    its stored events at the latest answer's instant. None if the ticket is not in the store.

    Raises:
        LookupError: the model or the store's context is not loaded yet.
    """
    store, served, context = service.store, service.manager.current, service.context
    if store is None:
        raise LookupError("the store is not open yet")
    q = BoardQueries(store.path)
    tk = q.ticket(ticket_id)
    if tk is None:
        return None
    history = q.score_history(ticket_id)
    account = store.account(tk["account_id"]) or {"account_id": tk["account_id"]}
    events = q.events(ticket_id)
    latest = history[-1] if history else None
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
        "events": len(events),
        "recomputed": None,
    }
    if latest is None:
        return view
    if served is None or context is None:
        raise LookupError("the model is not loaded yet")
    view["band"] = served.policy.band(latest["probability"], bool(account.get("strategic")))
    view["recomputed"] = _recompute(service, served, tk, account, events, latest["as_of"])
    return view


def _recompute(
    service: Service,
    served: ServedModel,
    tk: dict,
    account: dict,
    stored: list[dict],
    as_of_us: int,
) -> dict:
    """The answer's explanation from the stored events at ``as_of`` (see the module note)."""
    as_of = pd.Timestamp(as_of_us, unit="us", tz="UTC")
    acc = typed_frame(
        "accounts",
        {
            c.name: [_us(account.get(c.name)) if c.kind == "ts" else account.get(c.name)]
            for c in TABLES["accounts"]
        },
    )
    acc["strategic"] = acc["strategic"].astype(bool)
    ticket = typed_frame("tickets", {k: [v] for k, v in tk.items()})
    kept = [e for e in stored if e["ts"] <= as_of_us]
    cols = {c.name: [e.get(c.name) for e in kept] for c in TABLES["events"]}
    cols["actor"] = [_ACTOR.get(e["event_type"], "system") for e in kept]
    ev = typed_frame("events", cols)
    # The text signals as the store kept them: sentiment only; the intents need the text.
    signals = {c: np.full(len(ev), np.nan) for c in (*SIGNAL_COLUMNS, "intensity", "length")}
    signals["sentiment"] = np.array(
        [np.nan if e["sentiment"] is None else e["sentiment"] for e in kept], "float64"
    )
    ev = pd.concat([ev, pd.DataFrame(signals, index=ev.index)], axis=1)
    ctx = service.context.overlay(acc, ticket, ev)
    X = build_ticket_features(ticket, ev, as_of, ctx, frame=False)
    proba, contributions = served.model.score(X)
    p, contrib = float(proba[0]), contributions[0]
    row = {name: _value(X[name][0]) for name in FEATURE_NAMES}
    strategic = bool(acc["strategic"].iloc[0])
    decided = served.policy.decide_with_triggers(p, row, strategic)
    etype, _ = service.scorer.escalation_type(ev.iloc[0:0], row)
    up, down = reasons(row, contrib, up=5, down=3)
    t = ticket.iloc[0].to_dict()
    calendar = service.scorer.calendar
    sla = routing.sla_clock(row, t["created_at"], t["priority"], as_of, calendar)
    now = pd.Timestamp.now(tz="UTC")
    no_assign = ev[ev["event_type"] != "assignment"]  # the store keeps no tier for them
    b = brief.brief(
        row,
        {k: (None if is_missing(v) else v) for k, v in acc.iloc[0].to_dict().items()},
        {k: (None if is_missing(v) else v) for k, v in t.items()},
        no_assign,
        brief.first_reply_time(t["created_at"], row),
        sla["first_response_due"],
    )
    for e in kept:
        if e["event_type"] == "assignment":
            who = f" ({e['agent_id']})" if e.get("agent_id") else ""
            b["timeline"].append(
                {"ts": _us_to_dt(e["ts"]), "what": f"assigned to {e['team']}{who}"}
            )
    b["timeline"].sort(key=lambda item: pd.Timestamp(item["ts"]))
    return {
        "probability": p,
        "band": decided.band,
        "decision": routing.route(
            decided.decision, decided.executive, etype, row, decided.raised_by
        ),
        "severity": routing.severity(
            decided.decision, decided.executive, etype, row, as_of, now, calendar
        ),
        "sla": sla,
        "escalation_type": etype,
        "triggers": [f.to_dict() for f in decided.fired],
        "reasons": up,
        "mitigating": down,
        "brief": b,
    }


def _value(v: object):
    if is_missing(v):
        return float("nan")
    if isinstance(v, np.generic):
        return v.item()
    return v


def day_start_us(now: float | None = None) -> int:
    """Midnight UTC of today (or of ``now``, epoch seconds), in epoch microseconds."""
    now = time.time() if now is None else now
    return int(now // 86400 * 86400 * 1_000_000)
