"""Builders for the report tests: a small hand-made event log and a fake sentence embedder."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from features.schema import SupportData, validate_tables

T0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")  # a Monday


def minutes(m: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=m)


class BagOfWordsEmbedder:
    """Hashed bag of words, L2-normalised: identical sentences 1.0, disjoint words 0.0."""

    dim = 512

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def event(ticket, m, etype, actor, **kw):
    row = {"ticket_id": ticket, "ts": minutes(m), "event_type": etype, "actor": actor}
    row.update(kw)
    return row


def build(events: list[dict], tickets: list[dict], outcomes: list[dict]) -> SupportData:
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "arr": [120_000.0, 8_000.0],
            "plan": ["enterprise", "starter"],
            "strategic": [False, False],
            "region": [None, None],
            "industry": [None, None],
            "created_at": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us, UTC]"),
            "renewal_date": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us, UTC]"),
        }
    )
    t = pd.DataFrame(tickets)
    for col in ("channel", "product_area", "subject"):
        t[col] = t.get(col, "email" if col == "channel" else "api")
    t["closed_at"] = pd.Series(pd.NaT, index=t.index, dtype="datetime64[us, UTC]")
    e = pd.DataFrame(events)
    for col in ("agent_id", "team", "status", "priority", "text"):
        if col not in e:
            e[col] = None
        e[col] = e[col].astype(object).where(e[col].notna(), None)
    for col in ("tier", "csat"):
        e[col] = pd.array(e[col] if col in e else [None] * len(e), dtype="Int64")
    o = pd.DataFrame(outcomes)
    o["escalated_at"] = pd.to_datetime(o["escalated_at"], utc=True)
    for col in ("escalation_type", "escalation_kind"):
        o[col] = o[col].astype(object).where(o[col].notna(), None)
    return validate_tables(accounts, t, e, o)


@pytest.fixture
def handoff_log() -> SupportData:
    """t1 (P1): intake at frontline, handoff to engineering (15 min to its first reply), back
    to frontline (a bounceback, never worked), escalated at 60 min, reopened at 300 min; the
    customer repeats a sentence after the first handoff. t2 (P3, other account): answered in
    time, no handoff, not escalated. t3 (a1, same area as t1): a new ticket 2 days after t1 was
    solved."""
    repeat = "The export to CSV fails with error 500 since Monday."
    ev = [
        event("t1", 0, "customer_message", "customer", text=f"Hello,\n{repeat}\nThanks, Ana"),
        event("t1", 1, "assignment", "system", team="frontline", tier=1, agent_id="ag1"),
        event("t1", 5, "agent_message", "agent", agent_id="ag1", text="Looking into it now."),
        event("t1", 10, "assignment", "agent", team="engineering", tier=3, agent_id="ag9"),
        event("t1", 12, "status_change", "agent", agent_id="ag9", status="pending_internal"),
        event("t1", 20, "customer_message", "customer", text=f"Again: {repeat}"),
        event("t1", 25, "agent_message", "agent", agent_id="ag9", text="We found the cause."),
        event("t1", 40, "assignment", "agent", team="frontline", tier=1, agent_id="ag1"),
        event("t1", 50, "assignment", "agent", team="billing_ops", tier=2, agent_id="ag5"),
        event("t1", 55, "agent_message", "agent", agent_id="ag5", text="Billing here, on it."),
        event("t1", 120, "status_change", "agent", agent_id="ag5", status="solved"),
        event("t1", 300, "reopened", "customer"),
        event("t2", 0, "customer_message", "customer", text="How do I add a user to my team?"),
        event("t2", 1, "assignment", "system", team="frontline", tier=1, agent_id="ag2"),
        event("t2", 30, "agent_message", "agent", agent_id="ag2", text="Settings, then Users."),
        event("t3", 2 * 24 * 60 + 120, "customer_message", "customer", text="The export again."),
    ]
    tickets = [
        {"ticket_id": "t1", "account_id": "a1", "created_at": minutes(0), "priority": "P1"},
        {"ticket_id": "t2", "account_id": "a2", "created_at": minutes(0), "priority": "P3"},
        {
            "ticket_id": "t3",
            "account_id": "a1",
            "created_at": minutes(2 * 24 * 60 + 120),
            "priority": "P2",
        },
    ]
    outcomes = [
        {
            "ticket_id": "t1",
            "escalated_at": minutes(60),
            "escalation_type": "technical_failure",
            "escalation_kind": "functional",
        },
        {
            "ticket_id": "t2",
            "escalated_at": None,
            "escalation_type": None,
            "escalation_kind": None,
        },
        {
            "ticket_id": "t3",
            "escalated_at": None,
            "escalation_type": None,
            "escalation_kind": None,
        },
    ]
    return build(ev, tickets, outcomes)


@pytest.fixture
def embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()
