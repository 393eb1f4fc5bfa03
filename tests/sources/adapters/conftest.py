"""Fixtures for the adapters: small slices of the shared real incident logs.

The logs live in ../shared/data/incidents next to the repository (see ../shared/data/README.md);
a test that needs one is skipped when it is not there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources.adapters.servicenow import read_servicenow_rows
from sources.adapters.xes import read_xes_events

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "incidents"


def _log(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the shared incident log {path} is missing (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def xes_log() -> Path:
    """The BPI Challenge 2013 incidents, development slice (XES, gzipped)."""
    return _log(SHARED / "bpi2013" / "bpi2013_incidents_dev.xes.gz")


@pytest.fixture(scope="session")
def servicenow_log() -> Path:
    """The UCI ServiceNow incident event log, development slice (CSV, gzipped)."""
    return _log(SHARED / "uci-servicenow" / "incident_event_log_dev.csv.gz")


@pytest.fixture(scope="session")
def bpi_raw(xes_log: Path) -> pd.DataFrame:
    """The first 60 cases of the BPI log, as read (tests must not modify it)."""
    return read_xes_events(xes_log, limit=60)


@pytest.fixture(scope="session")
def sn_rows(servicenow_log: Path) -> pd.DataFrame:
    """The rows of the first 120 ServiceNow incidents, as read (tests must not modify it)."""
    return read_servicenow_rows(servicenow_log, limit=120)
