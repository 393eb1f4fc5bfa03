"""Base rates of a support data set: the figures ``escalation-risk generate`` prints."""

from __future__ import annotations

from typing import Any

import numpy as np

from features.calendar import BUSINESS_HOURS, Calendar, sla_deadlines, to_epoch_hours
from features.schema import SupportData


def describe(data: SupportData) -> dict[str, Any]:
    """Base rates of a data set: escalation (with its types and kinds), reopen, SLA breach,
    handoffs, sizes."""
    ev = data.events
    tk = data.tickets
    n = len(tk)
    per_ticket = ev.groupby("ticket_id", sort=False)
    reopened = per_ticket["event_type"].agg(lambda s: (s == "reopened").any())
    first_agent = ev[ev["event_type"] == "agent_message"].groupby("ticket_id")["ts"].min()
    first_resp_h = (
        first_agent.reindex(tk["ticket_id"]).to_numpy() - tk["created_at"].to_numpy()
    ) / np.timedelta64(1, "h")
    business = Calendar(
        BUSINESS_HOURS,
        float(tk["created_at"].min().value / 3.6e12) - 48,
        float(tk["closed_at"].max().value / 3.6e12) + 24 * 30,
    )
    created_h = to_epoch_hours(tk["created_at"])
    deadline = sla_deadlines(created_h, tk["priority"].to_numpy(), business)
    answered_h = created_h + first_resp_h
    breached = ~(answered_h <= deadline)
    assignments = ev[ev["event_type"] == "assignment"].groupby("ticket_id").size()
    out: dict[str, Any] = {
        "accounts": len(data.accounts),
        "tickets": n,
        "events": len(ev),
        "events_per_ticket": round(len(ev) / n, 1),
        "reopen_rate": round(float(reopened.mean()), 4),
        "sla_breach_rate": round(float(breached.mean()), 4),
        "median_first_response_h": round(float(np.nanmedian(first_resp_h)), 2),
        "handoff_rate": round(
            float((assignments.reindex(tk["ticket_id"]).fillna(0) > 1).mean()), 4
        ),
        "strategic_accounts": int(data.accounts["strategic"].sum()),
        "arr_p50": float(data.accounts["arr"].median()),
        "arr_p99": float(data.accounts["arr"].quantile(0.99)),
    }
    if data.outcomes is not None:
        esc = data.outcomes["escalated_at"].notna()
        out["escalation_rate"] = round(float(esc.mean()), 4)
        lead = (
            data.outcomes.set_index("ticket_id")["escalated_at"]
            .reindex(tk["ticket_id"])
            .to_numpy()
            - tk["created_at"].to_numpy()
        ) / np.timedelta64(1, "h")
        out["median_hours_to_escalation"] = round(float(np.nanmedian(lead)), 1)
        out["escalation_types"] = (
            data.outcomes.loc[esc, "escalation_type"].value_counts().astype(int).to_dict()
        )
        out["escalation_kinds"] = (
            data.outcomes.loc[esc, "escalation_kind"].value_counts().astype(int).to_dict()
        )
    return out
