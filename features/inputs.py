"""What feature formulas read: one object per batch of snapshots, with shared intermediates.

Each formula (see :mod:`features.catalogue`) is a small function of a :class:`SnapshotInputs`
returning one array, aligned with the snapshots. Values several formulas need (the SLA clock,
the current wait, the context codes) are cached properties, computed once per batch.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from features.arrays import US_PER_H, names, positions, to_us
from features.calendar import (
    SLA_BUSINESS_HOURS,
    SLA_HOURS,
    Calendar,
    business_calendar,
    map_values,
)
from features.context import FeatureContext
from features.state import PRIO_RANK, EventState, locate_rows


class SnapshotInputs:
    """The inputs of every formula for snapshots (ticket_id, as_of).

    Attributes:
        ticket_ids: the snapshots' ticket ids (object array).
        as_of_us: as_of as int64 microseconds since the epoch (UTC; inclusive).
        t: ``as_of_us`` as float64.
        state: per-event state columns (see :func:`features.state.event_state`) at each
            snapshot: the state after the ticket's last event at or before as_of; NaN where the
            ticket has no event yet.
        have: whether the ticket has any event at or before as_of.
        created_us: the ticket's creation (float64 microseconds).
        priority: the ticket's initial priority ("P1".."P3"; object array).
        lookup: the as-of context for these snapshots (accounts, other tickets, counters).
    """

    def __init__(
        self,
        state: EventState,
        tickets: pd.DataFrame,
        ticket_ids: np.ndarray,
        as_of_us: np.ndarray,
        context: FeatureContext,
    ) -> None:
        self.ticket_ids = np.asarray(ticket_ids, dtype=object)
        self.as_of_us = as_of_us
        self.t = as_of_us.astype("float64")
        rows = locate_rows(state, self.ticket_ids, as_of_us)
        self.have = rows >= 0
        take = np.where(self.have, rows, 0)
        # As_of before the ticket's first event: no state yet (NaN).
        self.state = {
            k: np.where(self.have, v[take], np.nan) if len(v) else np.full(len(rows), np.nan)
            for k, v in state.cols.items()
        }
        self._agent_names, self._team_names = state.agent_names, state.team_names
        tk_pos = positions(tickets["ticket_id"].to_numpy(dtype=object), self.ticket_ids)
        if (tk_pos < 0).any():
            raise ValueError("snapshots name tickets missing from the tickets table")
        self.created_us = to_us(tickets["created_at"])[tk_pos].astype("float64")
        self.priority = tickets["priority"].to_numpy(dtype=object)[tk_pos]
        self.lookup = context.lookup(self.ticket_ids)

    # -- the ticket's own events
    def count(self, col: str) -> np.ndarray:
        """A cumulative state count, 0 before the ticket's first event."""
        v = self.state[col]
        return np.where(np.isnan(v), 0.0, v)  # counts are finite: np.nan_to_num, but faster

    def flag(self, col: str) -> np.ndarray:
        """1.0 where a state count is positive, else 0.0."""
        return (self.count(col) > 0).astype("float64")

    @cached_property
    def waiting_h(self) -> np.ndarray:
        """Hours the customer has been waiting for a reply at as_of (0 if not waiting)."""
        wait_start = self.state["wait_start_us"]
        return np.where(np.isnan(wait_start), 0.0, (self.t - wait_start) / US_PER_H)

    @cached_property
    def priority_initial(self) -> np.ndarray:
        """The initial priority as a rank (1 = P1 .. 3 = P3; NaN if unknown)."""
        return map_values(self.priority, PRIO_RANK)

    # -- the first-response SLA (features/calendar.py holds the policy)
    @cached_property
    def calendar(self) -> Calendar:
        return business_calendar()

    @cached_property
    def t_h(self) -> np.ndarray:
        """as_of in epoch hours."""
        return self.t / US_PER_H

    @cached_property
    def created_h(self) -> np.ndarray:
        """Ticket creation in epoch hours."""
        return self.created_us / US_PER_H

    @cached_property
    def sla_answered(self) -> np.ndarray:
        """The first agent reply came at or before as_of."""
        first_agent = self.state["first_agent_us"]
        return ~np.isnan(first_agent) & (first_agent <= self.t)

    @cached_property
    def sla_hours(self) -> np.ndarray:
        """The first-response SLA of the initial priority, hours (NaN if unknown)."""
        return map_values(self.priority, SLA_HOURS)

    @cached_property
    def sla_used_h(self) -> np.ndarray:
        """SLA hours used from creation to the first reply, or to as_of while unanswered:
        business hours for business-hours priorities, else wall-clock hours."""
        business = map_values(self.priority, SLA_BUSINESS_HOURS, default=0.0) > 0
        cal = self.calendar
        until_h = np.where(self.sla_answered, self.state["first_agent_us"] / US_PER_H, self.t_h)
        return np.where(
            business,
            cal.cumulative(until_h) - cal.cumulative(self.created_h),
            until_h - self.created_h,
        )

    @cached_property
    def hours_since_epoch(self) -> np.ndarray:
        """Whole hours since the epoch at as_of (floor: right for any UTC instant)."""
        return self.as_of_us // US_PER_H

    # -- the as-of context
    @cached_property
    def as_of_h(self) -> np.ndarray:
        """as_of in epoch hours (from the integer microseconds)."""
        return self.as_of_us / US_PER_H

    @cached_property
    def arr(self) -> np.ndarray:
        """The account's ARR, USD (NaN if unknown)."""
        return self.lookup.account("arr", np.nan).astype("float64")

    @property
    def account_code(self) -> np.ndarray:
        """The ticket's account as a context code (-1: unknown)."""
        return self.lookup.account_code

    @property
    def area_code(self) -> np.ndarray:
        """The ticket's product area as a context code (-1: unknown)."""
        return self.lookup.area_code

    @cached_property
    def agent_current(self) -> np.ndarray:
        """The agent holding the ticket at as_of (None if none)."""
        return names(self.state["agent_code"], self._agent_names)

    @cached_property
    def team_current(self) -> np.ndarray:
        """The team holding the ticket at as_of (None if none)."""
        return names(self.state["team_code"], self._team_names)

    @cached_property
    def agent_code(self) -> np.ndarray:
        return self.lookup.codes("agent", self.agent_current)

    @cached_property
    def team_code(self) -> np.ndarray:
        return self.lookup.codes("team", self.team_current)

    def at(self, counter: str, codes: np.ndarray) -> np.ndarray:
        """A context counter's total for each snapshot's key code at as_of (inclusive)."""
        return self.lookup.counter(counter).at(codes, self.as_of_us)

    def window(self, counter: str, codes: np.ndarray, hours: float) -> np.ndarray:
        """A context counter's total in (as_of - hours, as_of]."""
        return self.lookup.counter(counter).window(codes, self.as_of_us, hours)
