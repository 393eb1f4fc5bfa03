"""The service's state and lifecycle: settings, the model manager, the store, the scorer and the
feature context, loaded once (``boot``), warmed up, and refreshed in the background.

``boot`` never raises: what went wrong shows in ``/readyz`` and ``/v1/model``, and the process
stays alive to say so.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from features.context import FeatureContext
from features.live import LiveContext
from models.sentiment import load_sentiment_model
from models.text_scorer import TransformerTextScorer
from serving.core.config import Settings
from serving.core.errors import InputError, ServiceError
from serving.core.metrics import Metrics
from serving.core.redaction import redact, redact_answer
from serving.schemas import AccountIn, EventIn, EventsIn, ScoreIn, TicketIn
from serving.services.alerts import AlertDispatcher, alert_body, targets
from serving.services.model import ModelManager, ServedModel
from serving.services.monitor import DriftMonitor, served_reference
from serving.services.scoring import Scorer, typed_frame
from serving.services.store import Store
from serving.services.store.log import Appended, EventRefused, LoggedEvent

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


# How far in the future an event's time may be (clock skew between the desk and the service).
CLOCK_SKEW = timedelta(minutes=5)
# The answer fields the store keeps with each score (``scores.answer``), for the board: the
# ids, time, probability and model are the row's own columns.
STORED_ANSWER = (
    "band",
    "decision",
    "severity",
    "sla",
    "escalation_type",
    "escalation_type_confidence",
    "triggers",
    "reasons",
    "mitigating",
    "brief",
)


@dataclass
class _TicketState:
    """A ticket as its event log has it: the ticket, its account id, the log rows (seq,
    ticket_id, event_id, ts, event_type, agent_id, team, status, sentiment, body; by ts then
    seq) and the events parsed from their bodies, in the same order."""

    ticket: TicketIn
    account_id: str
    rows: list[tuple] = field(default_factory=list)
    events: list[EventIn] = field(default_factory=list)
    seqs: set[int] = field(default_factory=set)

    def add(self, rows: list[tuple]) -> None:
        new = [r for r in rows if r[0] not in self.seqs]
        if not new:
            return
        for r in new:
            body = json.loads(r[9])
            body.pop("event_id", None)
            self.rows.append(r)
            self.events.append(EventIn.model_validate(body))
            self.seqs.add(r[0])
        if any(a[3] > b[3] for a, b in zip(self.rows, self.rows[1:], strict=False)):
            order = sorted(range(len(self.rows)), key=lambda i: (self.rows[i][3], self.rows[i][0]))
            self.rows = [self.rows[i] for i in order]
            self.events = [self.events[i] for i in order]

    @property
    def latest_us(self) -> int | None:
        return self.rows[-1][3] if self.rows else None


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
        # The live state of the event log: a context kept current event by event, the log's
        # sequence number it has seen, and the tickets' logged events (LRU).
        self.live: LiveContext | None = None
        self._seen = 0
        self._tickets: OrderedDict[str, _TicketState] = OrderedDict()
        self._live_lock = threading.RLock()
        self._alerted: set[tuple[str, str]] = set()
        self.dispatcher: AlertDispatcher | None = None
        self._context_version = -1
        self._context_seconds = 0.0
        self._context_at = float("-inf")
        self.warm = False
        self.metrics = Metrics()
        self.drift = DriftMonitor()
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
        seen = store.log_seq()  # the log entries after it are applied on top of the context
        context = store.context().index_for_overlays()
        with self._live_lock:
            self.context = context
            self.live = LiveContext(context)
            self._seen = seen
            if force:  # e.g. after a purge: cached tickets reload from what the store still has
                self._tickets.clear()
        self._context_version = version
        self._context_seconds = time.perf_counter() - t0
        self._context_at = time.monotonic()
        log.info("feature context rebuilt from the store in %.2f s", self._context_seconds)

    def refresh_loop(self) -> None:
        """Every ``refresh_seconds`` until ``stop`` is set: follow the alias and the policy,
        rebuild the context if the store changed. Errors are logged and retried. Starts the
        alert dispatcher first when webhooks are configured."""
        self.start_alerts()
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
                self.drift.publish(self.metrics, self.settings.store_path)
            except Exception:
                log.exception("background refresh failed (will retry)")

    def _publish(self, served: ServedModel, before: ServedModel | None = None) -> None:
        self.metrics.model_info.clear()
        self.metrics.model_info.labels(**served.ref()).set(1)
        self.drift.set_reference(served_reference(served.name, served.version))
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
        b = redact_answer(result.body, self.settings.redact_personal_data)
        self.metrics.decisions.labels(b["decision"]["action"]).inc()
        self.metrics.probability.observe(b["probability"])
        if result.features is not None:
            self.drift.observe(result.features, b["probability"])
        self._maybe_alert(b, served, req.account.account_id)
        return b

    def _maybe_alert(self, body: dict, served: ServedModel, account_id: str | None) -> None:
        """Queue the ticket's one alert under this policy version when its action is escalate
        (executive included) and webhooks are configured; the store keeps it unique."""
        to = targets(self.settings)
        if not to or self.store is None or body["decision"]["action"] != "escalate":
            return
        key = (body["ticket_id"], served.policy.version)
        if key in self._alerted:
            return
        as_of = pd.Timestamp(body["as_of"]).tz_convert("UTC")
        payload = alert_body(body, account_id)
        self.store.raise_alert(
            body["ticket_id"],
            served.policy.version,
            account_id,
            "executive" if body["decision"]["executive"] else "escalate",
            body["probability"],
            served.version,
            int(as_of.value // 1000),
            json.dumps(payload, default=str),
            to,
        )
        if len(self._alerted) > 100_000:
            self._alerted.clear()
        self._alerted.add(key)

    def start_alerts(self) -> AlertDispatcher | None:
        """Start delivering queued alerts in a background thread (once; none without webhooks
        or a store)."""
        if self.dispatcher is not None or self.store is None or not targets(self.settings):
            return self.dispatcher
        self.dispatcher = AlertDispatcher(self.store, self.settings)
        threading.Thread(
            target=self.dispatcher.loop, args=(self.stop,), name="alerts", daemon=True
        ).start()
        return self.dispatcher

    # -- the event log -----------------------------------------------------------------------
    def add_events(
        self, ticket_id: str, req: EventsIn, served: ServedModel
    ) -> tuple[dict, Appended]:
        """Append a ticket's new events to the log and score the ticket with all of them.

        Raises:
            InputError: inconsistent input (named by location).
            ServiceError: 404 unknown ticket without its ticket and account; 409 an event id
                logged with another content, or an event earlier than the ticket's latest.
        """
        s, store = self.settings, self.store
        if store is None or self.live is None:
            raise ServiceError(503, "not_ready", "the store is not open yet")
        if req.ticket is not None and req.ticket.ticket_id != ticket_id:
            raise InputError("ticket.ticket_id", "differs from the ticket id in the path")
        if (req.ticket is None) != (req.account is None):
            where = "account" if req.account is None else "ticket"
            raise InputError(where, "ticket and account are sent together")
        for i, ev in enumerate(req.events):
            if ev.text is not None and len(ev.text) > s.max_text_chars:
                raise InputError(f"events[{i}].text", f"at most {s.max_text_chars} characters")
        state = self._ticket(ticket_id)
        ticket = req.ticket or (state.ticket if state else None)
        if ticket is None:
            raise ServiceError(
                404,
                "unknown_ticket",
                "unknown ticket: send its ticket and account with its first events",
            )
        account_id = req.account.account_id if req.account else state.account_id
        if state is not None and req.account and req.account.account_id != state.account_id:
            raise InputError("account.account_id", "differs from the ticket's account")
        now = datetime.now(UTC)
        latest = max(ev.ts for ev in req.events)
        for i, ev in enumerate(req.events):
            if ev.ts < ticket.created_at:
                raise InputError(f"events[{i}].ts", "is before the ticket was created")
            if ev.ts > now + CLOCK_SKEW:
                raise InputError(f"events[{i}].ts", "is in the future")
        if req.as_of is not None and req.as_of < latest:
            raise InputError("as_of", "is before an event of the request")
        if (len(state.events) if state else 0) + len(req.events) > s.max_events:
            raise InputError("events", f"a ticket holds at most {s.max_events} events")
        if s.redact_personal_data:
            # The log keeps what is scored, and neither keeps personal data: redact first.
            req = _redacted(req)
            ticket = req.ticket or ticket
        events = req.events
        order = sorted(range(len(events)), key=lambda i: events[i].ts)
        logged = self._logged([events[i] for i in order], ticket_id, served)
        try:
            appended = store.append_events(
                ticket_id,
                _ticket_row(ticket, account_id) if req.ticket else None,
                _account_row(req.account) if req.account else None,
                ticket.model_dump_json() if req.ticket else None,
                logged,
            )
        except EventRefused as err:
            if err.index is None:
                raise ServiceError(err.status, "unknown_ticket", err.problem) from None
            raise ServiceError(
                err.status, "event_refused", f"events[{order[err.index]}]: {err.problem}"
            ) from None
        with self._live_lock:
            self.follow_log()
            state = self._ticket(ticket_id)
            if req.ticket is not None:
                state.ticket = req.ticket
            as_of = req.as_of or pd.Timestamp(state.latest_us, unit="us", tz="UTC").to_pydatetime()
            if as_of < ticket.created_at:
                raise InputError("as_of", "is before the ticket was created")
            score_req = ScoreIn.model_construct(
                ticket=state.ticket,
                account=AccountIn(account_id=account_id),
                events=list(state.events),
                as_of=as_of,
            )
            stored = store.stored_account(account_id)  # another worker may have changed it
            result = self.scorer.score(
                score_req, served, self.context, stored, now=now, live=self.live
            )
        b = redact_answer(result.body, self.settings.redact_personal_data)
        self.metrics.decisions.labels(b["decision"]["action"]).inc()
        self.metrics.probability.observe(b["probability"])
        if result.features is not None:
            self.drift.observe(result.features, b["probability"])
        self._maybe_alert(b, served, account_id)
        return b, appended

    def _logged(self, events: list, ticket_id: str, served: ServedModel) -> list[LoggedEvent]:
        """The log rows of new events: the context columns (sentiment from the text model)
        and the event as sent."""
        ts = [_us(e.ts) for e in events]
        sentiment = np.full(len(events), np.nan)
        texts = [
            i
            for i, e in enumerate(events)
            if e.event_type == "customer_message" and e.text is not None
        ]
        if texts and served.text_model:  # only customer messages carry sentiment
            picked = [events[i] for i in texts]
            frame = typed_frame(
                "events",
                {
                    "ticket_id": [ticket_id] * len(picked),
                    "ts": [e.ts for e in picked],
                    "event_type": [e.event_type for e in picked],
                    "actor": [e.actor for e in picked],
                    "text": [e.text for e in picked],
                },
            )
            signals = self.scorer.signals(frame, served)["sentiment"]
            sentiment[texts] = signals.to_numpy(dtype="float64")
        return [
            LoggedEvent(
                e.event_id,
                int(t),
                e.event_type,
                e.agent_id,
                e.team,
                e.status,
                None if np.isnan(x) else float(x),
                e.model_dump_json(exclude_none=True),
            )
            for e, t, x in zip(events, ts, sentiment, strict=True)
        ]

    def _ticket(self, ticket_id: str) -> _TicketState | None:
        """A ticket's logged state: cached, else loaded from the store (None if unknown)."""
        with self._live_lock:
            state = self._tickets.get(ticket_id)
            if state is not None:
                self._tickets.move_to_end(ticket_id)
                return state
            head, rows = self.store.ticket_log(ticket_id)
            if head is None:
                return None
            state = _TicketState(TicketIn.model_validate(head[1]), head[0])
            state.add(rows)
            self._tickets[ticket_id] = state
            while len(self._tickets) > self.settings.ticket_cache_size:
                self._tickets.popitem(last=False)
            return state

    def follow_log(self) -> int:
        """Apply the log entries this worker has not seen (its own and other workers') to the
        live context; returns how many."""
        done = 0
        with self._live_lock:
            while True:
                rows = self.store.log_since(self._seen, limit=5000)
                if not rows:
                    return done
                by_ticket: dict[str, list[tuple]] = defaultdict(list)
                for r in rows:
                    by_ticket[r[1]].append(r)
                states = []
                for tid, new in by_ticket.items():
                    cached = tid in self._tickets
                    state = self._ticket(tid)
                    if state is None:  # forgotten since: nothing to apply
                        continue
                    if cached:
                        state.add(new)
                    states.append((tid, state))
                if states:
                    self.live.update(*_log_frames(states))
                self._seen = rows[-1][0]
                done += len(rows)

    def forget_tickets(self, ticket_ids) -> None:
        """Drop tickets from the in-memory state (after the store forgot them)."""
        with self._live_lock:
            for tid in ticket_ids:
                self._tickets.pop(tid, None)

    def record_scores(self, bodies: list[dict], served: ServedModel) -> None:
        """Keep what was answered, by which model and policy version (monitoring), with the
        answer's decision fields (the board shows them; the bodies are already redacted)."""
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
                    {k: b[k] for k in STORED_ANSWER if k in b},
                )
                for b in bodies
            ]
        )


def _redacted(req: EventsIn) -> EventsIn:
    """``req`` with personal data redacted from its event texts and the ticket's subject."""
    events = [e.model_copy(update={"text": redact(e.text)}) if e.text else e for e in req.events]
    ticket = req.ticket
    if ticket is not None and ticket.subject:
        ticket = ticket.model_copy(update={"subject": redact(ticket.subject)})
    return req.model_copy(update={"events": events, "ticket": ticket})


def _ticket_row(t: TicketIn, account_id: str) -> tuple:
    return (
        t.ticket_id,
        account_id,
        _us(t.created_at),
        t.channel,
        t.product_area,
        t.priority,
    )


def _account_row(a: AccountIn) -> tuple:
    return (
        a.account_id,
        a.arr,
        a.plan,
        None if a.strategic is None else int(a.strategic),
        a.region,
        a.industry,
        None if a.created_at is None else _us(a.created_at),
        None if a.renewal_date is None else _us(a.renewal_date),
    )


def _us(t: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    return int(pd.Timestamp(t).value // 1000)


def _log_frames(states: list[tuple[str, _TicketState]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tickets and their logged events as the frames the context reads."""
    tickets = typed_frame(
        "tickets",
        {
            "ticket_id": [tid for tid, _ in states],
            "account_id": [st.account_id for _, st in states],
            "created_at": [st.ticket.created_at for _, st in states],
            "channel": [st.ticket.channel for _, st in states],
            "product_area": [st.ticket.product_area for _, st in states],
            "priority": [st.ticket.priority for _, st in states],
        },
    )
    rows = [r for _, st in states for r in st.rows]
    events = pd.DataFrame(
        {
            "ticket_id": np.array([r[1] for r in rows], dtype=object),
            "ts": pd.to_datetime(
                np.array([r[3] for r in rows], dtype=np.int64), unit="us", utc=True
            ),
            "event_type": np.array([r[4] for r in rows], dtype=object),
            "agent_id": np.array([r[5] for r in rows], dtype=object),
            "team": np.array([r[6] for r in rows], dtype=object),
            "status": np.array([r[7] for r in rows], dtype=object),
            "sentiment": np.array(
                [np.nan if r[8] is None else r[8] for r in rows], dtype="float64"
            ),
        }
    )
    return tickets, events


def _load_text_scorer(settings: Settings) -> TransformerTextScorer:
    return TransformerTextScorer(load_sentiment_model(threads=settings.compute_threads()))
