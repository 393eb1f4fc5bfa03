"""The service's SQLite store: what it keeps, that it closes every connection, and that only
its own tables go into SQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pandas as pd
import pytest

from features.schema import validate_tables, write_dataset
from serving.services.store import TABLES, Store


@pytest.fixture
def connections(monkeypatch) -> list[sqlite3.Connection]:
    """Every SQLite connection opened while the test runs."""
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def tracked(*args, **kwargs) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        opened.append(db)
        return db

    monkeypatch.setattr(sqlite3, "connect", tracked)
    return opened


def _is_closed(db: sqlite3.Connection) -> bool:
    try:
        db.total_changes  # noqa: B018 - any use of a closed connection raises
    except sqlite3.ProgrammingError:
        return True
    return False


@pytest.fixture
def data_dir(tmp_path, tiny_tables):
    folder = tmp_path / "data"
    write_dataset(validate_tables(**tiny_tables), folder)
    return folder


def test_every_connection_is_closed(tmp_path, data_dir, connections, wait_until):
    store = Store(tmp_path / "serving.db")
    assert store.backfill(data_dir) == {"accounts": 2, "tickets": 2, "events": 4, "escalations": 1}
    store.record_feedback({"ticket_id": "t2", "escalated": False})
    store.record_score(
        [("t1", pd.Timestamp("2026-01-05 10:00", tz="UTC"), 0.4, "watch", "1", "p")]
    )
    store.flush(timeout=30)
    assert store.count("feedback") == 1 and store.count("scores") == 1
    assert len(store.table("accounts")) == 2
    assert store.meta("backfill") == str(data_dir.resolve())
    store.context()
    open_now = [db for db in connections if not _is_closed(db)]
    assert len(open_now) == 1  # the writer thread's own connection, until close()
    store.close()
    assert connections and all(_is_closed(db) for db in connections)


def test_flush_waits_for_the_writes_and_close_is_final(tmp_path):
    store = Store(tmp_path / "serving.db")
    for k in range(50):
        store.record_feedback({"ticket_id": f"t{k}", "escalated": False})
    store.flush(timeout=30)
    assert store.count("feedback") == 50
    store.close()
    store.close()  # twice: nothing left to stop
    store.flush(timeout=1)  # nothing pending: returns at once


def test_a_failed_write_does_not_stop_the_writer(tmp_path, caplog):
    store = Store(tmp_path / "serving.db")
    store.record_feedback({"escalated": False})  # no ticket_id: this write fails
    store.flush(timeout=30)
    assert "store write failed" in caplog.text
    store.record_feedback({"ticket_id": "t1", "escalated": False})
    store.flush(timeout=30)
    assert store.count("feedback") == 1
    store.close()


@pytest.mark.parametrize("read", [Store.count, Store.table])
@pytest.mark.parametrize("name", ["sqlite_master", "accounts; DROP TABLE accounts", "Accounts"])
def test_only_the_stores_tables_go_into_sql(
    tmp_path, read: Callable[[Store, str], object], name: str
):
    store = Store(tmp_path / "serving.db")
    with pytest.raises(ValueError, match="unknown table"):
        read(store, name)
    assert store.count("accounts") == 0  # still there
    store.close()


def test_every_table_can_be_read(tmp_path):
    store = Store(tmp_path / "serving.db")
    for name in TABLES:
        assert store.count(name) == 0
        assert store.table(name).empty
    store.close()


def test_tickets_scored_enter_the_store_and_keep_known_account_fields(tmp_path, data_dir):
    store = Store(tmp_path / "serving.db")
    store.backfill(data_dir)
    account = pd.DataFrame({"account_id": ["a1"], "arr": [float("nan")], "plan": [None]})
    for col in ("strategic", "region", "industry", "created_at", "renewal_date"):
        account[col] = None
    ticket = pd.DataFrame(
        {
            "ticket_id": ["t9"],
            "account_id": ["a1"],
            "created_at": [pd.Timestamp("2026-01-07 09:00", tz="UTC")],
            "channel": ["chat"],
            "product_area": ["api"],
            "priority": ["P2"],
        }
    )
    events = pd.DataFrame(
        {
            "ticket_id": ["t9"],
            "ts": [pd.Timestamp("2026-01-07 09:00", tz="UTC")],
            "event_type": ["customer_message"],
            "agent_id": [None],
            "team": [None],
            "status": [None],
            "sentiment": [-0.5],
        }
    )
    store.record_ticket(account, ticket, events)
    assert store.account("a1")["arr"] == 520_000.0  # the request left it out
    store.flush(timeout=30)
    assert store.count("tickets") == 3 and store.count("events") == 5
    assert store.table("accounts").set_index("account_id").loc["a1", "arr"] == 520_000.0
    assert store.backfill(data_dir) == {}  # the same folder again: nothing to do
    store.close()
