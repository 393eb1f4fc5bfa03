"""One request -> one score: the same feature code as training, then the policy and the words.

The path: request -> typed frames (the data model's columns and dtypes) -> text signals (the
sentiment transformer, cached by text) -> :func:`build_ticket_features` over the store's context
with this ticket overlaid -> calibrated probability and exact TreeSHAP reasons -> policy decision,
routing, severity, SLA clock, escalation type and brief.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from features.build import build_ticket_features
from features.calendar import business_calendar
from features.catalogue.wording import is_missing
from features.context import FeatureContext
from features.live import LiveContext
from features.registry import FEATURE_NAMES, reasons
from features.schema import ESCALATION_TYPES, TABLES
from features.text import attach_text_signals
from serving.core.errors import InputError
from serving.schemas import ScoreIn
from serving.services import brief, routing
from serving.services.model import ServedModel


def _ts(values: list) -> pd.DatetimeIndex:
    """Aware datetimes, epoch microseconds (as the store keeps them) or None/NaN to UTC
    microsecond timestamps, without per-value pandas."""
    naive = [
        np.datetime64("NaT", "us")
        if v is None or (isinstance(v, float) and np.isnan(v))
        else np.datetime64(int(v), "us")
        if isinstance(v, (int, float, np.integer, np.floating))
        else np.datetime64(v.astimezone(UTC).replace(tzinfo=None), "us")
        for v in values
    ]
    return pd.DatetimeIndex(np.array(naive, dtype="datetime64[us]")).tz_localize("UTC")


def typed_frame(table: str, columns: dict[str, list]) -> pd.DataFrame:
    """A frame of ``table``'s columns for the feature code (one frame construction).

    Strings are plain object arrays and free text the string dtype (its regex counts match the
    batch path's); numbers are float64 with NaN; timestamps UTC microseconds.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    out: dict[str, object] = {}
    for col in TABLES[table]:
        values = columns.get(col.name, [None] * n)
        if col.kind == "ts":
            out[col.name] = _ts(values)
        elif col.kind in ("float", "int"):
            out[col.name] = np.array([np.nan if v is None else v for v in values], dtype="float64")
        elif col.kind == "bool":
            out[col.name] = np.array([bool(v) for v in values], dtype=bool)
        elif col.name in ("text", "subject"):
            out[col.name] = pd.array(values, dtype="string")
        else:
            out[col.name] = np.array(values, dtype=object)
    return pd.DataFrame(out)


@dataclass
class Scored:
    """A response body plus what the store keeps of the request."""

    body: dict
    account: pd.DataFrame
    ticket: pd.DataFrame
    events: pd.DataFrame
    features: dict | None = None  # the scored feature row (name -> value), for drift


class Scorer:
    """Scores requests for one served model (text scorer shared across models)."""

    def __init__(self, text_scorer=None) -> None:
        self.text_scorer = text_scorer
        self.calendar = business_calendar()

    def frames(
        self, req: ScoreIn, stored_account: dict | None, now: datetime
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Timestamp]:
        """Typed account, ticket and event frames; checks the request's time logic."""
        t = req.ticket
        as_of = req.as_of or now
        if as_of < t.created_at:
            raise InputError("as_of", "is before the ticket was created")
        for i, ev in enumerate(req.events):
            if ev.ts < t.created_at:
                raise InputError(f"events[{i}].ts", "is before the ticket was created")
            if ev.ts > as_of:
                where = "as_of" if req.as_of else "now (give as_of to score the past)"
                raise InputError(f"events[{i}].ts", f"is after {where}")
        a = req.account.model_dump()
        if stored_account:  # fields the request leaves out come from the store
            a = {k: (stored_account.get(k) if v is None else v) for k, v in a.items()}
        a = {k: (None if is_missing(v) else v) for k, v in a.items()}
        a["strategic"] = bool(a.get("strategic") or False)
        account = typed_frame("accounts", {k: [v] for k, v in a.items()})
        ticket = typed_frame(
            "tickets",
            {
                "ticket_id": [t.ticket_id],
                "account_id": [req.account.account_id],
                "created_at": [t.created_at],
                "channel": [t.channel],
                "product_area": [t.product_area],
                "priority": [t.priority],
                "subject": [t.subject],
            },
        )
        evs = [e.model_dump() for e in req.events]
        columns = {c.name: [e.get(c.name) for e in evs] for c in TABLES["events"]}
        columns["ticket_id"] = [t.ticket_id] * len(evs)
        events = typed_frame("events", columns)
        return account, ticket, events, pd.Timestamp(as_of).tz_convert("UTC")

    def score(
        self,
        req: ScoreIn,
        served: ServedModel,
        context: FeatureContext,
        stored_account: dict | None = None,
        now: datetime | None = None,
        live: LiveContext | None = None,
    ) -> Scored:
        """Score one snapshot over ``context`` with the ticket overlaid as sent, or, with
        ``live``, over the live context (which must already hold exactly ``req.events`` for
        the ticket: :meth:`LiveContext.update`)."""
        now = now or datetime.now(UTC)
        account, ticket, events, as_of = self.frames(req, stored_account, now)
        ev = self.signals(events, served)
        if live is not None:
            ctx = live.view(account, ticket)
        else:
            ctx = context.overlay(account, ticket, ev)
        X = build_ticket_features(ticket, ev, as_of, ctx, frame=False)
        proba, contributions = served.model.score(X)
        p, contrib = float(proba[0]), contributions[0]
        row = {name: _value(X[name][0]) for name in FEATURE_NAMES}
        strategic = bool(account["strategic"].iloc[0])
        decided = served.policy.decide_with_triggers(p, row, strategic)
        action, executive, band = decided.decision, decided.executive, decided.band
        etype, conf = self.escalation_type(ev, row)
        up, down = reasons(row, contrib, up=5, down=2)
        tk = ticket.iloc[0].to_dict()
        sla = routing.sla_clock(row, tk["created_at"], tk["priority"], as_of, self.calendar)
        body = {
            "ticket_id": tk["ticket_id"],
            "as_of": as_of.to_pydatetime(),
            "probability": p,
            "band": band,
            "decision": routing.route(action, executive, etype, row, decided.raised_by),
            "severity": routing.severity(
                action, executive, etype, row, as_of, as_of, self.calendar
            ),
            "sla": sla,
            "escalation_type": etype,
            "escalation_type_confidence": conf,
            "triggers": [f.to_dict() for f in decided.fired],
            "reasons": up,
            "mitigating": down,
            "brief": brief.brief(
                row,
                {k: (None if is_missing(v) else v) for k, v in account.iloc[0].to_dict().items()},
                {k: (None if is_missing(v) else v) for k, v in tk.items()},
                ev,
                brief.first_reply_time(tk["created_at"], row),
                sla["first_response_due"],
            ),
            "model": served.ref(),
        }
        return Scored(body, account, ticket, ev, row)

    def signals(self, events: pd.DataFrame, served: ServedModel) -> pd.DataFrame:
        """``events`` with the text signals ``served`` was trained with (none without text)."""
        return attach_text_signals(events, self.text_scorer if served.text_model else None)

    def escalation_type(self, events: pd.DataFrame, row: dict) -> tuple[str, float | None]:
        """The kind of escalation this would be.

        The risk intents raised so far name the candidates (security, legal -> contract_legal,
        billing -> billing_dispute, outage or defect -> technical_failure; their heads are the more
        precise); the escalation-type head, averaged over the customer's messages, picks among
        them, or among all types when no intent was raised. Without text: from the intents, else
        technical failure. Confidence: the type head's mean probability (None without text).
        """
        flagged = [kind for flag, kind in _INTENT_TYPES if row.get(flag) == 1]
        etype = events["event_type"].to_numpy(dtype=object)
        text = events["text"].to_numpy(dtype=object, na_value=None)
        msgs = [str(t) for t, e in zip(text, etype, strict=True) if e == "customer_message" and t]
        intents = getattr(self.text_scorer, "intents", None)
        if intents is not None and msgs:
            # The embeddings are cached from the text signals: no second encoder run.
            emb = self.text_scorer.sentiment.embed(msgs)
            proba = intents.type_proba_from_embeddings(emb).mean(axis=0)
            order = list(ESCALATION_TYPES)
            candidates = flagged or order
            best = max(candidates, key=lambda k: proba[order.index(k)])
            return best, round(float(proba[order.index(best)]), 3)
        return (flagged[0] if flagged else "technical_failure"), None


# Risk intents -> the escalation type they point to, most specific first.
_INTENT_TYPES = (
    ("customer_intent_security", "security"),
    ("customer_intent_legal", "contract_legal"),
    ("customer_intent_billing", "billing_dispute"),
    ("customer_intent_outage", "technical_failure"),
    ("customer_intent_defect", "technical_failure"),
)
assert {kind for _, kind in _INTENT_TYPES} <= set(ESCALATION_TYPES)


def _value(v: object):
    if is_missing(v):
        return float("nan")
    if isinstance(v, np.generic):
        return v.item()
    return v
