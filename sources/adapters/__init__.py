"""Adapters over real exports: each writes the support-data model through the one validator.

- :mod:`sources.adapters.xes`: XES event logs (BPI Challenge 2013 incidents);
- :mod:`sources.adapters.servicenow`: ServiceNow incident-table exports (UCI event log);
- :mod:`sources.adapters.zendesk`: Zendesk-style exports (tickets + ticket audits);
- :mod:`sources.adapters.csvlog`: any CSV event log with a column-mapping YAML file;
- :mod:`training.prefix`: evaluation by prefix length (events seen so far).
"""

from __future__ import annotations

from pathlib import Path

from sources.adapters.common import AdapterError, AdapterResult
from sources.adapters.csvlog import read_csvlog
from sources.adapters.servicenow import DEFAULT_LABEL as SERVICENOW_DEFAULT
from sources.adapters.servicenow import LABELS as SERVICENOW_LABELS
from sources.adapters.servicenow import read_servicenow
from sources.adapters.xes import DEFAULT_LABEL as XES_DEFAULT
from sources.adapters.xes import LABELS as XES_LABELS
from sources.adapters.xes import read_xes
from sources.adapters.zendesk import DEFAULT_LABEL as ZENDESK_DEFAULT
from sources.adapters.zendesk import LABELS as ZENDESK_LABELS
from sources.adapters.zendesk import read_zendesk

FORMATS = ("xes", "servicenow", "zendesk", "csv")
# The CSV log's label comes from its mapping file ("escalated" column), not from --label.
LABELS: dict[str, tuple[str, ...]] = {
    "xes": XES_LABELS,
    "servicenow": SERVICENOW_LABELS,
    "zendesk": ZENDESK_LABELS,
    "csv": ("mapping",),
}
DEFAULT_LABELS: dict[str, str] = {
    "xes": XES_DEFAULT,
    "servicenow": SERVICENOW_DEFAULT,
    "zendesk": ZENDESK_DEFAULT,
    "csv": "mapping",
}

__all__ = [
    "AdapterError",
    "AdapterResult",
    "DEFAULT_LABELS",
    "FORMATS",
    "LABELS",
    "ingest",
    "read_csvlog",
    "read_servicenow",
    "read_xes",
    "read_zendesk",
]


def ingest(
    fmt: str,
    path: str | Path,
    label: str | None = None,
    limit: int | None = None,
    drop_bulk_closed: bool = False,
    mapping: str | Path | None = None,
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
    if drop_bulk_closed and fmt != "servicenow":
        raise AdapterError("--drop-bulk-closed applies to ServiceNow exports only")
    if fmt == "csv" and mapping is None:
        raise AdapterError("--format csv needs --mapping (the column-mapping YAML file)")
    if fmt != "csv" and mapping is not None:
        raise AdapterError("--mapping applies to --format csv only")
    if fmt == "xes":
        return read_xes(path, label, limit)
    if fmt == "zendesk":
        return read_zendesk(path, label, limit)
    if fmt == "csv":
        return read_csvlog(path, mapping, limit)
    return read_servicenow(path, label, limit, drop_bulk_closed)
