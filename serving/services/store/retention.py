"""Retention: purge what went quiet before a cut-off, forget one account entirely.

Both flush the queued writes first (a write still queued could bring a row back) and delete in
one transaction; they answer the rows deleted per table.
"""

from __future__ import annotations

from datetime import UTC, datetime

# Tables keyed by ticket_id, deleted with their tickets (alert rows go through their alert).
_BY_TICKET = (
    "ticket_events",
    "ticket_bodies",
    "events",
    "scores",
    "feedback",
    "escalations",
)


class Retention:
    """Mixin of :class:`~serving.services.store.Store`: purge and forget_account."""

    def purge(self, before: datetime) -> dict[str, int]:
        """Delete the tickets last active before ``before`` (aware datetime): their latest
        event, score or creation is earlier; with their events, scores, feedback, escalations
        and alerts. Accounts stay (their other tickets may be recent)."""
        if before.tzinfo is None:
            raise ValueError("before must carry a time zone")
        cut = int(before.astimezone(UTC).timestamp() * 1_000_000)
        self.flush()
        with self._immediate() as db:
            db.execute("CREATE TEMP TABLE gone (ticket_id TEXT PRIMARY KEY)")
            db.execute(
                "INSERT INTO gone SELECT t.ticket_id FROM tickets t WHERE max(t.created_at, "
                "coalesce((SELECT max(ts) FROM events e WHERE e.ticket_id = t.ticket_id), 0), "
                "coalesce((SELECT max(ts) FROM ticket_events e WHERE e.ticket_id = t.ticket_id),"
                " 0), coalesce((SELECT max(as_of) FROM scores s WHERE s.ticket_id = t.ticket_id),"
                " 0)) < ?",
                (cut,),
            )
            counts = _delete_tickets(db)
        self.version += 1
        return counts

    def forget_account(self, account_id: str) -> dict[str, int]:
        """Delete everything the store holds of one account: the account, its tickets with
        their events, scores, feedback, escalations and alerts."""
        self.flush()
        with self._immediate() as db:
            db.execute("CREATE TEMP TABLE gone (ticket_id TEXT PRIMARY KEY)")
            db.execute(
                "INSERT INTO gone SELECT ticket_id FROM tickets WHERE account_id = ? "
                "UNION SELECT ticket_id FROM ticket_bodies WHERE account_id = ? "
                "UNION SELECT ticket_id FROM alerts WHERE account_id = ?",
                (account_id,) * 3,
            )
            counts = _delete_tickets(db)
            counts["escalations"] += db.execute(
                "DELETE FROM escalations WHERE account_id = ?", (account_id,)
            ).rowcount
            counts["accounts"] = db.execute(
                "DELETE FROM accounts WHERE account_id = ?", (account_id,)
            ).rowcount
        with self._accounts_lock:
            self._accounts.pop(account_id, None)
        self.version += 1
        return counts


def _delete_tickets(db) -> dict[str, int]:
    """Delete every row of the tickets in the temporary table ``gone``; rows per table."""
    counts = {}
    alerts = "SELECT id FROM alerts WHERE ticket_id IN (SELECT ticket_id FROM gone)"
    for table in ("alert_deliveries", "alert_dead_letters"):
        counts[table] = db.execute(f"DELETE FROM {table} WHERE alert_id IN ({alerts})").rowcount
    counts["alerts"] = db.execute(
        "DELETE FROM alerts WHERE ticket_id IN (SELECT ticket_id FROM gone)"
    ).rowcount
    for table in _BY_TICKET:
        counts[table] = db.execute(
            f"DELETE FROM {table} WHERE ticket_id IN (SELECT ticket_id FROM gone)"
        ).rowcount
    counts["tickets"] = db.execute(
        "DELETE FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM gone)"
    ).rowcount
    db.execute("DROP TABLE gone")
    return counts
