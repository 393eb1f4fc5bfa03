"""Point-in-time features for (ticket, as_of) snapshots: one code path for training and serving.

A feature of (ticket, as_of) reads only what was known at as_of (inclusive): the ticket's events
with ``ts <= as_of``, other tickets' events with ``ts <= as_of``, account facts, and escalations
of other tickets with ``escalated_at <= as_of``. Outcome labels are never read here; the only
history of outcomes is the explicit ``escalations`` input, filtered by time like everything else.

The batch path is vectorised (cumulative group operations and as-of joins, no per-event Python
loops). :func:`build_ticket_features` scores one ticket with the same functions. The parts:
per-event ticket state (:mod:`features.state`), the as-of context (:mod:`features.context`)
and each feature's formula (:mod:`features.catalogue`, joined by :mod:`features.registry`).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.arrays import to_us
from features.context import FeatureContext
from features.inputs import SnapshotInputs
from features.registry import FEATURES
from features.state import EventState, event_state
from features.text import INTENTS

__all__ = [
    "EVENT_COLUMNS",
    "build_features",
    "build_ticket_features",
    "escalation_history",
    "make_snapshots",
    "snapshot_features",
]

# The event columns the per-event state reads (the batch job drops the rest before forking).
EVENT_COLUMNS = (
    "ticket_id",
    "ts",
    "event_type",
    "agent_id",
    "team",
    "tier",
    "status",
    "priority",
    "sentiment",
    "p_negative",
    "intensity",
    "length",
    *(f"intent_{i}" for i in INTENTS),
)


def snapshot_features(
    state: EventState,
    tickets: pd.DataFrame,
    snapshots: pd.DataFrame,
    context: FeatureContext,
    frame: bool = True,
) -> pd.DataFrame | dict[str, np.ndarray]:
    """Feature rows for snapshots (ticket_id, as_of) from per-event state and the context.

    Returns a frame with ticket_id, as_of, team (holding the ticket at as_of; a key, not a
    feature) and every registered feature, in registry order, in the order of ``snapshots``;
    with ``frame=False`` the features as a dict of arrays (the serving path, which has no use
    for a one-row frame).
    """
    x = SnapshotInputs(
        state,
        tickets,
        np.asarray(snapshots["ticket_id"], dtype=object),
        to_us(snapshots["as_of"]),
        context,
    )
    f = {feature.name: feature.formula(x) for feature in FEATURES}
    if not frame:
        return f
    keys = snapshots[["ticket_id", "as_of"]].reset_index(drop=True)
    # The team holding the ticket at as_of: a key for per-team alert budgets, not a feature.
    keys["team"] = pd.Series(x.team_current, dtype=object)
    return pd.concat([keys, pd.DataFrame(f, index=keys.index)], axis=1)


def escalation_history(
    outcomes: pd.DataFrame | None, tickets: pd.DataFrame
) -> pd.DataFrame | None:
    """Past escalations as (account_id, escalated_at), the only outcome data features may use."""
    if outcomes is None:
        return None
    esc = outcomes.dropna(subset=["escalated_at"])
    return pd.DataFrame(
        {
            "account_id": esc["ticket_id"]
            .map(tickets.set_index("ticket_id")["account_id"])
            .to_numpy(),
            "escalated_at": esc["escalated_at"].to_numpy(),
        }
    )


def build_features(
    accounts: pd.DataFrame,
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    snapshots: pd.DataFrame,
    escalations: pd.DataFrame | None = None,
    context: FeatureContext | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Features for many snapshots at once (the batch path).

    Args:
        events: sorted by (ticket_id, ts) with text signals attached.
        snapshots: ticket_id, as_of (UTC timestamps; inclusive).
        escalations: see :func:`escalation_history`.
        context: a prebuilt context (else built from the tables given).
        n_jobs: worker processes (default: 2 on large inputs where 2 CPUs are free, else 1);
            the result is the same for any value (running means may differ in the last bits,
            ~1e-13, as their sums run over other tickets).
    """
    context = context or FeatureContext.from_data(accounts, tickets, events, escalations)
    n_jobs = _jobs(n_jobs, len(events))
    if n_jobs == 1:
        state = event_state(events[list(EVENT_COLUMNS)], tickets)
        return snapshot_features(state, tickets, snapshots, context)
    # Tickets are independent given the shared context: split them across processes. Forked
    # workers inherit the inputs through the pool's initializer (no copying in) and return
    # their rows.
    ids = pd.Index(pd.unique(snapshots["ticket_id"].to_numpy(dtype=object)))
    work = _Work(
        events[list(EVENT_COLUMNS)],
        tickets,
        snapshots.reset_index(drop=True),
        context,
        pd.Series(np.arange(len(ids)) % n_jobs, index=ids),
    )
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        n_jobs, mp_context=fork, initializer=_start_worker, initargs=(work,)
    ) as pool:
        parts = list(pool.map(_build_part, range(n_jobs)))
    out = pd.concat([df for df, _ in parts], ignore_index=True)
    order = np.concatenate([pos for _, pos in parts])
    return out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def _jobs(n_jobs: int | None, n_events: int) -> int:
    """Processes for the batch path: one for small inputs, else up to the CPUs available."""
    if n_jobs is not None:
        return max(1, n_jobs)
    if n_events < 200_000:
        return 1
    return max(1, min(2, len(os.sched_getaffinity(0))))


@dataclass(frozen=True)
class _Work:
    """The inputs of a parallel batch job; ``part_of`` maps ticket_id -> part number."""

    events: pd.DataFrame
    tickets: pd.DataFrame
    snapshots: pd.DataFrame
    context: FeatureContext
    part_of: pd.Series


# Each worker's job, set once by the pool's initializer in the worker process itself (never in
# the parent, so concurrent batch jobs cannot see each other's inputs).
_worker_job: _Work | None = None


def _start_worker(work: _Work) -> None:
    global _worker_job
    _worker_job = work


def _build_part(k: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of part ``k`` and their positions among the job's snapshots (in a worker)."""
    work = _worker_job
    if work is None:
        raise RuntimeError("_build_part runs in a worker started by _start_worker")
    ev = work.events[work.events["ticket_id"].map(work.part_of).to_numpy() == k]
    mask = work.snapshots["ticket_id"].map(work.part_of).to_numpy() == k
    state = event_state(ev.reset_index(drop=True), work.tickets)
    rows = snapshot_features(state, work.tickets, work.snapshots[mask], work.context)
    return rows, np.flatnonzero(mask)


def build_ticket_features(
    ticket: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp,
    context: FeatureContext,
    frame: bool = True,
) -> pd.DataFrame | dict[str, np.ndarray]:
    """Features of one ticket at one instant (the serving path): exactly the batch code.

    Args:
        ticket: a one-row tickets frame.
        events: that ticket's events (any order), text signals attached.
        as_of: the scoring instant (UTC); must not be before the ticket was created.
        context: account and cross-ticket context (the service's store, or a batch context).
        frame: False returns the features as a dict of one-element arrays.
    """
    created = ticket["created_at"].iloc[0]
    if as_of < created:
        raise ValueError(f"as_of {as_of} is before the ticket was created ({created})")
    ts = to_us(events["ts"])
    if len(ts) > 1 and (np.diff(ts) < 0).any():  # requests may list events in any order
        events = events.iloc[np.argsort(ts, kind="stable")]
    state = event_state(events.reset_index(drop=True), ticket)
    as_of_col = pd.DatetimeIndex([as_of]).as_unit("us")
    ids = ticket["ticket_id"].to_numpy(dtype=object)[:1]
    if frame:
        snap = pd.DataFrame({"ticket_id": ids, "as_of": as_of_col})
        return snapshot_features(state, ticket, snap, context)
    return snapshot_features(state, ticket, {"ticket_id": ids, "as_of": as_of_col}, context, False)


def make_snapshots(events: pd.DataFrame, outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Scoring moments: every event on an open ticket, one per (ticket, instant).

    A moment is dropped once the ticket is closed (its close event included) and, when outcomes
    are given, from the escalation on (the question is already answered). ``weight`` is
    1 / (moments of the ticket), scaled to mean 1, so long tickets do not dominate training.
    Adds ``label`` (escalates after as_of) and ``hours_to_escalation`` when outcomes are given.
    """
    ev = events[["ticket_id", "ts", "event_type", "status"]]
    closing = (ev["event_type"] == "status_change") & (ev["status"] == "closed")
    closed_at = ev.loc[closing].groupby("ticket_id")["ts"].min()
    snaps = ev[["ticket_id", "ts"]].drop_duplicates(keep="last").rename(columns={"ts": "as_of"})
    close = snaps["ticket_id"].map(closed_at)
    snaps = snaps[close.isna() | (snaps["as_of"] < close)]
    if outcomes is not None:
        esc = snaps["ticket_id"].map(outcomes.set_index("ticket_id")["escalated_at"])
        keep = esc.isna() | (snaps["as_of"] < esc)
        snaps = snaps[keep]
        esc = esc[keep]
        snaps = snaps.assign(
            label=esc.notna().astype("int8"),
            hours_to_escalation=(esc - snaps["as_of"]).dt.total_seconds() / 3600.0,
        )
    n = snaps.groupby("ticket_id")["as_of"].transform("size").to_numpy()
    w = 1.0 / n
    snaps = snaps.assign(weight=w / w.mean())
    return snaps.reset_index(drop=True)
