"""A generic CSV event log with a column-mapping YAML file -> the support-data model.

For any helpdesk without an adapter of its own: export one row per event and say, in a small
YAML file, which CSV column holds which field of the data model and how its values read. An
example (``tests/sources/adapters/fixtures/csv/mapping.yaml`` is a complete one):

```yaml
columns:              # data-model field: CSV column (ticket_id and ts are required)
  ticket_id: Case ID
  ts: Timestamp
  event_type: Activity     # omit it for a state log: then each row is the state after it
  actor: Who
  agent_id: Agent
  team: Group
  tier: Level
  status: State
  priority: Priority
  text: Message
  csat: Rating
  account_id: Customer     # ticket fields, read from the ticket's first row
  channel: Channel
  product_area: Area
  subject: Subject
  escalated: Escalated     # the label: the first row where it reads true
  escalation_type: Reason
time_format: "%Y-%m-%d %H:%M:%S"   # strftime format; default ISO 8601
timezone: UTC                      # zone of times written without one
values:               # per field: CSV value -> model value (unlisted values must be valid)
  event_type: {"Customer reply": customer_message, "Agent reply": agent_message}
  priority: {Urgent: P1, High: P1, Normal: P2, Low: P3}
true_values: ["true", "yes", "1"]  # for `escalated`
```

Two row styles. An **event log** (``event_type`` mapped): each row is one event, its type
mapped through ``values.event_type``; rows whose type maps to ``skip`` are dropped (counted).
A **state log** (no ``event_type``): each row holds the ticket's state after it (status, team,
tier, priority), turned into typed events exactly as the XES and ServiceNow adapters do
(``sources.adapters.common.events_from_rows``). Missing cells (empty) stay missing. A ticket's
``created_at`` is its first row's time; its priority the first one given (none: P3, reported);
``actor`` defaults to ``customer`` for customer messages, ``system`` for status changes without
an agent, else ``agent`` (reported). Accounts carry only their id (every other account field
missing); a ticket without ``account_id`` gets its own account.

Bad input is rejected naming the file, the CSV line (the header is line 1) and the column.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from features.schema import (
    ACTORS,
    ESCALATION_TYPES,
    EVENT_TYPES,
    PRIORITIES,
    STATUSES,
    TABLES,
    validate_tables,
)
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

EVENT_FIELDS = tuple(c.name for c in TABLES["events"])  # the data model's order
TICKET_FIELDS = ("account_id", "channel", "product_area", "subject")
LABEL_FIELDS = ("escalated", "escalation_type")
FIELDS = EVENT_FIELDS + TICKET_FIELDS + LABEL_FIELDS
ALLOWED = {
    "event_type": EVENT_TYPES,
    "actor": ACTORS,
    "status": STATUSES,
    "priority": PRIORITIES,
    "escalation_type": ESCALATION_TYPES,
}
FIELD_EVENTS = {
    "team": ("assignment",),
    "tier": ("assignment",),
    "status": ("status_change",),
    "priority": ("priority_change",),
    "csat": ("csat",),
}
SKIP = "skip"
LABEL_ROW = "escalation"  # the event type write_csvlog gives its label rows
MAPPING_KEYS = ("columns", "time_format", "timezone", "values", "true_values")


def read_mapping(path: str | Path) -> dict[str, Any]:
    """Read and check a mapping YAML file.

    Raises:
        AdapterError: unreadable YAML, an unknown key or field, a missing required field.
    """
    path = Path(path)
    if not path.is_file():
        raise AdapterError(f"{path}: no such mapping file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise AdapterError(f"{path.name}: not YAML ({err})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise AdapterError(f"{path.name}: expected a mapping with a 'columns' section")
    unknown = sorted(set(raw) - set(MAPPING_KEYS))
    if unknown:
        raise AdapterError(
            f"{path.name}: unknown key(s) {', '.join(unknown)}; expected {', '.join(MAPPING_KEYS)}"
        )
    cols = raw["columns"]
    bad = sorted(set(cols) - set(FIELDS))
    if bad:
        raise AdapterError(
            f"{path.name}, columns: unknown field(s) {', '.join(bad)}; expected "
            f"some of {', '.join(FIELDS)}"
        )
    for need in ("ticket_id", "ts"):
        if need not in cols:
            raise AdapterError(f"{path.name}, columns: '{need}' must be mapped")
    values = raw.get("values") or {}
    if not isinstance(values, dict) or any(not isinstance(v, dict) for v in values.values()):
        raise AdapterError(f"{path.name}, values: expected field: {{csv value: model value}}")
    for field, table in values.items():
        allowed = ALLOWED.get(field)
        if field not in FIELDS:
            raise AdapterError(f"{path.name}, values: unknown field {field!r}")
        for src, dst in table.items():
            ok = allowed is None or dst in allowed or (field == "event_type" and dst == SKIP)
            if not ok:
                raise AdapterError(
                    f"{path.name}, values.{field}: {src!r} maps to {dst!r}, "
                    f"not one of {', '.join(map(str, allowed))}"
                )
    return {
        "columns": {k: str(v) for k, v in cols.items()},
        "time_format": raw.get("time_format"),
        "timezone": raw.get("timezone") or "UTC",
        "values": {f: {str(k): v for k, v in t.items()} for f, t in values.items()},
        "true_values": [str(v).lower() for v in raw.get("true_values") or ("true", "yes", "1")],
    }


def _error(file: str, line: int, column: str, message: str) -> AdapterError:
    return AdapterError(f"{file}, line {line}, column '{column}': {message}")


def read_csvlog(
    path: str | Path, mapping: str | Path | dict[str, Any], limit: int | None = None
) -> AdapterResult:
    """Read a CSV event log with its mapping into validated support data with a report.

    Raises:
        AdapterError: a bad mapping, an unreadable CSV, a missing mapped column, or a cell
            that does not read as its field (file, line and column named).
    """
    path = Path(path)
    m = mapping if isinstance(mapping, dict) else read_mapping(mapping)
    cols = m["columns"]
    if not path.is_file():
        raise AdapterError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise AdapterError(
            f"{path.name}: not a readable CSV ({type(err).__name__}: {err})"
        ) from None
    missing = [c for c in cols.values() if c not in raw.columns]
    if missing:
        raise AdapterError(f"{path.name}: mapped column(s) not in the CSV: {', '.join(missing)}")
    if raw.empty:
        raise AdapterError(f"{path.name}: no rows")
    file = path.name
    quirks: Counter[str] = Counter()
    df = pd.DataFrame({"line": np.arange(len(raw)) + 2})
    for field, column in cols.items():
        s = raw[column].str.strip()
        df[field] = s.where(s != "", None)
    for field, table in m["values"].items():
        if field in df:
            df[field] = df[field].map(lambda v, t=table: t.get(v, v) if v is not None else None)

    for field in ("ticket_id", "ts"):
        gap = df[field].isna().to_numpy()
        if gap.any():
            i = int(np.flatnonzero(gap)[0])
            raise _error(file, int(df["line"].iloc[i]), cols[field], "missing value")
    df["ts"] = _times(df, cols["ts"], m, file)
    for field, allowed in ALLOWED.items():
        if field not in df:
            continue
        bad = df[field].notna() & ~df[field].isin(list(allowed) + [SKIP])
        if field != "event_type":
            bad &= df[field] != SKIP
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _error(
                file,
                int(df["line"].iloc[i]),
                cols[field],
                f"{df[field].iloc[i]!r} is not one of {', '.join(allowed)} (map it "
                "under 'values')",
            )
    for field, lo, hi in (("tier", 1, 3), ("csat", 1, 5)):
        if field in df:
            num = pd.to_numeric(df[field], errors="coerce")
            bad = df[field].notna() & (num.isna() | (num % 1 != 0) | (num < lo) | (num > hi))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise _error(
                    file,
                    int(df["line"].iloc[i]),
                    cols[field],
                    f"{df[field].iloc[i]!r} is not a whole number {lo}-{hi}",
                )
            df[field] = pd.array(num, dtype="Int64")

    order = pd.Index(pd.unique(df["ticket_id"]))
    if limit is not None:
        df = df[df["ticket_id"].isin(order[:limit])]
        order = order[:limit]
    df["case_pos"] = order.get_indexer(df["ticket_id"])
    back = (df.groupby("ticket_id", sort=False)["ts"].diff() < pd.Timedelta(0)).sum()
    quirks["rows_out_of_time_order_in_file_sorted"] = int(back)
    df = df.sort_values(["case_pos", "ts", "line"], kind="stable").reset_index(drop=True)
    if "event_type" in df:
        skip = (df["event_type"] == SKIP).to_numpy()
        quirks["rows_skipped_by_mapping"] = int(skip.sum())
        untyped = df["event_type"].isna().to_numpy()
        if untyped.any():
            i = int(np.flatnonzero(untyped)[0])
            raise _error(file, int(df["line"].iloc[i]), cols["event_type"], "missing value")
    first = df.drop_duplicates("ticket_id").set_index("ticket_id")
    tickets = _tickets(df, first, quirks)
    if "event_type" in df:
        events = _typed_events(df[df["event_type"] != SKIP], cols, file, quirks)
        style = "event log"
    else:
        events = _state_events(df, quirks)
        style = "state log"
    escalated_at, etype = _label(df, m, quirks)
    outcomes = None
    if escalated_at is not None:
        outcomes = outcomes_frame(
            tickets["ticket_id"],
            tickets["ticket_id"].map(escalated_at),
            None,
            keep=pd.Series(np.ones(len(tickets), dtype=bool)),
        )
        if etype is not None:
            types = tickets["ticket_id"].map(etype).to_numpy(dtype=object)
            esc = outcomes["escalated_at"].notna().to_numpy()
            outcomes["escalation_type"] = np.where(
                esc, np.where(pd.isna(types), "other", types), None
            )
    accounts = unknown_accounts(tickets)
    source = f"csv {file}"
    if outcomes is None:
        data = validate_tables(
            accounts, tickets, events, None, files={n: f"{source} -> {n}" for n in TABLES}
        )
    else:
        data = assemble(accounts, tickets, events, outcomes, source)
    report = {
        "source": str(path),
        "format": "csv",
        "style": style,
        "mapped": {
            "rows": len(raw),
            "tickets": len(tickets),
            "events": len(events),
            "event_types": events["event_type"].value_counts().to_dict(),
            "fields": cols,
        },
        "quirks": dict(quirks),
        "outcome": label_summary(outcomes) if outcomes is not None else "no label mapped",
    }
    return AdapterResult(data, report)


def _times(df: pd.DataFrame, column: str, m: dict[str, Any], file: str) -> pd.Series:
    fmt = m["time_format"]
    out = pd.to_datetime(df["ts"], format=fmt if fmt else "ISO8601", errors="coerce")
    bad = out.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        want = f"in format {fmt}" if fmt else "an ISO 8601 time"
        raise _error(file, int(df["line"].iloc[i]), column, f"{df['ts'].iloc[i]!r} is not {want}")
    if out.dt.tz is None:
        try:
            out = out.dt.tz_localize(m["timezone"])
        except Exception as err:  # pytz/zoneinfo raise several types for a bad zone name
            raise AdapterError(f"mapping: timezone {m['timezone']!r} ({err})") from None
    return out.dt.tz_convert("UTC").astype(UTC)


def _tickets(df: pd.DataFrame, first: pd.DataFrame, quirks: Counter) -> pd.DataFrame:
    def col(name: str) -> pd.Series:
        if name not in first:
            return pd.Series(None, index=first.index, dtype=object)
        return first[name].astype(object)

    prio = (
        df.dropna(subset=["priority"])
        .drop_duplicates("ticket_id")
        .set_index("ticket_id")["priority"]
        if "priority" in df
        else pd.Series(dtype=object)
    )
    prio = prio.reindex(first.index)
    quirks["tickets_without_priority_read_as_P3"] = int(prio.isna().sum())
    account = col("account_id")
    quirks["tickets_without_account_own_account"] = int(account.isna().sum())
    account = account.where(account.notna(), "unknown:" + first.index.to_series().astype(str))
    t = pd.DataFrame(
        {
            "ticket_id": first.index.to_numpy(dtype=object),
            "account_id": account.to_numpy(dtype=object),
            "created_at": first["ts"].to_numpy(),
            "channel": col("channel").to_numpy(),
            "product_area": col("product_area").to_numpy(),
            "priority": prio.fillna("P3").to_numpy(dtype=object),
            "subject": col("subject").to_numpy(),
            "closed_at": pd.Series(pd.NaT, index=range(len(first)), dtype=UTC),
        }
    )
    if "status" in df:
        closed = df[df["status"] == "closed"].groupby("ticket_id")["ts"].max()
        t["closed_at"] = pd.to_datetime(closed.reindex(t["ticket_id"]).to_numpy(), utc=True)
        t["closed_at"] = t["closed_at"].astype(UTC)
    t["created_at"] = t["created_at"].astype(UTC)
    return t


def _typed_events(df: pd.DataFrame, cols: dict, file: str, quirks: Counter) -> pd.DataFrame:
    e = pd.DataFrame(
        {"ticket_id": df["ticket_id"].to_numpy(dtype=object), "ts": df["ts"].to_numpy()}
    )
    for field in EVENT_FIELDS[2:]:
        if field in df:
            e[field] = df[field].to_numpy()
        else:
            e[field] = None
    if "actor" not in df:
        quirks["actor_not_mapped_inferred"] = len(e)
    gap = e["actor"].isna().to_numpy()
    if gap.any():
        quirks["actor_missing_inferred"] += int(gap.sum()) if "actor" in df else 0
        inferred = np.where(
            e["event_type"] == "customer_message",
            "customer",
            np.where(
                e["agent_id"].isna() & (e["event_type"] != "agent_message"), "system", "agent"
            ),
        )
        e["actor"] = e["actor"].where(~gap, inferred)
    # A cell counts only where the event type gives it a meaning (a priority on a message row
    # is the ticket's priority, read for the ticket, not a priority change).
    for field, types in FIELD_EVENTS.items():
        off = e[field].notna().to_numpy() & ~e["event_type"].isin(types).to_numpy()
        if off.any():
            quirks[f"{field}_cells_outside_{'_'.join(types)}_ignored"] += int(off.sum())
            e.loc[off, field] = None
    e["ts"] = pd.to_datetime(e["ts"], utc=True).astype(UTC)
    for field in ("tier", "csat"):
        e[field] = pd.array(e[field], dtype="Int64")
    for field in ("agent_id", "team", "status", "priority", "text"):
        e[field] = e[field].astype(object).where(e[field].notna(), None)
    e["source_line"] = df["line"].to_numpy(dtype=np.int64)
    return e.reset_index(drop=True)


def _state_events(df: pd.DataFrame, quirks: Counter) -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "ticket_id": df["ticket_id"].to_numpy(dtype=object),
            "ts": df["ts"].to_numpy(),
            "source_seq": df.groupby("ticket_id", sort=False).cumcount().to_numpy() + 1,
        }
    )
    for field in ("status", "team", "agent_id", "priority"):
        rows[field] = df[field].to_numpy(dtype=object) if field in df else None
    tier = df["tier"] if "tier" in df else pd.Series(pd.NA, index=df.index, dtype="Int64")
    no_tier = rows["team"].notna().to_numpy() & tier.isna().to_numpy()
    quirks["team_rows_without_tier_read_as_tier_1"] = int(no_tier.sum())
    rows["tier"] = pd.array(np.where(no_tier, 1, tier.astype(object)), dtype="Int64")
    rows["reopen_count"] = 0
    rows["actor"] = np.where(rows["agent_id"].notna(), "agent", "system")
    rows["ts"] = pd.to_datetime(rows["ts"], utc=True).astype(UTC)
    return events_from_rows(rows)


def _label(df: pd.DataFrame, m: dict[str, Any], quirks: Counter):
    if "escalated" not in df:
        return None, None
    flag = (
        df["escalated"]
        .astype(object)
        .map(lambda v: v is not None and str(v).lower() in m["true_values"])
    )
    hits = df[flag.to_numpy(dtype=bool)].drop_duplicates("ticket_id").set_index("ticket_id")
    etype = hits["escalation_type"] if "escalation_type" in hits else None
    return hits["ts"], etype


def write_csvlog(data, out_csv: str | Path, out_mapping: str | Path) -> None:
    """Write support data as an event-log CSV with its mapping (the inverse of
    :func:`read_csvlog`; columns named after the model's fields)."""
    e = data.events.merge(
        data.tickets[
            ["ticket_id", "account_id", "channel", "product_area", "subject", "priority"]
        ].rename(columns={"priority": "ticket_priority"}),
        on="ticket_id",
    )
    # The first row of a ticket carries its initial priority (the model's ticket priority).
    first = ~e["ticket_id"].duplicated()
    e["priority"] = (
        e["priority"].astype(object).where(~first | e["priority"].notna(), e["ticket_priority"])
    )
    values: dict[str, dict[str, str]] = {}
    if data.outcomes is not None:
        # The label: one extra row per escalation at its time, skipped as an event.
        o = data.outcomes[data.outcomes["escalated_at"].notna()]
        marks = pd.DataFrame(
            {
                "ticket_id": o["ticket_id"].to_numpy(dtype=object),
                "ts": o["escalated_at"].to_numpy(),
                "event_type": LABEL_ROW,
                "escalated": "true",
                "escalation_type": o["escalation_type"].to_numpy(dtype=object),
            }
        )
        e = pd.concat([e, marks], ignore_index=True).sort_values(
            ["ticket_id", "ts"], kind="stable"
        )
        values = {"event_type": {LABEL_ROW: SKIP}}
    fields = [f for f in FIELDS if f in e.columns]
    out = e[fields].copy()
    out["ts"] = pd.to_datetime(out["ts"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out.to_csv(out_csv, index=False)
    mapping: dict[str, Any] = {"columns": {f: f for f in fields}}
    if values:
        mapping["values"] = values
    Path(out_mapping).write_text(yaml.safe_dump(mapping, sort_keys=False))
