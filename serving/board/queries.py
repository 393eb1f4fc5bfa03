"""Read-only SQL over the service's store for the board (one place for every board query).

The store's public methods read whole tables; the board needs the latest score per ticket joined
to its ticket, account and a summary of its events, and one ticket's answers and score history,
so it runs its own read-only queries on the store's file. Times are integer microseconds since
the Unix epoch (UTC), as the store writes them; inside a stored answer (``scores.answer``, JSON)
they are ISO 8601 text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The latest score of every scored ticket, with the decision fields of its stored answer (NULL
# for a score stored before the store kept answers), its ticket, account and a summary of the
# events known at that score's as_of (the backfill holds whole histories, later events included):
# team = the team of its latest assignment, status = its latest status, answered = an agent
# has written (the first-response SLA stops).
_QUEUE_SQL = """
WITH latest AS (
    SELECT ticket_id, max(id) AS id, count(*) AS n_scores FROM scores {where} GROUP BY ticket_id
)
SELECT s.id, s.ticket_id, s.as_of, s.probability, s.action, s.model_version, s.policy_version,
       s.scored_at, l.n_scores,
       json_extract(s.answer, '$.decision.route_to'), json_extract(s.answer, '$.decision.team'),
       json_extract(s.answer, '$.escalation_type'), json_extract(s.answer, '$.severity.level'),
       json_extract(s.answer, '$.severity.respond_by'), json_extract(s.answer, '$.reasons[0].text'),
       t.account_id, t.created_at, t.channel, t.product_area,
       t.priority, a.arr, a.plan, a.strategic,
       (SELECT e.team FROM events e WHERE e.ticket_id = l.ticket_id AND e.ts <= s.as_of
          AND e.team IS NOT NULL ORDER BY e.ts DESC LIMIT 1) AS team,
       (SELECT e.status FROM events e WHERE e.ticket_id = l.ticket_id AND e.ts <= s.as_of
          AND e.status IS NOT NULL ORDER BY e.ts DESC LIMIT 1) AS status,
       EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = l.ticket_id AND e.ts <= s.as_of
          AND e.event_type = 'agent_message') AS answered
FROM latest l
JOIN scores s ON s.id = l.id
JOIN tickets t ON t.ticket_id = l.ticket_id
LEFT JOIN accounts a ON a.account_id = t.account_id
"""
# Only the tickets answered after a given score id (the incremental refresh).
_SINCE = "WHERE ticket_id IN (SELECT ticket_id FROM scores WHERE id > ?)"
QUEUE_COLUMNS = (
    "score_id",
    "ticket_id",
    "as_of",
    "probability",
    "action",
    "model_version",
    "policy_version",
    "scored_at",
    "n_scores",
    "route_to",
    "route_team",
    "escalation_type",
    "severity",
    "respond_by",  # ISO 8601 text
    "top_reason",
    "account_id",
    "created_at",
    "channel",
    "product_area",
    "priority",
    "arr",
    "plan",
    "strategic",
    "team",
    "status",
    "answered",
)


class BoardQueries:
    """Read-only queries on the store's SQLite file (a fresh connection per call)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            yield db
        finally:
            db.close()

    def queue_rows(self, since_id: int | None = None) -> list[dict]:
        """Every scored ticket's latest score with its ticket, account and event summary; with
        ``since_id``, only the tickets with a score stored after that score id."""
        with self._db() as db:
            if since_id is None:
                rows = db.execute(_QUEUE_SQL.format(where="")).fetchall()
            else:
                rows = db.execute(_QUEUE_SQL.format(where=_SINCE), (since_id,)).fetchall()
        return [dict(zip(QUEUE_COLUMNS, r, strict=True)) for r in rows]

    def ticket(self, ticket_id: str) -> dict | None:
        """The stored ticket row, or None."""
        with self._db() as db:
            cur = db.execute("SELECT * FROM tickets WHERE ticket_id = ?", (ticket_id,))
            row = cur.fetchone()
            cols = [d[0] for d in cur.description]
        return None if row is None else dict(zip(cols, row, strict=True))

    def score_history(self, ticket_id: str) -> list[dict]:
        """Every score answered for the ticket, in the order they were answered."""
        with self._db() as db:
            cur = db.execute(
                "SELECT as_of, probability, action, model_version, policy_version, scored_at "
                "FROM scores WHERE ticket_id = ? ORDER BY id",
                (ticket_id,),
            )
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def latest_answer(self, ticket_id: str) -> dict | None:
        """The decision fields of the ticket's latest stored answer (see
        ``serving.services.service.STORED_ANSWER``; times as ISO 8601 text), or None when the
        ticket has no score or its latest one was stored without them."""
        with self._db() as db:
            row = db.execute(
                "SELECT answer FROM scores WHERE ticket_id = ? ORDER BY id DESC LIMIT 1",
                (ticket_id,),
            ).fetchone()
        return None if row is None or row[0] is None else json.loads(row[0])

    def feedback(self, ticket_id: str) -> list[dict]:
        """The outcomes recorded for the ticket, newest first."""
        with self._db() as db:
            cur = db.execute(
                "SELECT escalated, note, received_at FROM feedback WHERE ticket_id = ? "
                "ORDER BY id DESC",
                (ticket_id,),
            )
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def escalate_alerts_since(self, since_us: int) -> int:
        """Tickets that got an ``escalate`` answer scored at or after ``since_us``: the alerts
        the policy raised (one per ticket)."""
        with self._db() as db:
            row = db.execute(
                "SELECT count(DISTINCT ticket_id) FROM scores "
                "WHERE action = 'escalate' AND scored_at >= ?",
                (since_us,),
            ).fetchone()
        return int(row[0])
