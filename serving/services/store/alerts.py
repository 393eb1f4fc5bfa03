"""The alert queue: one alert per (ticket, policy version), one delivery row per webhook.

Deliveries are claimed in a transaction that holds the write lock (a lease: ``claimed_by``,
``claimed_until``), so two workers never send the same delivery while the lease holds; a worker
that dies mid-delivery leaves its claim to expire, and another one sends it then (at least once;
receivers can deduplicate on the alert id, sent as a header). A delivery that fails is retried
with exponential back-off, then moved to ``alert_dead_letters``.

Times are integer microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery: which alert to which target, in which format, the how-many-th try."""

    alert_id: int
    target: str
    format: str
    attempts: int
    body: str


def now_us() -> int:
    return time.time_ns() // 1000


class AlertQueue:
    """Mixin of :class:`~serving.services.store.Store`: alerts and their deliveries."""

    def raise_alert(
        self,
        ticket_id: str,
        policy_version: str,
        account_id: str | None,
        action: str,
        probability: float,
        model_version: str,
        as_of_us: int,
        body: str,
        targets: Sequence[tuple[str, str]],
    ) -> bool:
        """Queue one alert for (ticket, policy version) to every (url, format) target; False if
        that ticket already has an alert under that policy version (nothing changes)."""
        now = now_us()
        with self._immediate() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO alerts (ticket_id, policy_version, account_id, action, "
                "probability, model_version, as_of, body, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    ticket_id,
                    policy_version,
                    account_id,
                    action,
                    probability,
                    model_version,
                    as_of_us,
                    body,
                    now,
                ),
            )
            if cur.rowcount == 0:
                return False
            alert_id = int(cur.lastrowid)
            db.executemany(
                "INSERT INTO alert_deliveries (alert_id, target, format, state, attempts, "
                "next_at) VALUES (?,?,?,'pending',0,?)",
                [(alert_id, url, fmt, now) for url, fmt in targets],
            )
        return True

    def has_alert(self, ticket_id: str, policy_version: str) -> bool:
        with self._reader() as db:
            row = db.execute(
                "SELECT 1 FROM alerts WHERE ticket_id = ? AND policy_version = ?",
                (ticket_id, policy_version),
            ).fetchone()
        return row is not None

    def claim_deliveries(self, worker: str, lease_s: float, limit: int = 16) -> list[Delivery]:
        """Claim up to ``limit`` due deliveries for ``lease_s`` seconds (none claimed by another
        worker whose lease still holds)."""
        now = now_us()
        with self._immediate() as db:
            rows = db.execute(
                "SELECT d.alert_id, d.target, d.format, d.attempts, a.body "
                "FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id "
                "WHERE d.state = 'pending' AND d.next_at <= ? "
                "AND (d.claimed_until IS NULL OR d.claimed_until < ?) "
                "ORDER BY d.next_at LIMIT ?",
                (now, now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE alert_deliveries SET claimed_by = ?, claimed_until = ? "
                "WHERE alert_id = ? AND target = ?",
                [(worker, now + int(lease_s * 1e6), r[0], r[1]) for r in rows],
            )
        return [Delivery(*r) for r in rows]

    def delivery_sent(self, d: Delivery, worker: str) -> None:
        with self._immediate() as db:
            db.execute(
                "UPDATE alert_deliveries SET state = 'sent', attempts = attempts + 1, "
                "sent_at = ?, claimed_by = NULL, claimed_until = NULL, last_error = NULL "
                "WHERE alert_id = ? AND target = ? AND claimed_by = ?",
                (now_us(), d.alert_id, d.target, worker),
            )

    def delivery_failed(
        self, d: Delivery, worker: str, error: str, retry_in_s: float | None
    ) -> None:
        """A failed try: retried after ``retry_in_s`` seconds, or dead (None)."""
        now = now_us()
        with self._immediate() as db:
            if retry_in_s is None:
                cur = db.execute(
                    "UPDATE alert_deliveries SET state = 'dead', attempts = attempts + 1, "
                    "last_error = ?, claimed_by = NULL, claimed_until = NULL "
                    "WHERE alert_id = ? AND target = ? AND claimed_by = ?",
                    (error, d.alert_id, d.target, worker),
                )
                if cur.rowcount:
                    db.execute(
                        "INSERT OR REPLACE INTO alert_dead_letters VALUES (?,?,?,?,?)",
                        (d.alert_id, d.target, d.attempts + 1, error, now),
                    )
                return
            db.execute(
                "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?, "
                "next_at = ?, claimed_by = NULL, claimed_until = NULL "
                "WHERE alert_id = ? AND target = ? AND claimed_by = ?",
                (error, now + int(retry_in_s * 1e6), d.alert_id, d.target, worker),
            )
