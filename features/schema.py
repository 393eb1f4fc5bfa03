"""The support-data model and its one validating reader.

A data folder holds four Parquet tables (see data/README.md):

- ``accounts.parquet``  one row per customer account;
- ``tickets.parquet``   one row per ticket;
- ``events.parquet``    one row per thing that happened on a ticket, in any order;
- ``outcomes.parquet``  one row per ticket: whether and when it escalated (optional: a live
  system has no outcomes yet).

All timestamps are timezone-aware UTC. Every table goes through :func:`validate_tables`, which
rejects bad input with a :class:`DataValidationError` naming the file, the row (0-based position
in that file) and the column. Nothing is dropped or coerced silently: a column of the wrong type is
an error, not a cast. Some event types must carry more than the common columns (an assignment
names its team and tier): :data:`EVENT_REQUIRED_FIELDS` is that rule, for the readers here and
for the API's request models alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

PRIORITIES = ("P1", "P2", "P3")
TIERS = (1, 2, 3)
EVENT_TYPES = (
    "customer_message",
    "agent_message",
    "internal_note",
    "status_change",
    "assignment",
    "priority_change",
    "reopened",
    "csat",
)
ACTORS = ("customer", "agent", "system")
STATUSES = ("new", "open", "pending_customer", "pending_internal", "solved", "closed")
ESCALATION_TYPES = ("billing_dispute", "technical_failure", "contract_legal", "security", "other")
ESCALATION_KINDS = ("hierarchical", "functional", "executive")

Kind = Literal["str", "float", "int", "bool", "ts"]


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind, whether nulls are allowed, allowed values."""

    name: str
    kind: Kind
    nullable: bool = False
    allowed: tuple[Any, ...] | None = None
    description: str = ""


TABLES: dict[str, tuple[Column, ...]] = {
    "accounts": (
        Column("account_id", "str", description="unique account id"),
        Column("arr", "float", True, description="annual recurring revenue, USD"),
        Column("plan", "str", True, description="commercial plan, e.g. starter..enterprise"),
        Column("strategic", "bool", description="named strategic account"),
        Column("region", "str", True, description="sales region"),
        Column("industry", "str", True, description="customer industry"),
        Column("created_at", "ts", True, description="account creation time, UTC"),
        Column("renewal_date", "ts", True, description="next contract renewal, UTC"),
    ),
    "tickets": (
        Column("ticket_id", "str", description="unique ticket id"),
        Column("account_id", "str", description="account that opened the ticket"),
        Column("created_at", "ts", description="ticket creation time, UTC"),
        Column("channel", "str", True, description="email, chat, web, phone, ..."),
        Column("product_area", "str", True, description="product area the ticket is about"),
        Column("priority", "str", allowed=PRIORITIES, description="initial priority P1-P3"),
        Column("subject", "str", True, description="subject line"),
        Column("closed_at", "ts", True, description="close time (end-of-ticket: never a feature)"),
    ),
    "events": (
        Column("ticket_id", "str", description="ticket the event belongs to"),
        Column("ts", "ts", description="event time, UTC"),
        Column("event_type", "str", allowed=EVENT_TYPES, description="what happened"),
        Column("actor", "str", allowed=ACTORS, description="who did it"),
        Column("agent_id", "str", True, description="acting or assigned agent"),
        Column("team", "str", True, description="team assigned (assignment events)"),
        Column("tier", "int", True, allowed=TIERS, description="support tier 1/2/3"),
        Column("status", "str", True, allowed=STATUSES, description="new status"),
        Column("priority", "str", True, allowed=PRIORITIES, description="new priority"),
        Column("csat", "int", True, allowed=(1, 2, 3, 4, 5), description="satisfaction 1-5"),
        Column("text", "str", True, description="message or note text"),
    ),
    "outcomes": (
        Column("ticket_id", "str", description="ticket"),
        Column("escalated_at", "ts", True, description="escalation time; null if none"),
        Column("escalation_type", "str", True, allowed=ESCALATION_TYPES, description="kind"),
        Column(
            "escalation_kind",
            "str",
            True,
            allowed=ESCALATION_KINDS,
            description="hierarchical (up the chain), functional (to another team) or executive",
        ),
    ),
}
REQUIRED_TABLES = ("accounts", "tickets", "events")

# The columns an event of a given type must carry, beyond the ones every event carries
# (ticket_id, ts, event_type, actor); types not listed need nothing more. The API's request
# models derive their per-event rules from this.
EVENT_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "assignment": ("team", "tier"),
    "status_change": ("status",),
    "priority_change": ("priority",),
    "csat": ("csat",),
}


class DataValidationError(ValueError):
    """Bad input data; the message names the file, the row and the column."""

    def __init__(self, file: str, message: str, row: int | None = None, column: str | None = None):
        self.file, self.row, self.column = file, row, column
        where = [file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass(frozen=True)
class SupportData:
    """Validated support data. Events are sorted by (ticket_id, ts), ties in file order."""

    accounts: pd.DataFrame
    tickets: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accounts": len(self.accounts),
            "tickets": len(self.tickets),
            "events": len(self.events),
        }
        if self.outcomes is not None:
            out["escalated_share"] = round(float(self.outcomes["escalated_at"].notna().mean()), 4)
        return out

    def digest(self) -> str:
        """A content hash of the four tables (stable across runs for the same data)."""
        h = hashlib.sha256()
        for name in ("accounts", "tickets", "events", "outcomes"):
            df = getattr(self, name)
            if df is None:
                continue
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_column(file: str, df: pd.DataFrame, col: Column) -> pd.Series:
    """Check one column's type, nulls and allowed values; return it in canonical dtype."""
    s = df[col.name]
    isna = s.isna().to_numpy()
    if not col.nullable and isna.any():
        raise DataValidationError(
            file, "missing value in a required column", _first_bad(isna), col.name
        )

    if col.kind == "ts":
        if not pd.api.types.is_datetime64_any_dtype(s):
            bad = ~isna & ~s.map(lambda v: isinstance(v, pd.Timestamp)).to_numpy(dtype=bool)
            row = _first_bad(bad) if bad.any() else None
            raise DataValidationError(
                file, f"expected a UTC timestamp, got dtype {s.dtype}", row, col.name
            )
        if getattr(s.dt, "tz", None) is None:
            raise DataValidationError(
                file,
                "timestamps must be timezone-aware (UTC); got naive timestamps",
                None,
                col.name,
            )
        return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")

    if col.kind == "float":
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            row = _first_non_numeric(s, isna)
            raise DataValidationError(
                file, f"expected a number, got dtype {s.dtype}", row, col.name
            )
        out = s.astype("float64")
        inf = np.isinf(out.to_numpy())
        if inf.any():
            raise DataValidationError(file, "infinite value", _first_bad(inf), col.name)
        return out

    if col.kind == "int":
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            row = _first_non_numeric(s, isna)
            raise DataValidationError(
                file, f"expected an integer, got dtype {s.dtype}", row, col.name
            )
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        frac = ~isna & (np.mod(vals, 1) != 0)
        if frac.any():
            raise DataValidationError(
                file, "expected an integer, got a fraction", _first_bad(frac), col.name
            )
        out = s.astype("Int64")
    elif col.kind == "bool":
        if not pd.api.types.is_bool_dtype(s):
            bad = ~isna & ~s.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
            row = _first_bad(bad) if bad.any() else None
            raise DataValidationError(
                file, f"expected true/false, got dtype {s.dtype}", row, col.name
            )
        out = s.astype("boolean")
    else:  # str
        # A string dtype holds only text and nulls; any other column (object, categorical) is
        # checked value by value, which is what costs time on a large events table.
        if not isinstance(s.dtype, pd.StringDtype):
            is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
            bad = ~isna & ~is_str
            if bad.any():
                row = _first_bad(bad)
                raise DataValidationError(
                    file, f"expected text, got {type(s.iloc[row]).__name__}", row, col.name
                )
        out = s.astype("string")

    if col.allowed is not None:
        ok = out.isin(list(col.allowed)).to_numpy(dtype=bool, na_value=False) | isna
        if not ok.all():
            row = _first_bad(~ok)
            raise DataValidationError(
                file,
                f"unknown value {s.iloc[row]!r}; expected one of {', '.join(map(str, col.allowed))}",
                row,
                col.name,
            )
    return out


def _first_non_numeric(s: pd.Series, isna: np.ndarray) -> int | None:
    bad = ~isna & ~s.map(
        lambda v: isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
    ).to_numpy(dtype=bool)
    return _first_bad(bad) if bad.any() else None


def validate_table(name: str, df: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Validate one table against the support-data model and return it in canonical dtypes.

    Extra columns are kept as they are (adapters may carry source fields); required columns
    must all be present. The row index in errors is the 0-based position in ``df``.
    """
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    file = file or f"{name}.parquet"
    df = df.reset_index(drop=True)
    missing = [c.name for c in TABLES[name] if c.name not in df.columns]
    if missing:
        raise DataValidationError(
            file, f"missing column(s) {', '.join(repr(m) for m in missing)}", None, missing[0]
        )
    out = df.copy()
    for col in TABLES[name]:
        out[col.name] = _check_column(file, df, col)
    return out


def _check_unique(file: str, df: pd.DataFrame, column: str) -> None:
    dup = df[column].duplicated().to_numpy()
    if dup.any():
        row = _first_bad(dup)
        raise DataValidationError(file, f"duplicate id {df[column].iloc[row]!r}", row, column)


def _check_known(file: str, df: pd.DataFrame, column: str, known: pd.Series, what: str) -> None:
    ok = df[column].isin(known).to_numpy(dtype=bool)
    if not ok.all():
        row = _first_bad(~ok)
        raise DataValidationError(file, f"unknown {what} {df[column].iloc[row]!r}", row, column)


def _check_not_before(file: str, df: pd.DataFrame, column: str, created: pd.Series) -> None:
    early = (df[column] < created).to_numpy(dtype=bool, na_value=False)
    if early.any():
        row = _first_bad(early)
        raise DataValidationError(
            file,
            f"{df[column].iloc[row]} is before its ticket was created ({created.iloc[row]})",
            row,
            column,
        )


def validate_tables(
    accounts: pd.DataFrame,
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    files: Mapping[str, str] | None = None,
) -> SupportData:
    """Validate the tables and their relations; return them sorted and in canonical dtypes.

    Raises:
        DataValidationError: on the first problem found, naming file, row and column.
    """
    files = dict(files or {})
    f = {name: files.get(name, f"{name}.parquet") for name in TABLES}
    accounts = validate_table("accounts", accounts, f["accounts"])
    tickets = validate_table("tickets", tickets, f["tickets"])
    events = validate_table("events", events, f["events"])
    _check_unique(f["accounts"], accounts, "account_id")
    _check_unique(f["tickets"], tickets, "ticket_id")
    _check_known(f["tickets"], tickets, "account_id", accounts["account_id"], "account")
    _check_not_before(f["tickets"], tickets, "closed_at", tickets["created_at"])
    _check_known(f["events"], events, "ticket_id", tickets["ticket_id"], "ticket")

    created = events["ticket_id"].map(tickets.set_index("ticket_id")["created_at"])
    _check_not_before(f["events"], events, "ts", created)
    for etype, needed in EVENT_REQUIRED_FIELDS.items():
        is_type = (events["event_type"] == etype).to_numpy(dtype=bool)
        for col in needed:
            gap = is_type & events[col].isna().to_numpy()
            if gap.any():
                raise DataValidationError(
                    f["events"], f"a '{etype}' event needs a value here", _first_bad(gap), col
                )

    if outcomes is not None:
        outcomes = validate_table("outcomes", outcomes, f["outcomes"])
        _check_unique(f["outcomes"], outcomes, "ticket_id")
        _check_known(f["outcomes"], outcomes, "ticket_id", tickets["ticket_id"], "ticket")
        created_o = outcomes["ticket_id"].map(tickets.set_index("ticket_id")["created_at"])
        _check_not_before(f["outcomes"], outcomes, "escalated_at", created_o)
        typed = outcomes["escalation_type"].notna().to_numpy()
        escalated = outcomes["escalated_at"].notna().to_numpy()
        mismatch = typed != escalated
        if mismatch.any():
            raise DataValidationError(
                f["outcomes"],
                "escalation_type must be set exactly when escalated_at is set",
                _first_bad(mismatch),
                "escalation_type",
            )

    # Stable sort: events at the same instant keep their file order.
    events = events.sort_values(["ticket_id", "ts"], kind="stable").reset_index(drop=True)
    tickets = tickets.sort_values("created_at", kind="stable").reset_index(drop=True)
    return SupportData(accounts=accounts, tickets=tickets, events=events, outcomes=outcomes)


def read_dataset(path: str | Path) -> SupportData:
    """Read and validate a support-data folder (``accounts/tickets/events[/outcomes].parquet``).

    Raises:
        DataValidationError: a table is missing, unreadable or invalid.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataValidationError(str(root), "no such data folder")
    tables: dict[str, pd.DataFrame | None] = {}
    for name in TABLES:
        file = root / f"{name}.parquet"
        if not file.exists():
            if name in REQUIRED_TABLES:
                raise DataValidationError(str(file), "required table is missing")
            tables[name] = None
            continue
        try:
            tables[name] = pd.read_parquet(file)
        except Exception as err:  # pyarrow raises several unrelated types for a bad file
            raise DataValidationError(str(file), f"cannot read Parquet: {err}") from None
    return validate_tables(
        tables["accounts"],  # type: ignore[arg-type]
        tables["tickets"],  # type: ignore[arg-type]
        tables["events"],  # type: ignore[arg-type]
        tables["outcomes"],
        files={name: str(root / f"{name}.parquet") for name in TABLES},
    )


def write_dataset(data: SupportData, path: str | Path) -> dict[str, int]:
    """Write validated tables as Parquet; return file sizes in bytes."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for name in TABLES:
        df = getattr(data, name)
        if df is None:
            continue
        file = root / f"{name}.parquet"
        df.to_parquet(file, index=False, compression="zstd")
        sizes[file.name] = file.stat().st_size
    return sizes


def json_value(v: Any) -> Any:
    """A cell of a support-data frame as JSON would hold it (the API's request bodies): missing
    values as None, timestamps in ISO 8601, NumPy scalars as Python ones."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v.item() if hasattr(v, "item") else v
