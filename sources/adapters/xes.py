"""XES event logs (IEEE 1849) -> the support-data model; mapping tuned on BPI Challenge 2013.

Parsed with the standard library (``xml.etree.ElementTree.iterparse``, gzip or plain): one trace
in memory at a time. Field mapping (BPI 2013 Volvo IT incidents; see data/README.md):

| XES attribute                          | model                                              |
|----------------------------------------|----------------------------------------------------|
| trace ``concept:name``                 | ``tickets.ticket_id``                              |
| first event ``time:timestamp``         | ``tickets.created_at`` (offsets converted to UTC)  |
| ``impact`` Major/High/Medium/Low       | ``tickets.priority`` P1/P1/P2/P3 (constant per case)|
| ``product``                            | ``tickets.product_area``                           |
| ``org:group`` (a change of it)         | ``assignment`` event: team; tier from the suffix   |
|                                        | " 2nd" / " 3rd", else 1st line                     |
| ``org:resource``                       | ``agent_id`` ("Siebel": the CRM, actor ``system``; |
|                                        | "-": missing; on Queued rows: none, nobody holds it)|
| ``concept:name``/``lifecycle:transition``| ``status_change`` (see ``STATUS``)               |
| a row after a Closed row               | ``reopened``                                       |
| last Closed event, if the case ends so | ``tickets.closed_at`` (end-of-case: never a feature)|

Not in the log, so missing (never invented): channel, subject, message text, customer, ARR, plan.
Each case gets its own account (``bpi:<case>``) with every account field missing.

Labels (``LABELS``), all read from the team sequence; escalation time = the first event of the
team that makes the case positive, so snapshots only see the case before it:

- ``hierarchical``: starts at 1st line and later reaches a 2nd/3rd-line team;
- ``third_line``: reaches a 3rd-line team;
- ``ping_pong``: returns to a team already visited (another team in between).

A case already at the level the label asks about at its first event (e.g. starting at 2nd line
for ``hierarchical``) has nothing left to predict: its escalation time is its first event, so it
yields no scoring snapshot, while its events still count in team backlogs. The report counts them.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sources.adapters.common import (
    UTC,
    AdapterError,
    AdapterResult,
    assemble,
    events_from_rows,
    label_summary,
    outcomes_frame,
    unknown_accounts,
)

LABELS = ("hierarchical", "ping_pong", "third_line")
DEFAULT_LABEL = "hierarchical"
_KIND = {"hierarchical": "hierarchical", "third_line": "hierarchical", "ping_pong": "functional"}

# (concept:name, lifecycle:transition) -> model status. "Unmatched" rows get none.
STATUS: dict[tuple[str, str], str] = {
    ("Queued", "Awaiting Assignment"): "pending_internal",
    ("Accepted", "In Progress"): "open",
    ("Accepted", "Assigned"): "open",
    ("Accepted", "Wait"): "pending_internal",
    ("Accepted", "Wait - Implementation"): "pending_internal",
    ("Accepted", "Wait - Vendor"): "pending_internal",
    ("Accepted", "Wait - User"): "pending_customer",
    ("Accepted", "Wait - Customer"): "pending_customer",
    ("Completed", "Resolved"): "solved",
    ("Completed", "In Call"): "solved",  # solved during the call, at the service desk
    ("Completed", "Closed"): "closed",
    ("Completed", "Cancelled"): "closed",
}
IMPACT_PRIORITY = {"Major": "P1", "High": "P1", "Medium": "P2", "Low": "P3"}
SYSTEM_RESOURCES = frozenset({"Siebel"})
MISSING_RESOURCES = frozenset({"-", "", "UNKNOWN"})

_KEYS = (
    "concept:name",
    "lifecycle:transition",
    "org:group",
    "org:resource",
    "impact",
    "product",
    "time:timestamp",
)


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_xes_events(path: str | Path, limit: int | None = None) -> pd.DataFrame:
    """The events of an XES log as strings: case_id, the attributes in ``_KEYS``, file order.

    Args:
        limit: read only the first ``limit`` traces (tests, quick looks).

    Raises:
        AdapterError: no such file, not XML, not an XES log, or no traces.
    """
    path = Path(path)
    if not path.is_file():
        raise AdapterError(f"{path}: no such file")
    rows: list[dict[str, Any]] = []
    n_traces = 0
    root_tag = None
    ns = ""
    try:
        with _open(path) as fh:
            for action, el in ET.iterparse(fh, events=("start", "end")):
                if action == "start":
                    if root_tag is None:
                        root_tag = el.tag
                        ns = el.tag[: el.tag.index("}") + 1] if el.tag.startswith("{") else ""
                        if el.tag != f"{ns}log":
                            raise AdapterError(
                                f"{path}: not an XES log (root element <{el.tag}>, expected <log>)"
                            )
                    continue
                if el.tag != f"{ns}trace":
                    continue
                case_id = None
                events = []
                for child in el:
                    if child.tag == f"{ns}event":
                        d = {a.get("key"): a.get("value") for a in child}
                        events.append({k: d.get(k) for k in _KEYS})
                    elif child.get("key") == "concept:name":
                        case_id = child.get("value")
                if case_id is None:
                    raise AdapterError(f"{path}: trace {n_traces + 1} has no concept:name")
                for i, d in enumerate(events):
                    d["case_id"] = case_id
                    d["xes_index"] = i
                rows.extend(events)
                n_traces += 1
                el.clear()
                if limit is not None and n_traces >= limit:
                    break
    except ET.ParseError as err:
        raise AdapterError(f"{path}: not readable XML ({err})") from None
    except (OSError, EOFError) as err:
        raise AdapterError(f"{path}: cannot read ({err})") from None
    if root_tag is None or n_traces == 0:
        raise AdapterError(f"{path}: no traces found (is it an XES event log?)")
    return pd.DataFrame(rows, columns=["case_id", "xes_index", *_KEYS])


def _tier(group: pd.Series) -> pd.Series:
    g = group.fillna("")
    return pd.Series(
        np.where(g.str.endswith(" 3rd"), 3, np.where(g.str.endswith(" 2nd"), 2, 1)),
        index=group.index,
    ).astype("Int64")


def _first_where(frame: pd.DataFrame, mask: np.ndarray) -> pd.Series:
    """Per case, the timestamp of the first row where ``mask`` holds (NaT if none)."""
    return frame.loc[mask].groupby("case_id", sort=False)["ts"].min()


def bpi_labels(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Escalation time per case (NaT: never) for each label; frame sorted by case and time.

    ``frame`` needs case_id, ts, team (org:group), tier.
    """
    first = (frame["case_id"] != frame["case_id"].shift(1)).to_numpy()
    idx = pd.Index(frame["case_id"][first].to_numpy())
    tier = frame["tier"].to_numpy(dtype="float64")
    # hierarchical / third line: first row at tier >= 2 (or 3). A case already there at its
    # first row is escalated at intake (no snapshot to score).
    hier = _first_where(frame, tier >= 2).reindex(idx)
    third = _first_where(frame, tier >= 3).reindex(idx)
    # ping-pong: the first row whose team differs from the previous row's and was seen before.
    team = frame["team"].fillna("").to_numpy(dtype=object)
    prev = np.r_[None, team[:-1]]
    switch = first | (team != prev)
    key = pd.Series(pd.factorize(frame["case_id"])[0].astype(str)) + "|" + pd.Series(team)
    seen_before = np.zeros(len(frame), dtype=bool)
    seen_before[switch] = key[switch].duplicated().to_numpy()
    ping = _first_where(frame, seen_before & (team != "")).reindex(idx)
    return {"hierarchical": hier, "third_line": third, "ping_pong": ping}


def map_bpi(raw: pd.DataFrame, label: str = DEFAULT_LABEL, source: str = "xes") -> AdapterResult:
    """Map raw XES events (see :func:`read_xes_events`) to validated support data.

    Raises:
        AdapterError: a missing attribute, an unparsable timestamp, an unknown label.
    """
    if label not in LABELS:
        raise AdapterError(f"unknown label {label!r} for XES; expected one of {', '.join(LABELS)}")
    report: dict[str, Any] = {"source": source, "format": "xes", "label": label}
    quirks: dict[str, Any] = {}
    for key in ("time:timestamp", "org:group", "concept:name"):
        gap = raw[key].isna().to_numpy()
        if gap.any():
            row = int(np.flatnonzero(gap)[0])
            raise AdapterError(
                f"{source}: event {raw['xes_index'].iloc[row]} of case "
                f"{raw['case_id'].iloc[row]!r} has no {key}"
            )
    try:
        ts = pd.to_datetime(raw["time:timestamp"], utc=True, format="ISO8601")
    except (ValueError, TypeError) as err:
        raise AdapterError(f"{source}: unparsable time:timestamp ({err})") from None
    offsets = raw["time:timestamp"].str.extract(r"([+-]\d\d:\d\d|Z)$")[0].value_counts()
    quirks["utc_offsets_converted"] = {str(k): int(v) for k, v in offsets.items()}

    frame = raw.assign(ts=ts.astype(UTC))
    # XES order within a trace is the recorded order; sort by time (stable) and count the
    # traces where that changes anything.
    order = frame.sort_values(["case_id", "ts"], kind="stable")
    back = order.groupby("case_id", sort=False)["xes_index"].diff() < 0
    quirks["cases_reordered_by_time"] = int(order.loc[back, "case_id"].nunique())
    case_order = pd.unique(raw["case_id"])
    frame = order.set_index("case_id").loc[case_order].reset_index()
    frame["team"] = frame["org:group"].where(frame["org:group"] != "UNKNOWN")
    frame["tier"] = _tier(frame["team"])
    frame["source_seq"] = frame.groupby("case_id", sort=False).cumcount() + 1

    pair = list(zip(frame["concept:name"], frame["lifecycle:transition"], strict=True))
    frame["status"] = [STATUS.get(p) for p in pair]
    unmapped = Counter(p for p, s in zip(pair, frame["status"], strict=True) if pd.isna(s))
    quirks["events_without_status"] = {f"{a}/{b}": n for (a, b), n in unmapped.items()}

    res = frame["org:resource"].fillna("-")
    is_system = res.isin(SYSTEM_RESOURCES)
    is_missing = res.isin(MISSING_RESOURCES)
    queued = frame["concept:name"].eq("Queued")
    frame["actor"] = np.where(is_system, "system", "agent")
    frame["agent_id"] = res.where(~(is_system | is_missing | queued))
    quirks["resource_missing_rows"] = int(is_missing.sum())
    quirks["resource_system_rows"] = {"Siebel": int(is_system.sum())}

    # Reopen: a row after a Closed row that is not itself a close.
    closed = frame["status"].eq("closed").to_numpy()
    first = (frame["case_id"] != frame["case_id"].shift(1)).to_numpy()
    prev_closed = np.r_[False, closed[:-1]] & ~first
    reopen_row = prev_closed & ~closed
    frame["reopen_count"] = (
        pd.Series(reopen_row.astype(int)).groupby(frame["case_id"].to_numpy()).cumsum().to_numpy()
    )
    quirks["cases_reopened_after_close"] = int(frame.loc[reopen_row, "case_id"].nunique())

    impact = frame.groupby("case_id", sort=False)["impact"].first()
    unknown_impact = sorted(set(impact.dropna()) - set(IMPACT_PRIORITY))
    if unknown_impact:
        raise AdapterError(f"{source}: unknown impact value(s) {unknown_impact}")
    frame["priority"] = frame["impact"].map(IMPACT_PRIORITY)
    quirks["impact_to_priority"] = {
        f"{k}->{IMPACT_PRIORITY[k]}": int(v) for k, v in impact.value_counts().items()
    }

    firsts = frame[first]
    last_status = frame.groupby("case_id", sort=False)["status"].last()
    last_close = frame[closed].groupby("case_id", sort=False)["ts"].max()
    closed_at = last_close.where(last_status.eq("closed").reindex(last_close.index))
    tickets = pd.DataFrame(
        {
            "ticket_id": firsts["case_id"].to_numpy(dtype=object),
            "account_id": ("bpi:" + firsts["case_id"]).to_numpy(dtype=object),
            "created_at": firsts["ts"].to_numpy(),
            "channel": None,
            "product_area": firsts["product"].to_numpy(dtype=object),
            "priority": firsts["priority"].to_numpy(dtype=object),
            "subject": None,
            "closed_at": closed_at.reindex(firsts["case_id"]).to_numpy(),
            "start_tier": firsts["tier"].to_numpy(),
        }
    ).astype({"created_at": UTC, "closed_at": UTC})
    quirks["cases_open_at_export"] = int(tickets["closed_at"].isna().sum())

    events = events_from_rows(
        frame.rename(columns={"case_id": "ticket_id"})[
            [
                "ticket_id",
                "ts",
                "source_seq",
                "status",
                "team",
                "tier",
                "agent_id",
                "priority",
                "reopen_count",
                "actor",
            ]
        ]
    )

    esc_all = bpi_labels(frame)
    escalated_at = esc_all[label]
    at_intake = escalated_at.eq(tickets.set_index("ticket_id")["created_at"]).reindex(
        tickets["ticket_id"]
    )
    outcomes = outcomes_frame(
        tickets["ticket_id"],
        escalated_at.reindex(tickets["ticket_id"]).reset_index(drop=True),
        _KIND[label],
        keep=pd.Series(True, index=tickets.index),
    )
    n_cases = len(tickets)
    report["mapped"] = {
        "cases": n_cases,
        "source_events": len(frame),
        "events": len(events),
        "event_types": events["event_type"].value_counts().to_dict(),
        "start_tier": tickets["start_tier"].value_counts().sort_index().to_dict(),
    }
    report["labels_all"] = {
        name: {
            "positive_cases": int(s.notna().sum()),
            "escalated_at_intake": int(
                s.eq(tickets.set_index("ticket_id")["created_at"].reindex(s.index)).sum()
            ),
        }
        for name, s in esc_all.items()
    }
    later = outcomes["escalated_at"].notna().to_numpy() & ~at_intake.to_numpy(dtype=bool)
    scorable = ~at_intake.to_numpy(dtype=bool)
    report["outcome"] = {
        **label_summary(outcomes),
        "escalated_at_intake_no_snapshot": int(at_intake.sum()),
        "scorable_cases": int(scorable.sum()),
        "positive_share_of_scorable": round(float(later.sum() / max(scorable.sum(), 1)), 4),
    }
    report["quirks"] = quirks
    report["absent_fields"] = [
        "message text (text features missing)",
        "customer / ARR / plan (account features missing; one account per case)",
        "channel",
        "subject",
    ]
    data = assemble(unknown_accounts(tickets), tickets, events, outcomes, source)
    return AdapterResult(data=data, report=report)


def read_xes(
    path: str | Path, label: str = DEFAULT_LABEL, limit: int | None = None
) -> AdapterResult:
    """Read an XES log (gzip or plain) into validated support data with the chosen label."""
    raw = read_xes_events(path, limit)
    return map_bpi(raw, label, source=str(path))
