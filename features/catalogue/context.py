"""Context features: load around the ticket (its product area, agent, team) and its setting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue.feature import Feature
from features.inputs import SnapshotInputs

_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def _agent_backlog(x: SnapshotInputs) -> np.ndarray:
    held = x.at("held_by_agent", x.agent_code) - x.at("released_by_agent", x.agent_code)
    return np.where(pd.isna(x.agent_current), np.nan, held)


def _team_backlog(x: SnapshotInputs) -> np.ndarray:
    held = x.at("held_by_team", x.team_code) - x.at("released_by_team", x.team_code)
    return np.where(pd.isna(x.team_current), np.nan, held)


FEATURES: tuple[Feature, ...] = (
    Feature(
        "area_tickets_24h",
        "context",
        "int",
        "tickets opened in the same product area in the last 24 h (outage signal)",
        formula=lambda x: x.window("created_by_area", x.area_code, 24),
        words=lambda v, r: f"{int(v)} tickets on this product area in 24 h",
        topic="product area load",
    ),
    Feature(
        "area_open_tickets",
        "context",
        "int",
        "open tickets in the same product area now",
        formula=lambda x: (
            x.at("created_by_area", x.area_code) - x.at("closed_by_area", x.area_code)
        ),
        words=lambda v, r: f"{int(v)} open tickets on this product area",
        topic="product area load",
    ),
    Feature(
        "agent_backlog",
        "context",
        "float",
        "open tickets held by the assigned agent now",
        formula=_agent_backlog,
        words=lambda v, r: f"assigned agent holds {int(v)} open tickets",
        topic="backlog",
    ),
    Feature(
        "team_backlog",
        "context",
        "float",
        "open tickets held by the assigned team now",
        formula=_team_backlog,
        words=lambda v, r: f"assigned team holds {int(v)} open tickets",
        topic="backlog",
    ),
    Feature(
        "ticket_channel",
        "context",
        "category",
        "channel the ticket came in by",
        formula=lambda x: x.lookup.ticket("channel", None),
        explain=False,  # the way in, not something that happened to the ticket
    ),
    Feature(
        "ticket_product_area",
        "context",
        "category",
        "product area",
        formula=lambda x: x.lookup.ticket("product_area", None),
        explain=False,  # what the ticket is about, not something that happened to it
    ),
    Feature(
        "ticket_hour_utc",
        "context",
        "int",
        "hour of day of as_of, UTC",
        formula=lambda x: (x.hours_since_epoch % 24).astype("float64"),
        explain=False,  # calendar
    ),
    Feature(
        "ticket_weekday",
        "context",
        "int",
        "weekday of as_of (Monday = 0)",
        formula=lambda x: ((x.hours_since_epoch // 24 + _EPOCH_WEEKDAY) % 7).astype("float64"),
        explain=False,  # calendar
    ),
)
