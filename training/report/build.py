"""The operations report: metrics overall, per month and in the monthly review views.

:func:`build_report` returns one JSON-able dict; :mod:`training.report.render` turns it into the
HTML page. Views of the review month: by escalation type, customer segment, agent and team (the
team view counts handoffs by the team receiving them, tickets by their first team).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.schema import SupportData, read_dataset
from models.grouping import GroupingConfig, group_tickets, select_tickets
from training.report.context import Embedder, Threshold, choose_threshold, context_loss
from training.report.metrics import (
    UNKNOWN,
    default_month,
    group_metrics,
    handoff_table,
    response_source,
    targets,
    ticket_table,
)

log = logging.getLogger(__name__)
MIN_GROUP = 5  # groups smaller than this are folded into "other" in the review views
MAX_GROUPS = 15


def supported_metrics(data: SupportData, tickets: pd.DataFrame) -> dict[str, str | None]:
    """Per metric: None when the log supports it, else the reason it does not (or only partly)."""
    e = data.events
    types = set(e["event_type"].astype(str).unique())
    has_out = data.outcomes is not None
    one_per_account = tickets["account_id"].nunique() == len(tickets)
    has_text = bool(e.loc[e["event_type"] == "customer_message", "text"].notna().any())
    handoffs = int((tickets["handoffs"] > 0).sum())
    out: dict[str, str | None] = {
        "escalation_rate": None if has_out else "no outcomes table",
        "handoff_delay_critical_min": None if handoffs else "no handoff between teams",
        "bounceback_rate": None if handoffs else "no handoff between teams",
        "context_loss_rate": None if has_text else "no customer message text in the log",
        "recontact_rate": None,
        "sla_breach_gap_points": None,
    }
    if not has_out:
        out["recontact_rate"] = "no outcomes table"
    elif one_per_account and "reopened" not in types:
        out["recontact_rate"] = "one ticket per account and no reopens: nothing to observe"
    elif one_per_account:
        out["recontact_rate"] = "partly: reopens only (the log has no customer identity)"
    if response_source(data) != "agent_message":
        out["sla_breach_gap_points"] = (
            "partly: no agent messages; first response = the first work event (a proxy)"
        )
    if not (tickets["priority"] == "P1").any():
        out["handoff_delay_critical_min"] = "no P1 ticket"
    return out


def _fold(keys: pd.Series, min_size: int, max_groups: int = MAX_GROUPS) -> pd.Series:
    counts = keys.value_counts()
    keep = set(counts[counts >= min_size].index[:max_groups])
    return keys.where(keys.isin(keep), "other")


def _view(
    tickets: pd.DataFrame, handoffs: pd.DataFrame, key: pd.Series, hkey: pd.Series
) -> list[dict[str, Any]]:
    rows = []
    for value in sorted(set(key.dropna()) | set(hkey.dropna()), key=str):
        t = tickets[(key == value).to_numpy()]
        h = handoffs[(hkey == value).to_numpy()]
        rows.append(
            {
                "group": str(value),
                "tickets": len(t),
                "handoffs": len(h),
                "metrics": group_metrics(t, h),
            }
        )
    rows.sort(key=lambda r: -r["tickets"])
    return rows


def _examples(handoffs: pd.DataFrame, threshold: float, k: int = 4) -> dict[str, list[dict]]:
    """A few matched sentence pairs just above and just below the threshold (to judge it)."""
    rows = handoffs.dropna(subset=["context_similarity"])
    cols = ["ticket_id", "context_similarity", "context_before", "context_after"]
    above = rows[rows["context_similarity"] >= threshold].nsmallest(k, "context_similarity")
    below = rows[rows["context_similarity"] < threshold].nlargest(k, "context_similarity")
    top = rows.nlargest(k, "context_similarity")
    return {
        "highest": top[cols].to_dict("records"),
        "just_above": above[cols].to_dict("records"),
        "just_below": below[cols].to_dict("records"),
    }


def review_views(
    tickets: pd.DataFrame, handoffs: pd.DataFrame, min_group: int = MIN_GROUP
) -> dict[str, list[dict]]:
    """The monthly review: metrics by escalation type, segment, agent and team."""

    def per_handoff(key: pd.Series) -> pd.Series:
        return handoffs["ticket_id"].map(pd.Series(key.to_numpy(), index=tickets["ticket_id"]))

    views = {
        "segment": _view(tickets, handoffs, tickets["segment"], per_handoff(tickets["segment"]))
    }
    agent = _fold(tickets["agent"], min_group)
    views["agent"] = _view(tickets, handoffs, agent, per_handoff(agent))
    # A team is kept when it holds or receives enough tickets (specialist teams start none).
    to_team = handoffs["to_team"].astype(object)
    both = tickets["team"].value_counts().add(to_team.value_counts(), fill_value=0)
    kept = set(both[both >= min_group].sort_values(ascending=False).index[:MAX_GROUPS])
    team = tickets["team"].where(tickets["team"].isin(kept), "other")
    views["team"] = _view(tickets, handoffs, team, to_team.where(to_team.isin(kept), "other"))
    # By type: the escalated tickets of each type; the rate is over all tickets of the month.
    rows = []
    n_all = len(tickets)
    types = tickets["escalation_type"].astype(object).fillna("(not escalated)")
    htype = handoffs["ticket_id"].map(pd.Series(types.to_numpy(), index=tickets["ticket_id"]))
    for value in sorted(types.unique()):
        t = tickets[(types == value).to_numpy()]
        h = handoffs[(htype == value).to_numpy()]
        m = group_metrics(t, h)
        if value != "(not escalated)" and n_all:
            m["escalation_rate"]["value"] = round(len(t) / n_all, 4)
            m["escalation_rate"]["n"] = n_all
            m["escalation_rate"]["ok"] = None  # the target is for all types together
        else:
            m["escalation_rate"] = {**m["escalation_rate"], "value": None, "ok": None}
        rows.append({"group": value, "tickets": len(t), "handoffs": len(h), "metrics": m})
    rows.sort(key=lambda r: -r["tickets"])
    views["escalation_type"] = rows
    return views


def escalation_groups(
    data: SupportData, month: str, embedder: Embedder, top: int = 10
) -> dict[str, Any]:
    """Similar escalations of the review month (``models.grouping``: text, product area, type,
    time window), the largest ARR at stake first; ``top`` groups listed."""
    start = pd.Timestamp(f"{month}-01", tz="UTC")
    end = start + pd.offsets.MonthBegin(1)
    frame = select_tickets(
        data.tickets,
        data.events,
        data.accounts,
        end - pd.Timedelta(microseconds=1),
        (end - start).total_seconds() / 3600,
        escalations=data.outcomes,
    )
    found = group_tickets(frame, embedder, GroupingConfig())
    keep = (
        "label",
        "central_message",
        "product_area",
        "escalation_types",
        "size",
        "accounts",
        "arr_at_stake",
        "first_seen",
        "last_seen",
    )
    return {
        "escalations": int(len(frame)),
        "grouped": int(sum(g["size"] for g in found.groups)),
        "without_text": found.without_text,
        "groups": [
            {
                k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
                for k, v in g.items()
                if k in keep
            }
            for g in found.groups[:top]
        ],
    }


def build_report(
    data_dir: str | Path,
    month: str | None = None,
    embedder: Embedder | None = None,
    threshold: Threshold | None = None,
    drift: dict[str, Any] | None = None,
    make_embedder: Callable[[], Embedder] | None = None,
    min_group: int = MIN_GROUP,
) -> dict[str, Any]:
    """The report as a dict (see the module docstring).

    Args:
        data_dir: a support-data folder (read through the validating reader).
        month: ``YYYY-MM`` of the review; default: :func:`default_month`.
        embedder: sentence embeddings for context loss; None leaves context loss unmeasured.
        threshold: the context-loss threshold; default: chosen on the labelled pairs.
        drift: a drift section (``training.report.drift``) to include as it is.
        make_embedder: builds the embedder when none is given and the log has customer text.
        min_group: agents and teams with fewer tickets (and handoffs) go to "other".

    Raises:
        ValueError: bad data (names file, row, column) or a month without tickets.
    """
    data = read_dataset(data_dir)
    tickets = ticket_table(data)
    handoffs = handoff_table(data)
    support = supported_metrics(data, tickets)
    context: dict[str, Any] = {"measured": False}
    if embedder is None and make_embedder is not None and support["context_loss_rate"] is None:
        embedder = make_embedder()  # loaded only for a log with customer text
    if embedder is not None and support["context_loss_rate"] is None:
        threshold = threshold or choose_threshold(embedder)
        lost = context_loss(data, handoffs, embedder, threshold.value)
        handoffs = pd.concat([handoffs, lost], axis=1)
        sims = lost["context_similarity"].dropna()
        context = {
            "examples": _examples(handoffs, threshold.value),
            "measured": True,
            "threshold": threshold.__dict__,
            "handoffs_compared": int(len(sims)),
            "similarity_histogram": np.histogram(sims, bins=20, range=(-0.1, 1.0))[0].tolist(),
        }
    months = sorted(tickets["month"].unique())
    if month is None:
        month = default_month(tickets["month"])
    elif month not in months:
        raise ValueError(
            f"no ticket was created in {month}; months in the data: {months[0]} .. {months[-1]}"
        )
    hmonth = handoffs["ticket_id"].map(tickets.set_index("ticket_id")["month"])
    monthly = {
        m: {
            "tickets": int((tickets["month"] == m).sum()),
            "metrics": group_metrics(tickets[tickets["month"] == m], handoffs[hmonth == m]),
        }
        for m in months
    }
    groups = (
        escalation_groups(data, month, embedder)
        if embedder is not None and support["context_loss_rate"] is None
        else None
    )
    in_month = tickets[tickets["month"] == month].reset_index(drop=True)
    h_month = handoffs[(hmonth == month).to_numpy()].reset_index(drop=True)
    delays = handoffs[["critical", "delay_min"]].dropna()
    return {
        "data": str(data_dir),
        "summary": {**data.summary(), "months": months, "handoffs": int(len(handoffs))},
        "review_month": month,
        "groups": groups,
        "targets": targets(),
        "supported": support,
        "response_source": response_source(data),
        "context_loss": context,
        "overall": group_metrics(tickets, handoffs),
        "monthly": monthly,
        "review": {
            "tickets": len(in_month),
            "metrics": group_metrics(in_month, h_month),
            "views": review_views(in_month, h_month, min_group),
        },
        "handoff_delays_min": {
            "critical": delays.loc[delays["critical"], "delay_min"].round(2).tolist(),
            "other": delays.loc[~delays["critical"], "delay_min"].round(2).tolist(),
        },
        "drift": drift,
        "unknown_label": UNKNOWN,
    }
