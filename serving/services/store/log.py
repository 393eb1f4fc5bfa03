"""The ticket event log: events appended one request at a time, each once, in time order.

``POST /v1/tickets/{id}/events`` writes here. The log keeps each event as sent (text included:
the brief and the escalation type read it; :mod:`.retention` deletes it) plus the columns the
context reads, under a global sequence number that tells every worker what it has not seen yet.
An append is one transaction holding the write lock, so the idempotency and time-order checks
and the insert are atomic across workers.

Times are integer microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

# Columns of the log a worker needs to follow the others (everything but the body).
LOG_COLUMNS = (
    "seq",
    "ticket_id",
    "event_id",
    "ts",
    "event_type",
    "agent_id",
    "team",
    "status",
    "sentiment",
)


@dataclass(frozen=True)
class LoggedEvent:
    """One event to append: its id, the context columns and the event as sent (JSON)."""

    event_id: str
    ts_us: int
    event_type: str
    agent_id: str | None
    team: str | None
    status: str | None
    sentiment: float | None
    body: str


@dataclass(frozen=True)
class Appended:
    """What an append did: the new events' sequence numbers, and the positions of the events
    already logged with the same content (skipped)."""

    seqs: list[int]
    duplicates: list[int]


class EventRefused(ValueError):
    """An append refused as a whole: ``index`` names the event (None: the ticket), ``status``
    the HTTP status it answers (404 unknown ticket, 409 conflict)."""

    def __init__(self, status: int, index: int | None, problem: str) -> None:
        super().__init__(problem)
        self.status, self.index, self.problem = status, index, problem


class EventLog:
    """Mixin of :class:`~serving.services.store.Store`: the ticket event log."""

    def append_events(
        self,
        ticket_id: str,
        ticket: tuple | None,
        account: tuple | None,
        body: str | None,
        events: Sequence[LoggedEvent],
    ) -> Appended:
        """Append ``events`` (sorted by time) to a ticket's log, atomically.

        Args:
            ticket: the tickets-table row (ticket_id, account_id, created_at us, channel,
                product_area, priority), None to keep the stored one.
            account: the accounts-table row; known fields are kept where it has None.
            body: the ticket as sent (JSON), stored with ``ticket``.

        Raises:
            EventRefused: 404 when the ticket is unknown and ``ticket`` is None; 409 when an
                event id is logged with another content, or an event is earlier than the
                ticket's latest logged event (the log only grows forward in time).
        """
        now = time.time_ns() // 1000
        with self._immediate() as db:
            known = db.execute(
                "SELECT 1 FROM ticket_bodies WHERE ticket_id = ?", (ticket_id,)
            ).fetchone()
            if ticket is None and known is None:
                raise EventRefused(
                    404, None, "unknown ticket: send its ticket and account with its first events"
                )
            logged = _logged_bodies(db, ticket_id, [e.event_id for e in events])
            latest = db.execute(
                "SELECT max(ts) FROM ticket_events WHERE ticket_id = ?", (ticket_id,)
            ).fetchone()[0]
            new, duplicates = [], []
            seen: dict[str, str] = {}
            for i, e in enumerate(events):
                before = logged.get(e.event_id, seen.get(e.event_id))
                if before is not None:
                    if before != e.body:
                        raise EventRefused(
                            409, i, "event_id is already logged with another content"
                        )
                    duplicates.append(i)
                    continue
                if latest is not None and e.ts_us < latest:
                    raise EventRefused(
                        409,
                        i,
                        "ts is earlier than the ticket's latest logged event; events are "
                        "appended in time order (send it with /v1/score instead)",
                    )
                seen[e.event_id] = e.body
                new.append(e)
            if ticket is not None:
                self._upsert_ticket(db, ticket, account, body, now)
            if latest is None and new:
                # The ticket's history is its log from now on: rows that /v1/score or the
                # backfill left for it would count twice in the context.
                db.execute("DELETE FROM events WHERE ticket_id = ?", (ticket_id,))
            seqs = []
            for e in new:
                cur = db.execute(
                    "INSERT INTO ticket_events (ticket_id, event_id, ts, event_type, agent_id, "
                    "team, status, sentiment, body, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        ticket_id,
                        e.event_id,
                        e.ts_us,
                        e.event_type,
                        e.agent_id,
                        e.team,
                        e.status,
                        e.sentiment,
                        e.body,
                        now,
                    ),
                )
                seqs.append(int(cur.lastrowid))
            db.executemany(
                "INSERT INTO events VALUES (?,?,?,?,?,?,?)",
                [
                    (ticket_id, e.ts_us, e.event_type, e.agent_id, e.team, e.status, e.sentiment)
                    for e in new
                ],
            )
        if new:
            self.version += 1
        return Appended(seqs, duplicates)

    @staticmethod
    def _upsert_ticket(
        db: sqlite3.Connection, ticket: tuple, account: tuple | None, body: str | None, now: int
    ) -> None:
        if account is not None:
            db.execute(
                "INSERT INTO accounts VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(account_id) DO UPDATE "
                "SET arr=coalesce(excluded.arr, arr), plan=coalesce(excluded.plan, plan), "
                "strategic=coalesce(excluded.strategic, strategic), "
                "region=coalesce(excluded.region, region), "
                "industry=coalesce(excluded.industry, industry), "
                "created_at=coalesce(excluded.created_at, created_at), "
                "renewal_date=coalesce(excluded.renewal_date, renewal_date)",
                account,
            )
        db.execute("INSERT OR REPLACE INTO tickets VALUES (?,?,?,?,?,?)", ticket)
        db.execute(
            "INSERT OR REPLACE INTO ticket_bodies VALUES (?,?,?,?)",
            (ticket[0], ticket[1], body or "{}", now),
        )

    def ticket_log(self, ticket_id: str) -> tuple[tuple[str, dict] | None, list[tuple]]:
        """((account id, the ticket as sent, parsed); None if unknown) and its logged events
        as rows of :data:`LOG_COLUMNS` plus ``body``, in time order (then arrival)."""
        with self._reader() as db:
            head = db.execute(
                "SELECT account_id, body FROM ticket_bodies WHERE ticket_id = ?", (ticket_id,)
            ).fetchone()
            rows = db.execute(
                f"SELECT {', '.join(LOG_COLUMNS)}, body FROM ticket_events WHERE ticket_id = ? "
                "ORDER BY ts, seq",
                (ticket_id,),
            ).fetchall()
        return (None if head is None else (head[0], json.loads(head[1]))), rows

    def log_since(self, seq: int, limit: int = 10_000) -> list[tuple]:
        """Logged events after sequence number ``seq`` (rows of :data:`LOG_COLUMNS` plus
        ``body``), in order."""
        with self._reader() as db:
            return db.execute(
                f"SELECT {', '.join(LOG_COLUMNS)}, body FROM ticket_events WHERE seq > ? "
                "ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()

    def log_seq(self) -> int:
        """The latest sequence number of the log (0 when empty)."""
        with self._reader() as db:
            return int(db.execute("SELECT coalesce(max(seq), 0) FROM ticket_events").fetchone()[0])

    def ticket_heads(self, ticket_ids: Sequence[str]) -> dict[str, tuple]:
        """tickets-table rows (as stored, times in us) of the given tickets."""
        if not ticket_ids:
            return {}
        marks = ",".join("?" * len(ticket_ids))
        with self._reader() as db:
            rows = db.execute(
                f"SELECT * FROM tickets WHERE ticket_id IN ({marks})", list(ticket_ids)
            ).fetchall()
        return {r[0]: r for r in rows}


def _logged_bodies(db: sqlite3.Connection, ticket_id: str, event_ids: list[str]) -> dict:
    out: dict[str, str] = {}
    for lo in range(0, len(event_ids), 500):
        chunk = event_ids[lo : lo + 500]
        marks = ",".join("?" * len(chunk))
        out.update(
            db.execute(
                f"SELECT event_id, body FROM ticket_events WHERE ticket_id = ? "
                f"AND event_id IN ({marks})",
                [ticket_id, *chunk],
            ).fetchall()
        )
    return out
