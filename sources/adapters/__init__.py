"""Adapters over real exports: each writes the support-data model through the one validator.

- :mod:`sources.adapters.xes`: XES event logs (BPI Challenge 2013 incidents);
- :mod:`sources.adapters.servicenow`: ServiceNow incident-table exports (UCI event log);
- :mod:`training.prefix`: evaluation by prefix length (events seen so far).
"""

from __future__ import annotations

from pathlib import Path

from sources.adapters.common import AdapterError, AdapterResult
from sources.adapters.servicenow import DEFAULT_LABEL as SERVICENOW_DEFAULT
from sources.adapters.servicenow import LABELS as SERVICENOW_LABELS
from sources.adapters.servicenow import read_servicenow
from sources.adapters.xes import DEFAULT_LABEL as XES_DEFAULT
from sources.adapters.xes import LABELS as XES_LABELS
from sources.adapters.xes import read_xes

FORMATS = ("xes", "servicenow")
LABELS: dict[str, tuple[str, ...]] = {"xes": XES_LABELS, "servicenow": SERVICENOW_LABELS}
DEFAULT_LABELS: dict[str, str] = {"xes": XES_DEFAULT, "servicenow": SERVICENOW_DEFAULT}

__all__ = [
    "AdapterError",
    "AdapterResult",
    "DEFAULT_LABELS",
    "FORMATS",
    "LABELS",
    "ingest",
    "read_servicenow",
    "read_xes",
]


def ingest(
    fmt: str,
    path: str | Path,
    label: str | None = None,
    limit: int | None = None,
    drop_bulk_closed: bool = False,
) -> AdapterResult:
    """Read a real export of format ``fmt`` into validated support data.

    Raises:
        AdapterError: unknown format or label, unreadable or malformed input.
    """
    if fmt not in FORMATS:
        raise AdapterError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    label = label or DEFAULT_LABELS[fmt]
    if label not in LABELS[fmt]:
        raise AdapterError(
            f"label {label!r} is not offered for {fmt}; expected one of {', '.join(LABELS[fmt])}"
        )
    if fmt == "xes":
        if drop_bulk_closed:
            raise AdapterError("--drop-bulk-closed applies to ServiceNow exports only")
        return read_xes(path, label, limit)
    return read_servicenow(path, label, limit, drop_bulk_closed)
