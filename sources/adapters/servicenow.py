"""ServiceNow incident-table exports (one row per update) -> the support-data model.

Tuned on the UCI "Incident management process enriched event log" (36 columns, ``?`` for
missing, ``d/m/Y H:M`` dates without a zone, read as UTC). Field mapping:

| ServiceNow column                  | model                                                    |
|------------------------------------|----------------------------------------------------------|
| ``number``                         | ``tickets.ticket_id``                                    |
| ``opened_at``                      | ``tickets.created_at``                                   |
| ``caller_id`` (first row)          | ``tickets.account_id`` (``?``: an own unknown account)   |
| ``contact_type`` (first row)       | ``tickets.channel`` (lower case)                         |
| ``category`` (first row)           | ``tickets.product_area``                                 |
| ``priority`` 1 Critical, 2 High, 3 Moderate, 4 Low | P1, P1, P2, P3 (first row: initial; later|
|                                    | changes: ``priority_change``)                            |
| ``closed_at``                      | ``tickets.closed_at`` (end-of-case: never a feature)     |
| one row, ordered by ``sys_mod_count``| events at ``sys_updated_at``:                          |
| ``incident_state`` (a change)      | ``status_change`` (see ``STATUS``)                       |
| ``assignment_group`` (a change)    | ``assignment``: team; tier 1 for every group (the log has |
|                                    | no support tiers: a constant, so tier features are flat) |
| ``assigned_to``                    | ``agent_id``                                             |
| ``reopen_count`` (an increase)     | ``reopened``                                             |

Never read for features: ``closed_code``, ``resolved_by``, ``resolved_at``, ``closed_at`` (the
end-of-case values are copied onto every row) and ``made_sla`` (an outcome); neither are
``problem_id``, ``rfc``, ``vendor``, ``caused_by`` (linked after the fact). Later values of the
first-row fields (category, caller) are not used either: the ticket keeps what was known at open.

Labels (``LABELS``):

- ``sla_missed``: ``made_sla`` is false at the last row. Escalation time = the first row where
  ``made_sla`` reads false, in practice the closing row (99.6% of misses): the log records the
  miss only at close, not when the SLA clock ran out. Every scoring snapshot of a missed case is
  therefore positive, and lead times measure time to close, not time to a breach.
- ``reassigned``: the first row whose ``assignment_group`` differs from the case's first known
  group (functional escalation; a move from ``?`` to a group is a first assignment, not one).

Quirks handled and reported: ``?`` cells (counted per column), rows out of ``sys_mod_count``
order in the file (sorted), duplicate ``sys_mod_count`` (ties broken by time), rows dated before
``opened_at`` (dropped: an event cannot precede its ticket), update times that go back in
``sys_mod_count`` order (clamped to the previous update), and bulk closures (many incidents
closed within an hour, e.g. 2016-03-24): flagged in ``tickets.bulk_closed``, optionally dropped.
"""

from __future__ import annotations

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

LABELS = ("sla_missed", "reassigned")
DEFAULT_LABEL = "sla_missed"
_KIND = {"sla_missed": None, "reassigned": "functional"}

REQUIRED = (
    "number",
    "incident_state",
    "reopen_count",
    "sys_mod_count",
    "made_sla",
    "caller_id",
    "opened_at",
    "sys_updated_at",
    "contact_type",
    "category",
    "priority",
    "assignment_group",
    "assigned_to",
    "closed_at",
)
END_OF_CASE = ("closed_code", "resolved_by", "resolved_at", "closed_at", "made_sla")
# Columns that reach the tables (everything else is read for the report only).
MAPPED = tuple(c for c in REQUIRED if c not in END_OF_CASE)
STATUS = {
    "New": "new",
    "Active": "open",
    "Awaiting User Info": "pending_customer",
    "Awaiting Vendor": "pending_internal",
    "Awaiting Problem": "pending_internal",
    "Awaiting Evidence": "pending_internal",
    "Resolved": "solved",
    "Closed": "closed",
}
SENTINEL_STATES = frozenset({"-100"})
PRIORITY = {"1 - Critical": "P1", "2 - High": "P1", "3 - Moderate": "P2", "4 - Low": "P3"}
DATE_FORMAT = "%d/%m/%Y %H:%M"
MISSING = "?"


def read_servicenow_rows(path: str | Path, limit: int | None = None) -> pd.DataFrame:
    """The export's rows as strings (no value parsed yet), file order kept in ``file_row``.

    Args:
        limit: keep only the first ``limit`` incidents (in order of first appearance).

    Raises:
        AdapterError: no such file, not a CSV, or a required column missing.
    """
    path = Path(path)
    if not path.is_file():
        raise AdapterError(f"{path}: no such file")
    try:
        reader = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, chunksize=20_000
        )
        parts: list[pd.DataFrame] = []
        admitted: set[str] = set()
        for chunk in reader:
            missing = [c for c in REQUIRED if c not in chunk.columns]
            if missing:
                raise AdapterError(
                    f"{path}: not a ServiceNow incident export; missing column(s) "
                    f"{', '.join(missing)}"
                )
            if limit is None:
                parts.append(chunk)
                continue
            for number in pd.unique(chunk["number"]):
                if len(admitted) < limit:
                    admitted.add(number)
            inside = chunk["number"].isin(admitted)
            parts.append(chunk[inside])
            if not inside.all():  # an incident past the limit has started: stop reading
                break
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise AdapterError(f"{path}: not a readable CSV ({type(err).__name__}: {err})") from None
    except (OSError, EOFError) as err:
        raise AdapterError(f"{path}: cannot read ({err})") from None
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(REQUIRED))
    if rows.empty:
        raise AdapterError(f"{path}: no rows")
    rows["file_row"] = np.arange(len(rows))
    return rows


def _dates(rows: pd.DataFrame, col: str, source: str) -> pd.Series:
    """Day-first ``d/m/Y H:M`` text -> UTC timestamps; ``?`` -> NaT; anything else: an error."""
    s = rows[col].where(rows[col] != MISSING)
    out = pd.to_datetime(s, format=DATE_FORMAT, errors="coerce", utc=True)
    bad = s.notna() & out.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise AdapterError(
            f"{source}: row {int(rows['file_row'].iloc[i]) + 2}, column {col!r}: "
            f"{s.iloc[i]!r} is not a d/m/Y H:M date"
        )
    return out.astype(UTC)


def _int(rows: pd.DataFrame, col: str, source: str) -> pd.Series:
    out = pd.to_numeric(rows[col], errors="coerce")
    bad = out.isna() | (out % 1 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise AdapterError(
            f"{source}: row {int(rows['file_row'].iloc[i]) + 2}, column {col!r}: "
            f"{rows[col].iloc[i]!r} is not a whole number"
        )
    return out.astype(np.int64)


def bulk_closures(closed_at: pd.Series, min_per_hour: int = 200, ratio: float = 20.0) -> pd.Series:
    """Flag incidents closed in an hour with at least ``min_per_hour`` closures and ``ratio``
    times the median busy hour (a mass clean-up, not the normal flow). ``closed_at``: one per
    incident (UTC). Returns a bool Series aligned with ``closed_at``."""
    hour = closed_at.dt.floor("h")
    counts = hour.value_counts()
    busy = counts[counts >= max(min_per_hour, ratio * float(counts.median()))].index
    return hour.isin(busy)


def map_servicenow(
    rows: pd.DataFrame,
    label: str = DEFAULT_LABEL,
    source: str = "servicenow",
    drop_bulk_closed: bool = False,
) -> AdapterResult:
    """Map the rows of a ServiceNow export (see :func:`read_servicenow_rows`) to support data.

    Raises:
        AdapterError: an unknown label, state or priority; an unparsable date or count.
    """
    if label not in LABELS:
        raise AdapterError(
            f"unknown label {label!r} for ServiceNow; expected one of {', '.join(LABELS)}"
        )
    report: dict[str, Any] = {"source": source, "format": "servicenow", "label": label}
    quirks: dict[str, Any] = {}
    quirks["rows_read"] = len(rows)
    # "?" is the export's missing value: read as missing in the mapped columns, counted in all.
    qmarks = {c: int((rows[c] == MISSING).sum()) for c in rows.columns if c != "file_row"}
    mapped = [c for c in MAPPED if c in rows.columns]
    quirks["question_mark_cells_mapped"] = {c: qmarks[c] for c in mapped if qmarks[c]}
    quirks["question_mark_cells_unmapped"] = {
        c: n for c, n in qmarks.items() if n and c not in mapped
    }
    quirks["rows_with_question_mark_in_mapped_columns"] = int(
        (rows[mapped] == MISSING).any(axis=1).sum()
    )

    df = rows.copy()
    df["mod"] = _int(df, "sys_mod_count", source)
    df["reopens"] = _int(df, "reopen_count", source)
    df["ts"] = _dates(df, "sys_updated_at", source)
    df["opened"] = _dates(df, "opened_at", source)
    df["closed"] = _dates(df, "closed_at", source)
    quirks["day_first_dates_parsed"] = int(
        df["ts"].notna().sum() + df["opened"].notna().sum() + df["closed"].notna().sum()
    )
    if df["ts"].isna().any() or df["opened"].isna().any():
        i = int(np.flatnonzero((df["ts"].isna() | df["opened"].isna()).to_numpy())[0])
        raise AdapterError(f"{source}: row {int(df['file_row'].iloc[i]) + 2}: missing date")

    unknown_state = sorted(set(df["incident_state"]) - set(STATUS) - SENTINEL_STATES)
    if unknown_state:
        raise AdapterError(f"{source}: unknown incident_state value(s) {unknown_state}")
    unknown_prio = sorted(set(df["priority"]) - set(PRIORITY))
    if unknown_prio:
        raise AdapterError(f"{source}: unknown priority value(s) {unknown_prio}")

    # Row order: by sys_mod_count within an incident (the export's order is not reliable),
    # ties by update time, then file order.
    back = df.groupby("number", sort=False)["mod"].diff() < 0
    quirks["incidents_out_of_sys_mod_count_order_in_file"] = int(df.loc[back, "number"].nunique())
    quirks["duplicate_sys_mod_count_rows"] = int(df.duplicated(["number", "mod"]).sum())
    case_order = pd.Index(pd.unique(df["number"]))
    df["case_pos"] = case_order.get_indexer(df["number"])
    df = df.sort_values(["case_pos", "mod", "ts", "file_row"], kind="stable").reset_index(
        drop=True
    )

    early = (df["ts"] < df["opened"]).to_numpy()
    quirks["rows_dropped_dated_before_opened_at"] = {
        "rows": int(early.sum()),
        "incidents": sorted(df.loc[early, "number"].unique().tolist())[:10],
    }
    df = df[~early].reset_index(drop=True)
    # Times that go back in sys_mod_count order: clamp to the previous update of the incident.
    running = df.groupby("number", sort=False)["ts"].cummax()
    clamp = (df["ts"] < running).to_numpy()
    quirks["rows_time_clamped_to_previous_update"] = int(clamp.sum())
    df["ts"] = running
    sentinel = df["incident_state"].isin(SENTINEL_STATES)
    quirks["rows_with_sentinel_state_no_status"] = int(sentinel.sum())

    first = (df["number"] != df["number"].shift(1)).to_numpy()
    firsts = df[first].reset_index(drop=True)
    bulk = bulk_closures(firsts["closed"])
    win = firsts.loc[bulk, "closed"]
    quirks["bulk_closure"] = {
        "incidents_flagged": int(bulk.sum()),
        "window_utc": [str(win.min()), str(win.max())] if len(win) else None,
        "action": "dropped" if drop_bulk_closed else "kept, flagged in tickets.bulk_closed",
    }
    made = df["made_sla"].str.lower()
    if not made.isin(["true", "false"]).all():
        bad = made[~made.isin(["true", "false"])].iloc[0]
        raise AdapterError(f"{source}: made_sla must be true/false, got {bad!r}")
    miss_row = made.eq("false").to_numpy()
    last = np.r_[first[1:], True]
    n_miss_cases = int(pd.Series(miss_row & last).sum())
    first_miss = df[miss_row].groupby("number", sort=False)["ts"].min()
    flip_rows = miss_row & ~np.r_[False, miss_row[:-1] & ~first[1:]]
    quirks["made_sla_false_first_seen"] = {
        "at_last_row": int((flip_rows & last).sum()),
        "before_last_row": int((flip_rows & ~last).sum()),
        "false_then_true_cases": int(
            df.loc[~miss_row & np.r_[False, miss_row[:-1]] & ~first, "number"].nunique()
        ),
    }

    caller = firsts["caller_id"].where(firsts["caller_id"] != MISSING)
    quirks["incidents_unknown_caller_own_account"] = int(caller.isna().sum())
    tickets = pd.DataFrame(
        {
            "ticket_id": firsts["number"].to_numpy(dtype=object),
            "account_id": caller.fillna("unknown:" + firsts["number"]).to_numpy(dtype=object),
            "created_at": firsts["opened"].to_numpy(),
            "channel": firsts["contact_type"].where(firsts["contact_type"] != MISSING).str.lower(),
            "product_area": firsts["category"].where(firsts["category"] != MISSING),
            "priority": firsts["priority"].map(PRIORITY).to_numpy(dtype=object),
            "subject": None,
            "closed_at": firsts["closed"].to_numpy(),
            "bulk_closed": bulk.to_numpy(dtype=bool),
        }
    ).astype({"created_at": UTC, "closed_at": UTC})
    for col in ("channel", "product_area"):
        tickets[col] = tickets[col].astype(object).where(tickets[col].notna(), None)
    quirks["priority_mapping_first_row"] = {
        f"{k}->{PRIORITY[k]}": int(v) for k, v in firsts["priority"].value_counts().items()
    }

    team = df["assignment_group"].where(df["assignment_group"] != MISSING)
    frame = pd.DataFrame(
        {
            "ticket_id": df["number"],
            "ts": df["ts"],
            "source_seq": df.groupby("number", sort=False).cumcount() + 1,
            "status": df["incident_state"].map(STATUS),
            "team": team,
            "tier": pd.Series(np.where(team.notna(), 1, pd.NA), dtype="Int64"),
            "agent_id": df["assigned_to"].where(df["assigned_to"] != MISSING),
            "priority": df["priority"].map(PRIORITY),
            "reopen_count": df["reopens"],
            "actor": "agent",
        }
    )
    # A group that disappears ("?") and comes back is not a reassignment; only a new group is.
    lost_group = team.isna() & team.groupby(df["number"]).ffill().notna()
    quirks["rows_group_back_to_question_mark_no_event"] = int(lost_group.sum())
    events = events_from_rows(frame)

    if label == "sla_missed":
        escalated_at = first_miss
    else:
        first_group = team.groupby(df["number"], sort=False).transform("first")
        moved = team.notna() & first_group.notna() & (team != first_group)
        escalated_at = df[moved.to_numpy()].groupby("number", sort=False)["ts"].min()
    keep = ~tickets["bulk_closed"] if drop_bulk_closed else pd.Series(True, index=tickets.index)
    outcomes = outcomes_frame(
        tickets["ticket_id"],
        pd.Series(escalated_at.reindex(tickets["ticket_id"]).to_numpy()),
        _KIND[label],
        keep=keep,
    )
    if drop_bulk_closed:
        kept = set(tickets.loc[keep, "ticket_id"])
        tickets = tickets[keep.to_numpy()].reset_index(drop=True)
        events = events[events["ticket_id"].isin(kept)].reset_index(drop=True)

    by_bulk = pd.Series(escalated_at.reindex(firsts["number"]).notna().to_numpy()).groupby(
        bulk.to_numpy()
    )
    report["mapped"] = {
        "incidents": len(tickets),
        "source_rows": int(len(df)),
        "events": len(events),
        "event_types": events["event_type"].value_counts().to_dict(),
        "accounts_from_caller_id": int(tickets["account_id"].nunique()),
    }
    report["outcome"] = {
        **label_summary(outcomes),
        "positive_share_bulk_closed": round(float(by_bulk.mean().get(True, np.nan)), 4),
        "positive_share_other": round(float(by_bulk.mean().get(False, np.nan)), 4),
    }
    if label == "sla_missed":
        report["outcome"]["made_sla_false_at_close_in_export"] = n_miss_cases
    report["quirks"] = quirks
    report["absent_fields"] = [
        "message text (text features missing)",
        "ARR / plan / region / strategic (account features missing)",
        "support tiers (tier 1 for every group)",
        "subject",
    ]
    report["never_features"] = list(END_OF_CASE)
    data = assemble(unknown_accounts(tickets), tickets, events, outcomes, source)
    return AdapterResult(data=data, report=report)


def read_servicenow(
    path: str | Path,
    label: str = DEFAULT_LABEL,
    limit: int | None = None,
    drop_bulk_closed: bool = False,
) -> AdapterResult:
    """Read a ServiceNow incident export (CSV, gzip or plain) into validated support data."""
    rows = read_servicenow_rows(path, limit)
    return map_servicenow(rows, label, source=str(path), drop_bulk_closed=drop_bulk_closed)
