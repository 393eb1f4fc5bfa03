"""The escalation brief: the customer's environment, a timeline of the key events, the artifacts
mentioned (links, error and invoice codes, files, versions) and the risk indicators."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

# The tone words belong to the feature wording, which moves to features/ (then public).
from features.catalogue.wording import is_missing, is_number, tone
from features.registry import describe
from features.text import RISK_INTENTS

_Row = dict[str, object]

_ARTIFACT_PATTERNS = (
    re.compile(r"https?://[^\s<>\"')]+"),
    re.compile(r"\b(?:INV|INC|CASE|ORD|PO|REQ|CHG|TKT)[-_#]?\d{3,}\b", re.I),
    re.compile(r"\b(?:ERR|E|ERROR)[-_]?\d{3,5}\b"),
    re.compile(r"\bHTTP\s?[45]\d\d\b", re.I),
    re.compile(r"\b[\w.-]+\.(?:log|har|pdf|png|jpe?g|csv|zip|txt|json|xml|dmp)\b", re.I),
    re.compile(r"\bv?\d+\.\d+\.\d+(?:[-+][\w.]+)?\b"),
    re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.I),
    re.compile(r"#\d{3,}\b"),
)


def artifacts(texts: list[str], limit: int = 20) -> list[str]:
    """Things an engineer will ask for: links, error and invoice codes, files, versions, CVEs."""
    found: dict[str, None] = {}
    for text in texts:
        for pattern in _ARTIFACT_PATTERNS:
            for m in pattern.finditer(text):
                found.setdefault(m.group(0).rstrip(".,;:"), None)
                if len(found) >= limit:
                    return list(found)
    return list(found)


_TIMELINE_COLUMNS = (
    "ts",
    "event_type",
    "agent_id",
    "team",
    "tier",
    "status",
    "priority",
    "csat",
    "sentiment",
    *(f"intent_{i}" for i in RISK_INTENTS),
)


def _event_line(ev: dict) -> str | None:
    t = ev["event_type"]
    if t == "assignment":
        who = f" ({ev['agent_id']})" if isinstance(ev.get("agent_id"), str) else ""
        return f"assigned to {ev['team']} at tier {int(ev['tier'])}{who}"
    if t == "status_change":
        return f"status -> {ev['status']}"
    if t == "reopened":
        return "reopened by the customer"
    if t == "priority_change":
        return f"priority -> {ev['priority']}"
    if t == "csat":
        return f"CSAT {int(ev['csat'])}/5"
    if t == "customer_message":
        flags = [i for i in RISK_INTENTS if ev.get(f"intent_{i}", 0) == 1]
        s = ev.get("sentiment")
        if flags or (is_number(s) and s < -0.5):
            reads = f"reads {tone(float(s))}" if is_number(s) else ""
            what = ", ".join(flags)
            return (
                "customer message"
                + (f": {what}" if what else "")
                + (f" ({reads})" if reads else "")
            )
        return None
    return None


def brief(
    row: _Row,
    account: dict,
    ticket: dict,
    events: pd.DataFrame,
    first_reply: datetime | None,
    sla_due: datetime,
    limit: int = 15,
) -> dict:
    """Customer environment, timeline of key events, artifacts mentioned, risk indicators."""
    customer = {
        "account_id": account.get("account_id"),
        "plan": account.get("plan"),
        "arr": _clean(account.get("arr")),
        "arr_tier": _clean(row.get("account_arr_tier")),
        "strategic": bool(account.get("strategic") or False),
        "region": account.get("region"),
        "industry": account.get("industry"),
        "days_to_renewal": _round(row.get("account_days_to_renewal")),
        "open_tickets": _clean(row.get("account_open_tickets")),
        "escalations_365d": _clean(row.get("account_escalations_365d")),
        "channel": ticket.get("channel"),
        "product_area": ticket.get("product_area"),
        "subject": ticket.get("subject"),
    }
    items: list[tuple[pd.Timestamp, str]] = [(ticket["created_at"], "ticket created")]
    cols = [c for c in _TIMELINE_COLUMNS if c in events.columns]
    arrays = [events[c].to_numpy(dtype=object) for c in cols]
    for values in zip(*arrays, strict=True):
        ev = dict(zip(cols, values, strict=True))
        line = _event_line(ev)
        if line:
            items.append((ev["ts"], line))
    if first_reply is not None:
        items.append((pd.Timestamp(first_reply), "first agent reply"))
    if row.get("sla_breached") == 1:
        items.append((pd.Timestamp(sla_due), "first-response SLA breached"))
    items.sort(key=lambda x: x[0])
    if len(items) > limit:  # keep the start and the most recent
        items = items[:1] + items[-(limit - 1) :]
    texts = [ticket.get("subject") or ""] + [
        t for t in events["text"].tolist() if isinstance(t, str)
    ]
    return {
        "customer": customer,
        "timeline": [{"ts": pd.Timestamp(t).to_pydatetime(), "what": w} for t, w in items],
        "artifacts": artifacts(texts),
        "risk_indicators": risk_indicators(row),
    }


def risk_indicators(row: _Row) -> list[str]:
    """The alarming facts of a feature row, in words: SLA breached, risk intents raised, counts
    and waits at or over their thresholds, a strategic, large or soon-renewing account."""
    out = []
    if row.get("sla_breached") == 1:
        out.append("first-response SLA breached")
    for name in (f"customer_intent_{i}" for i in RISK_INTENTS):
        if row.get(name) == 1:
            out.append(describe(name, 1.0, row))
    for name, at_least in (
        ("ticket_reopen_count", 1),
        ("ticket_handoff_count", 2),
        ("ticket_bounceback_count", 1),
        ("ticket_unanswered_count", 2),
        ("customer_intent_followup_count", 2),
        ("account_escalations_365d", 1),
    ):
        v = row.get(name)
        if is_number(v) and v >= at_least:
            out.append(describe(name, v, row))
    if is_number(row.get("ticket_waiting_h")) and row["ticket_waiting_h"] >= 4:
        out.append(describe("ticket_waiting_h", row["ticket_waiting_h"], row))
    if is_number(row.get("customer_sentiment_drop")) and row["customer_sentiment_drop"] >= 0.5:
        out.append(describe("customer_sentiment_drop", row["customer_sentiment_drop"], row))
    if row.get("account_strategic") == 1:
        out.append("strategic account")
    if is_number(row.get("account_arr")) and row["account_arr"] >= 200_000:
        out.append(describe("account_arr", row["account_arr"], row))
    d = row.get("account_days_to_renewal")
    if is_number(d) and 0 <= d <= 90:
        out.append(describe("account_days_to_renewal", d, row))
    return out


def _clean(v: object):
    if is_missing(v):
        return None
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return int(v)
    return float(v) if isinstance(v, np.floating) else v


def _round(v: object):
    return None if not is_number(v) else round(float(v), 1)


def first_reply_time(created: pd.Timestamp, row: _Row) -> datetime | None:
    """When the first agent reply came (``created`` + ``ticket_first_response_h``); None if
    none yet."""
    h = row.get("ticket_first_response_h")
    return (created + timedelta(hours=float(h))).to_pydatetime() if is_number(h) else None
