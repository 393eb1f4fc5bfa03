"""Ground truth: the true probability that a synthetic ticket escalates after each moment.

The path before escalation does not depend on the escalation draw, so the true probability that
a ticket escalates after time t, given its full state at t, is ``1 - E[exp(-Lambda(t, end))]``
over futures simulated from that state: :func:`true_probability` estimates it by re-simulation
(Rao-Blackwellised, so a few replicates suffice). The rows go to ``ground_truth.parquet``
beside, never inside, the support-data tables.
"""

from __future__ import annotations

import math
import random

from sources.synthetic.process import TicketProcess
from sources.synthetic.state import TicketState


def true_probability(
    process: TicketProcess,
    state: TicketState,
    rng: random.Random,
    replicates: int,
    h_scale: float = 1.0,
) -> float:
    """P(escalates after state.t | state): mean over re-simulated futures of 1 - exp(-Lambda)."""
    survive = 0.0
    for _ in range(replicates):
        s = state.copy()
        process.redraw(s, rng)
        lam = process.run(s, rng, None)
        survive += math.exp(-h_scale * lam)
    return 1.0 - survive / replicates


class StepSnapshots:
    """Collects (events emitted so far, copy of the state) after each step of a ticket.

    Pass it as ``on_step`` to :meth:`TicketProcess.run`, and call it once after
    :meth:`TicketProcess.open` for the state the opening events leave.
    """

    def __init__(self) -> None:
        self.snapshots: list[tuple[int, TicketState]] = []

    def __call__(self, state: TicketState, n_events: int) -> None:
        self.snapshots.append((n_events, state.copy()))


def truth_rows(
    process: TicketProcess,
    ticket_id: str,
    steps: StepSnapshots,
    events: list[tuple],
    escalated_at: float | None,
    rng: random.Random,
    replicates: int,
    source: str | None = None,
) -> list[tuple[str, float, float, float, str | None]]:
    """Rows (ticket_id, as_of in epoch hours, p_true, frustration, source) for one ticket.

    ``events`` are the ticket's final event tuples (time first); only moments before the
    escalation get a row. ``process`` re-simulates without text (and without booking agents).
    ``source`` is how the ticket escalated in the end (customer, process, internal; None if it
    did not), repeated on each row for evaluation by channel.
    """
    rows: list[tuple[str, float, float, float, str | None]] = []
    # One re-simulation per step; every event that step emitted is a scoring moment
    # (they are seconds apart, and the state after the step is what drives the future).
    done = 0
    for n_events, state in steps.snapshots:
        moments = [
            e[0] for e in events[done:n_events] if escalated_at is None or e[0] < escalated_at
        ]
        done = n_events
        if not moments:
            continue
        p = true_probability(process, state, rng, replicates)
        rows.extend((ticket_id, m, p, state.F, source) for m in moments)
    return rows
