"""The store's ticket event log (idempotent, time-ordered, atomic across store handles), and
retention: purge by last activity and forget one account, counted per table."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pandas as pd
import pytest

from serving.services.store import Store
from serving.services.store.log import EventRefused, LoggedEvent

T0 = int(datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp() * 1_000_000)
MIN = 60_000_000


def _ticket(tid: str, account: str = "A1", created: int = T0) -> tuple:
    return (tid, account, created, "email", "billing", "P2")


def _account(aid: str = "A1") -> tuple:
    return (aid, 1000.0, "pro", 0, "EMEA", None, None, None)


def _ev(eid: str, minute: int, kind: str = "customer_message", text: str = "help") -> LoggedEvent:
    body = json.dumps({"event_id": eid, "event_type": kind, "text": text, "minute": minute})
    return LoggedEvent(eid, T0 + minute * MIN, kind, None, None, None, -0.5, body)


def _append(store: Store, tid: str, events, account: str = "A1", first: bool = True):
    head = _ticket(tid, account) if first else None
    return store.append_events(tid, head, _account(account) if first else None, "{}", events)


def test_appends_are_idempotent_on_the_event_id(tmp_path):
    store = Store(tmp_path / "s.db")
    a = _append(store, "T1", [_ev("e1", 0), _ev("e2", 5)])
    assert len(a.seqs) == 2 and a.duplicates == []
    again = _append(store, "T1", [_ev("e2", 5), _ev("e3", 9)], first=False)
    assert len(again.seqs) == 1 and again.duplicates == [0]
    assert store.count("ticket_events") == 3 and store.count("events") == 3
    head, rows = store.ticket_log("T1")
    assert head == ("A1", {}) and [r[2] for r in rows] == ["e1", "e2", "e3"]
    assert [r[0] for r in store.log_since(a.seqs[-1])] == again.seqs
    store.close()


def test_a_reused_event_id_with_other_content_and_a_late_event_are_refused(tmp_path):
    store = Store(tmp_path / "s.db")
    _append(store, "T1", [_ev("e1", 0), _ev("e2", 10)])
    with pytest.raises(EventRefused) as err:
        _append(store, "T1", [_ev("e3", 11), _ev("e2", 10, text="other")], first=False)
    assert (err.value.status, err.value.index) == (409, 1)
    with pytest.raises(EventRefused) as err:
        _append(store, "T1", [_ev("e4", 9)], first=False)
    assert (err.value.status, err.value.index) == (409, 0) and "earlier" in err.value.problem
    assert store.count("ticket_events") == 2  # a refused append writes nothing
    _append(store, "T1", [_ev("e5", 10)], first=False)  # the same instant is in order
    with pytest.raises(EventRefused) as err:
        _append(store, "T9", [_ev("x", 0)], first=False)
    assert (err.value.status, err.value.index) == (404, None)
    store.close()


def test_concurrent_appends_through_two_handles_keep_every_event_once(tmp_path):
    stores = [Store(tmp_path / "s.db"), Store(tmp_path / "s.db")]
    _append(stores[0], "T1", [_ev("e0", 0)])
    errors: list[Exception] = []

    def send(k: int) -> None:
        try:
            for i in range(30):  # both send every event id; each must land once
                stores[k].append_events("T1", None, None, None, [_ev(f"e{i + 1}", i + 1)])
        except Exception as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=send, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Whichever handle sends an id first stores it; the other finds it logged (a duplicate).
    assert errors == []
    rows = stores[0].table("ticket_events")
    assert rows["event_id"].is_unique and len(rows) == 31
    assert rows["ts"].is_monotonic_increasing
    for s in stores:
        s.close()


def _fill(store: Store) -> None:
    _append(store, "OLD", [_ev("o1", 0)], account="A1")
    _append(store, "NEW", [_ev("n1", 0), _ev("n2", 60 * 24 * 30)], account="A1")
    _append(store, "B", [_ev("b1", 0)], account="A2")
    store.record_score([("OLD", pd.Timestamp(T0, unit="us", tz="UTC"), 0.9, "escalate", "1", "p")])
    store.record_feedback(
        {"ticket_id": "OLD", "escalated": True, "escalated_at": "2026-03-02T10:00Z"}
    )
    store.raise_alert("OLD", "p", "A1", "escalate", 0.9, "1", T0, "{}", [("http://x", "generic")])
    store.raise_alert("B", "p", "A2", "escalate", 0.9, "1", T0, "{}", [("http://x", "generic")])
    store.flush()


def test_purge_deletes_the_tickets_quiet_since_the_cut_off(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store)
    counts = store.purge(datetime(2026, 3, 10, tzinfo=UTC))
    assert counts["tickets"] == 2  # OLD and B; NEW was active on 1 April
    assert counts["ticket_events"] == 2 and counts["events"] == 2
    assert counts["scores"] == 1 and counts["feedback"] == 1 and counts["escalations"] == 1
    assert counts["alerts"] == 2 and counts["alert_deliveries"] == 2
    assert set(store.table("tickets")["ticket_id"]) == {"NEW"}
    assert store.count("ticket_events") == 2 and store.count("accounts") == 2
    with pytest.raises(ValueError, match="time zone"):
        store.purge(datetime(2026, 3, 10))
    store.close()


def test_forget_account_removes_everything_of_it(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store)
    counts = store.forget_account("A1")
    assert counts["accounts"] == 1 and counts["tickets"] == 2
    assert counts["ticket_events"] == 3 and counts["ticket_bodies"] == 2
    assert counts["scores"] == 1 and counts["feedback"] == 1 and counts["alerts"] == 1
    assert store.account("A1") is None and store.stored_account("A1") is None
    for table in ("tickets", "ticket_events", "ticket_bodies", "alerts"):
        assert set(store.table(table)["ticket_id"]) == {"B"}, table
    assert store.forget_account("A1") == {k: 0 for k in counts}
    store.close()
