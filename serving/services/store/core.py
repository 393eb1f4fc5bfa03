"""The service's own store (embedded SQLite): the account history its features read.

What it holds and why:

- accounts, tickets, and per-ticket events (only the columns context features read: type, time,
  status, agent, team, customer-message sentiment; no message text is stored);
- escalations (from the backfill's outcomes and from ``POST /v1/feedback``): the account's
  escalation history;
- feedback (real outcomes) and scores (what was answered, by which model and policy version,
  and the answer's decision fields as JSON: band, route, severity, SLA, type, triggers, reasons,
  brief), for monitoring, retraining and the board.

It is filled from the training data at first start (``backfill``) and updated by what the service
is sent: every scored ticket replaces its stored events. Features of *other* tickets (account open
tickets, team backlog, ...) read a context rebuilt from the store every ``refresh_seconds``; the
scored ticket itself always enters as sent (see :meth:`FeatureContext.overlay`).

Times are stored as integer microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalogue.wording import is_missing
from features.context import FeatureContext
from features.pipeline import default_cache_path
from features.schema import read_dataset
from features.text import SignalCache, attach_text_signals
from serving.services.store.alerts import AlertQueue
from serving.services.store.codec import (
    _ACCOUNT_COLS,
    _EVENT_COLS,
    _TICKET_COLS,
    _frame,
    _rows,
    _us,
)
from serving.services.store.log import EventLog
from serving.services.store.retention import Retention

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY, arr REAL, plan TEXT, strategic INTEGER, region TEXT,
    industry TEXT, created_at INTEGER, renewal_date INTEGER);
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, created_at INTEGER NOT NULL,
    channel TEXT, product_area TEXT, priority TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    ticket_id TEXT NOT NULL, ts INTEGER NOT NULL, event_type TEXT NOT NULL, agent_id TEXT,
    team TEXT, status TEXT, sentiment REAL);
CREATE INDEX IF NOT EXISTS events_ticket ON events (ticket_id);
CREATE TABLE IF NOT EXISTS escalations (
    ticket_id TEXT PRIMARY KEY, account_id TEXT, escalated_at INTEGER NOT NULL,
    escalation_type TEXT);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL, escalated INTEGER NOT NULL,
    escalated_at INTEGER, escalation_type TEXT, escalation_kind TEXT, closed_at INTEGER,
    note TEXT, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL, as_of INTEGER NOT NULL,
    probability REAL NOT NULL, action TEXT NOT NULL, model_version TEXT NOT NULL,
    policy_version TEXT NOT NULL, scored_at INTEGER NOT NULL, answer TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS ticket_bodies (
    ticket_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, body TEXT NOT NULL,
    updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ticket_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL, event_id TEXT NOT NULL,
    ts INTEGER NOT NULL, event_type TEXT NOT NULL, agent_id TEXT, team TEXT, status TEXT,
    sentiment REAL, body TEXT NOT NULL, received_at INTEGER NOT NULL,
    UNIQUE (ticket_id, event_id));
CREATE INDEX IF NOT EXISTS ticket_events_ticket ON ticket_events (ticket_id, ts);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL, policy_version TEXT NOT NULL,
    account_id TEXT, action TEXT NOT NULL, probability REAL NOT NULL,
    model_version TEXT NOT NULL, as_of INTEGER NOT NULL, body TEXT NOT NULL,
    created_at INTEGER NOT NULL, UNIQUE (ticket_id, policy_version));
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id INTEGER NOT NULL, target TEXT NOT NULL, format TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,
    claimed_by TEXT, claimed_until INTEGER, last_error TEXT, sent_at INTEGER,
    PRIMARY KEY (alert_id, target));
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (state, next_at);
CREATE TABLE IF NOT EXISTS alert_dead_letters (
    alert_id INTEGER NOT NULL, target TEXT NOT NULL, attempts INTEGER NOT NULL,
    last_error TEXT, died_at INTEGER NOT NULL, PRIMARY KEY (alert_id, target));
"""
# Columns added after a table was first released: (table, column, declaration). A file written
# before one of them gains it when it is opened (``ALTER TABLE ... ADD COLUMN``; old rows NULL).
_ADDED_COLUMNS = (("scores", "answer", "TEXT"),)
# The tables above: the only names that may go into SQL as identifiers.
TABLES = (
    "accounts",
    "tickets",
    "events",
    "escalations",
    "feedback",
    "scores",
    "meta",
    "ticket_bodies",
    "ticket_events",
    "alerts",
    "alert_deliveries",
    "alert_dead_letters",
)


def _checked(table: str) -> str:
    """``table`` if it is one of the store's tables (it goes into SQL as an identifier)."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; the store has {', '.join(TABLES)}")
    return table


def _migrate(db: sqlite3.Connection) -> None:
    """Add the :data:`_ADDED_COLUMNS` a store file written by an earlier version lacks."""
    for table, column, decl in _ADDED_COLUMNS:
        have = {r[1] for r in db.execute(f"PRAGMA table_info({_checked(table)})")}
        if column in have:
            continue
        try:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        except sqlite3.OperationalError:  # another worker opening the same file added it first
            if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
                raise
        else:
            log.info("store: added the column %s.%s", table, column)


def _answer_json(answer: object) -> str | None:
    """A stored answer as JSON text (times as ISO 8601), or None when there is none or it does
    not encode (the score row is kept either way; the readers' ``json_extract`` needs valid
    JSON, so no NaN)."""
    if answer is None:
        return None
    try:
        return json.dumps(answer, default=_plain, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        log.warning("score answer not stored: %s", type(err).__name__)
        return None


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


class Store(EventLog, AlertQueue, Retention):
    """SQLite store with a single writer thread (requests never wait on a disk write), plus
    the ticket event log and the alert queue, written synchronously in their own transactions
    (an accepted event is on disk before its answer; an alert is claimed by one worker)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.executescript(_SCHEMA)
            _migrate(db)
        self._local = threading.local()
        self._pool: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._writes: queue.Queue[Callable[[sqlite3.Connection], None] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._writer.start()
        self.version = 0  # bumped by every write: tells the refresher the context is stale
        # Accounts in memory (account_id -> fields): requests read them without a query.
        self._accounts: dict[str, dict] = {}
        self._accounts_lock = threading.Lock()
        self._load_accounts()

    def _load_accounts(self) -> None:
        with self._connection() as db:
            rows = db.execute("SELECT * FROM accounts").fetchall()
        frame = _frame(rows, _ACCOUNT_COLS)
        accounts = {r["account_id"]: r for r in frame.to_dict("records")}
        with self._accounts_lock:
            self._accounts = accounts

    def _connect(self, shared: bool = False) -> sqlite3.Connection:
        # shared: a thread's kept connection, closed by close() from another thread.
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=not shared)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            db.close()
            raise
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one unit of work: committed (or rolled back), then closed.

        ``with sqlite3.connect(...)`` only commits; the connection (a file handle) would stay
        open until garbage collection.
        """
        db = self._connect()
        try:
            with db:
                yield db
        finally:
            db.close()

    def _cached(self) -> sqlite3.Connection:
        """This thread's own connection (autocommit), kept open: the event log and the alert
        queue run on the request path, where opening a connection per call costs more than
        the call. :meth:`close` closes them all."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect(shared=True)
            db.isolation_level = None
            with self._pool_lock:
                self._pool.append(db)
            self._local.db = db
        return db

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for reads (each statement sees the latest commit)."""
        yield self._cached()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its start (so a read
        and the write it decides are one atomic step across processes)."""
        db = self._cached()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        db = self._connect()
        try:
            stop = False
            while not stop:
                job = self._writes.get()
                if job is None:
                    self._writes.task_done()
                    return
                jobs = [job]
                while len(jobs) < 256:  # one commit for a burst
                    try:
                        nxt = self._writes.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:  # close(): commit what came before, then stop
                        self._writes.task_done()
                        stop = True
                        break
                    jobs.append(nxt)
                self._commit(db, jobs)
        finally:
            db.close()

    def _commit(
        self, db: sqlite3.Connection, jobs: list[Callable[[sqlite3.Connection], None]]
    ) -> None:
        try:
            with db:
                for j in jobs:
                    j(db)
            self.version += 1
        except Exception:  # a failed burst must not stop the writer: later writes still land
            log.exception("store write failed (%d operations lost)", len(jobs))
        finally:
            for _ in jobs:
                self._writes.task_done()

    def flush(self, timeout: float | None = 60.0) -> None:
        """Wait until every queued write is committed.

        Raises:
            TimeoutError: writes are still pending after ``timeout`` seconds (None: no limit).
        """
        q = self._writes
        with q.all_tasks_done:
            if not q.all_tasks_done.wait_for(lambda: not q.unfinished_tasks, timeout):
                raise TimeoutError(f"store writes still pending after {timeout} s")

    def close(self, timeout: float = 10.0) -> None:
        """Commit the queued writes, stop the writer thread and close every connection."""
        with self._pool_lock:
            pool, self._pool = self._pool, []
        for db in pool:
            db.close()
        self._local = threading.local()
        if not self._writer.is_alive():
            return
        self._writes.put(None)
        self._writer.join(timeout)
        if self._writer.is_alive():
            log.warning("store writer still busy after %.0f s; its connection stays open", timeout)

    def record_ticket(
        self, account: pd.DataFrame, ticket: pd.DataFrame, events: pd.DataFrame
    ) -> None:
        """Upsert the account (known fields kept when the request leaves them out), the ticket,
        and replace the ticket's events."""
        tid = str(ticket["ticket_id"].iloc[0])
        with self._accounts_lock:
            for record in account.to_dict("records"):
                known = self._accounts.get(record["account_id"], {})
                self._accounts[record["account_id"]] = {
                    k: (known.get(k) if is_missing(v) else v) for k, v in record.items()
                }

        def job(db: sqlite3.Connection) -> None:
            # Converted here, in the writer thread: the request does not wait for it.
            acc = _rows(account, _ACCOUNT_COLS)
            tk = _rows(ticket, _TICKET_COLS)
            ev = _rows(events, _EVENT_COLS)
            db.executemany(
                "INSERT INTO accounts VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(account_id) DO UPDATE "
                "SET arr=coalesce(excluded.arr, arr), plan=coalesce(excluded.plan, plan), "
                "strategic=coalesce(excluded.strategic, strategic), "
                "region=coalesce(excluded.region, region), "
                "industry=coalesce(excluded.industry, industry), "
                "created_at=coalesce(excluded.created_at, created_at), "
                "renewal_date=coalesce(excluded.renewal_date, renewal_date)",
                acc,
            )
            db.executemany("INSERT OR REPLACE INTO tickets VALUES (?,?,?,?,?,?)", tk)
            db.execute("DELETE FROM events WHERE ticket_id = ?", (tid,))
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?)", ev)

        self._writes.put(job)

    def record_score(self, rows: list[tuple]) -> None:
        """(ticket_id, as_of, probability, action, model_version, policy_version[, answer]) per
        score; ``answer``, when given, is the answer's decision fields (a JSON-able dict,
        already redacted as answers are; datetimes become ISO 8601 text)."""
        now = time.time_ns() // 1000
        data = [(*r[:1], _us([r[1]])[0], *r[2:6], now, r[6] if len(r) > 6 else None) for r in rows]

        def job(db: sqlite3.Connection) -> None:
            # Encoded here, in the writer thread: the request does not wait for it.
            db.executemany(
                "INSERT INTO scores (ticket_id, as_of, probability, action, model_version, "
                "policy_version, scored_at, answer) VALUES (?,?,?,?,?,?,?,?)",
                [(*d[:7], _answer_json(d[7])) for d in data],
            )

        self._writes.put(job)

    def record_feedback(self, fb: dict) -> None:
        """A real outcome; an escalation also enters the account's escalation history."""
        now = time.time_ns() // 1000
        esc_at = _us([fb.get("escalated_at")])[0]
        closed_at = _us([fb.get("closed_at")])[0]

        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO feedback (ticket_id, escalated, escalated_at, escalation_type, "
                "escalation_kind, closed_at, note, received_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    fb["ticket_id"],
                    int(fb["escalated"]),
                    esc_at,
                    fb.get("escalation_type"),
                    fb.get("escalation_kind"),
                    closed_at,
                    fb.get("note"),
                    now,
                ),
            )
            if fb["escalated"]:
                db.execute(
                    "INSERT OR REPLACE INTO escalations SELECT ?, account_id, ?, ? FROM tickets "
                    "WHERE ticket_id = ? UNION ALL SELECT ?, NULL, ?, ? WHERE NOT EXISTS "
                    "(SELECT 1 FROM tickets WHERE ticket_id = ?)",
                    (fb["ticket_id"], esc_at, fb.get("escalation_type"), fb["ticket_id"]) * 2,
                )
            else:
                db.execute("DELETE FROM escalations WHERE ticket_id = ?", (fb["ticket_id"],))

        self._writes.put(job)

    # -- reading -------------------------------------------------------------------------------
    def count(self, table: str) -> int:
        """Rows in one of the store's :data:`TABLES`."""
        with self._connection() as db:
            return int(db.execute(f"SELECT count(*) FROM {_checked(table)}").fetchone()[0])

    def table(self, name: str) -> pd.DataFrame:
        """One of the store's :data:`TABLES`, whole, as a frame (timestamps as UTC datetimes)."""
        with self._connection() as db:
            cur = db.execute(f"SELECT * FROM {_checked(name)}")
            cols = tuple(d[0] for d in cur.description)
            return _frame(cur.fetchall(), cols)

    def context(self) -> FeatureContext:
        """A feature context over everything stored (the other tickets a request's features
        read)."""
        with self._connection() as db:
            acc = _frame(db.execute("SELECT * FROM accounts").fetchall(), _ACCOUNT_COLS)
            tk = _frame(db.execute("SELECT * FROM tickets").fetchall(), _TICKET_COLS)
            ev = _frame(
                db.execute("SELECT * FROM events ORDER BY ticket_id, ts").fetchall(), _EVENT_COLS
            )
            esc = _frame(
                db.execute(
                    "SELECT e.account_id, e.escalated_at FROM escalations e "
                    "WHERE e.account_id IS NOT NULL"
                ).fetchall(),
                ("account_id", "escalated_at"),
            )
        return FeatureContext.from_data(acc, tk, ev, esc)

    def account(self, account_id: str) -> dict | None:
        """What the store knows of an account (None if nothing)."""
        with self._accounts_lock:
            found = self._accounts.get(account_id)
        return dict(found) if found is not None else None

    def stored_account(self, account_id: str) -> dict | None:
        """An account as the database holds it now (another worker may have written it); the
        in-memory copy :meth:`account` reads is refreshed with it."""
        with self._reader() as db:
            row = db.execute(
                "SELECT * FROM accounts WHERE account_id = ?", (account_id,)
            ).fetchone()
        if row is None:
            return None
        record = dict(zip(_ACCOUNT_COLS, row, strict=True))
        for col in ("created_at", "renewal_date"):
            v = record[col]
            record[col] = pd.NaT if v is None else pd.Timestamp(v, unit="us", tz="UTC")
        record["arr"] = float("nan") if record["arr"] is None else float(record["arr"])
        record["strategic"] = bool(record["strategic"] or 0)
        with self._accounts_lock:
            self._accounts[account_id] = record
        return dict(record)

    def meta(self, key: str) -> str | None:
        with self._connection() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # -- backfill ------------------------------------------------------------------------------
    def backfill(self, data_dir: str | Path, text_scorer=None) -> dict[str, int]:
        """Load a data folder (the training data) into an empty store. Idempotent per folder.

        Customer-message sentiment comes from ``text_scorer`` through the same text-signal cache
        as the training run (so a folder just trained on costs no transformer time).
        """
        source = str(Path(data_dir).resolve())
        if self.meta("backfill") == source:
            return {}
        data = read_dataset(data_dir)
        cache = SignalCache(default_cache_path(text_scorer)) if text_scorer else None
        ev = attach_text_signals(data.events, text_scorer, cache)
        esc = pd.DataFrame(columns=["ticket_id", "account_id", "escalated_at", "escalation_type"])
        if data.outcomes is not None:
            o = data.outcomes.dropna(subset=["escalated_at"])
            esc = pd.DataFrame(
                {
                    "ticket_id": o["ticket_id"].to_numpy(),
                    "account_id": o["ticket_id"]
                    .map(data.tickets.set_index("ticket_id")["account_id"])
                    .to_numpy(),
                    "escalated_at": o["escalated_at"].to_numpy(),
                    "escalation_type": o["escalation_type"].to_numpy(),
                }
            )
        with self._connection() as db:
            db.executemany(
                "INSERT OR REPLACE INTO accounts VALUES (?,?,?,?,?,?,?,?)",
                _rows(data.accounts, _ACCOUNT_COLS),
            )
            db.executemany(
                "INSERT OR REPLACE INTO tickets VALUES (?,?,?,?,?,?)",
                _rows(data.tickets, _TICKET_COLS),
            )
            db.execute("DELETE FROM events")
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?)", _rows(ev, _EVENT_COLS))
            db.executemany(
                "INSERT OR REPLACE INTO escalations VALUES (?,?,?,?)",
                _rows(esc, ("ticket_id", "account_id", "escalated_at", "escalation_type")),
            )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('backfill', ?)", (source,))
        self.version += 1
        self._load_accounts()
        counts = {
            "accounts": len(data.accounts),
            "tickets": len(data.tickets),
            "events": len(ev),
            "escalations": len(esc),
        }
        log.info("store backfilled from %s: %s", source, counts)
        return counts
