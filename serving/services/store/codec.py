"""Rows between frames and SQL: timestamps as integer microseconds since the epoch (UTC)."""

from __future__ import annotations

import numpy as np
import pandas as pd

_ACCOUNT_COLS = (
    "account_id",
    "arr",
    "plan",
    "strategic",
    "region",
    "industry",
    "created_at",
    "renewal_date",
)
_TICKET_COLS = ("ticket_id", "account_id", "created_at", "channel", "product_area", "priority")
_EVENT_COLS = ("ticket_id", "ts", "event_type", "agent_id", "team", "status", "sentiment")
_TS = {
    "created_at",
    "renewal_date",
    "ts",
    "escalated_at",
    "closed_at",
    "as_of",
    "updated_at",
    "next_at",
    "claimed_until",
    "sent_at",
    "died_at",
}


_NAT = np.iinfo(np.int64).min


def _us(values) -> list:
    """Timestamps to integer microseconds (None for missing), for SQLite."""
    if not isinstance(values, pd.Series | pd.DatetimeIndex) or values.dtype == object:
        values = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
    out = pd.DatetimeIndex(values).as_unit("us").asi8
    return [None if o == _NAT else int(o) for o in out]


def _rows(frame: pd.DataFrame, cols: tuple[str, ...]) -> list[tuple]:
    data = {}
    for c in cols:
        if c in _TS:
            data[c] = _us(frame[c])
        else:
            values = frame[c].to_numpy(dtype=object, na_value=None)
            if c == "strategic":
                data[c] = [None if v is None else int(bool(v)) for v in values]
            elif c in ("arr", "sentiment"):
                data[c] = [None if v is None or v != v else float(v) for v in values]
            else:
                data[c] = values.tolist()
    return list(zip(*(data[c] for c in cols), strict=True))


def _frame(rows: list, cols: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=list(cols))
    for c in cols:
        if c in _TS:
            df[c] = pd.to_datetime(df[c].astype("Int64"), unit="us", utc=True).astype(
                "datetime64[us, UTC]"
            )
        elif c in ("arr", "sentiment"):
            df[c] = df[c].astype("float64")
        elif c == "strategic":
            df[c] = df[c].fillna(0).astype(bool)
        else:
            df[c] = df[c].astype(object)
    return df
