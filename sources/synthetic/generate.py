"""A synthetic support organisation with ground truth: `escalation-risk generate`.

What it simulates, and where:

- the organisation (:mod:`~sources.synthetic.organisation`): accounts with heavy-tailed ARR and
  a per-account temperament, tickets arriving in business-hour and weekly rhythms plus outages
  that hit many accounts at once, agents in tiered teams with shifts and workloads;
- each new ticket (:mod:`~sources.synthetic.tickets`) and its conversation and process
  (:mod:`~sources.synthetic.process`): handoffs, bouncebacks, reopens, waiting on customer, SLA
  clocks, driven by a hidden frustration (:mod:`~sources.synthetic.state`), worded by
  :class:`~sources.synthetic.text.TextBank`;
- what customers demand (escalation, a manager, their executives, churn, legal) and whether the
  team defuses it (:mod:`~sources.synthetic.demands`), and harmless mentions of the same words;
- its escalation as three competing hazards, the desk's (tier), the customer's demand and a
  silent internal one driven by the account (:mod:`~sources.synthetic.escalation`); an
  account's escalations raise the silent hazard of its later tickets;
- ground truth (:mod:`~sources.synthetic.truth`): for a sample of tickets, the true probability
  of escalating after every scoring moment, written to ``ground_truth.parquet`` beside (never
  inside) the support-data tables (:mod:`~sources.synthetic.tables`).

Deterministic for a seed: the same config gives the same bytes of content.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from features.calendar import BUSINESS_HOURS, Calendar, to_epoch_hours
from features.schema import SupportData, write_dataset
from sources.synthetic.escalation import escalate, place_escalation
from sources.synthetic.organisation import (
    FRONTLINE_HOURS,
    SPECIALIST_HOURS,
    START,
    AgentPool,
    draw_arrivals,
    make_accounts,
    team_sizes,
)
from sources.synthetic.outages import OUTAGE_FILE, outage_truth
from sources.synthetic.process import Environment, TicketProcess
from sources.synthetic.summary import describe
from sources.synthetic.tables import assemble_tables
from sources.synthetic.text import TextBank
from sources.synthetic.tickets import new_ticket
from sources.synthetic.truth import StepSnapshots, truth_rows

log = logging.getLogger(__name__)

YEAR_H = 365.0 * 24.0


@dataclass(frozen=True)
class GeneratorConfig:
    """Settings of one synthetic organisation."""

    n_tickets: int = 5000
    seed: int = 7
    days: int = 180
    outage_share: float = 0.06
    truth_fraction: float = 0.05
    truth_replicates: int = 16


def simulate(cfg: GeneratorConfig, progress: bool = True) -> tuple[SupportData, pd.DataFrame]:
    """Simulate the organisation. Returns validated tables and the ground-truth frame.

    The ground-truth frame has columns ticket_id, as_of (UTC), p_true, frustration and
    escalation_source (how the ticket escalated in the end: customer, process, internal; null
    if it did not).
    """
    nprng = np.random.default_rng(cfg.seed)
    accounts = make_accounts(cfg.n_tickets, nprng)
    created, acc_idx, outage_idx, outages = draw_arrivals(
        cfg.n_tickets, cfg.days, cfg.outage_share, accounts, nprng
    )
    t0 = START.value / 3.6e12
    horizon_end = t0 + (cfg.days + 90) * 24.0
    frontline = Calendar(FRONTLINE_HOURS, t0 - 48, horizon_end + 24 * 60)
    specialist = Calendar(SPECIALIST_HOURS, t0 - 48, horizon_end + 24 * 60)
    business = Calendar(BUSINESS_HOURS, t0 - 48, horizon_end + 24 * 60)
    pool = AgentPool(
        team_sizes(cfg.n_tickets, cfg.days), int(horizon_end - t0) + 24 * 60, t0, cfg.seed + 1
    )
    env = Environment(frontline, specialist, pool.choose)
    tb = TextBank()
    process = TicketProcess(env, tb, commit=True)
    truth_process = TicketProcess(env, None)

    acc_records = accounts.assign(
        renewal_h=to_epoch_hours(accounts["renewal_date"]),
        temper=accounts["_temper"],
    )[["account_id", "arr", "strategic", "renewal_h", "temper"]].to_dict("records")
    outage_records = outages.to_dict("records")

    rng = random.Random(cfg.seed)
    truth_rng = random.Random(cfg.seed + 2)
    events: list[tuple] = []
    ev_ticket: list[int] = []
    tickets: list[dict[str, Any]] = []
    outcomes: list[tuple] = []
    truth: list[tuple] = []
    escalated_at: dict[int, list[float]] = {}  # account row -> its escalation times
    n = len(created)
    for i in tqdm(range(n), desc="tickets", disable=not progress, mininterval=1.0):
        account = acc_records[acc_idx[i]]
        outage = outage_records[outage_idx[i]] if outage_idx[i] >= 0 else None
        t = float(created[i])
        history = sum(1 for e in escalated_at.get(acc_idx[i], ()) if t - YEAR_H <= e < t)
        s, meta = new_ticket(rng, t, account, outage, business, history)
        steps = StepSnapshots() if rng.random() < cfg.truth_fraction else None
        out: list[tuple] = []
        segments: list[tuple] = []
        process.open(s, rng, out)
        if steps is not None:
            steps(s, len(out))
        subject = tb.subject(rng, s.category, s.area, s.outage)
        process.run(s, rng, out, segments, steps)
        tau = place_escalation(segments, s.t, rng.expovariate(1.0))
        ticket_id = f"T{i:07d}"
        source = None
        if tau is not None:
            # Everything from the escalation on is replaced by its handling.
            out, source, etype, kind = escalate(rng, tb, s, out, segments, tau)
            outcomes.append((ticket_id, tau, etype, kind))
            escalated_at.setdefault(acc_idx[i], []).append(tau)
        else:
            outcomes.append((ticket_id, None, None, None))
        if steps is not None:
            # Before this ticket books its agents: the re-simulated futures see the load of the
            # tickets created before it, as the ticket itself did.
            truth.extend(
                truth_rows(
                    truth_process,
                    ticket_id,
                    steps,
                    out,
                    tau,
                    truth_rng,
                    cfg.truth_replicates,
                    source,
                )
            )
        # Agent occupancy: each assignment holds the agent until the next one or the close.
        holds = [(e[0], e[3]) for e in out if e[1] == "assignment" and e[3] is not None]
        end = out[-1][0]
        for k, (start, agent) in enumerate(holds):
            pool.hold(agent, start, holds[k + 1][0] if k + 1 < len(holds) else end)
        events.extend(out)
        ev_ticket.extend([i] * len(out))
        tickets.append(
            {
                "ticket_id": ticket_id,
                "account_id": account["account_id"],
                "created_at": created[i],
                "subject": subject,
                "closed_at": end,
                **meta,
            }
        )

    return assemble_tables(accounts, tickets, events, ev_ticket, outcomes, truth)


def generate_dataset(cfg: GeneratorConfig, out: str | Path, progress: bool = True) -> dict:
    """Simulate and write the tables plus ``ground_truth.parquet``; return a summary.

    The summary holds the config, the seconds taken, the file sizes in bytes and the base
    rates of :func:`~sources.synthetic.summary.describe`.
    """
    started = time.perf_counter()
    data, truth = simulate(cfg, progress=progress)
    sizes = write_dataset(data, out)
    truth_file = Path(out) / "ground_truth.parquet"
    truth.to_parquet(truth_file, index=False, compression="zstd")
    sizes[truth_file.name] = truth_file.stat().st_size
    # Which ticket came from which outage: ground truth for grouping, never a feature.
    outage_file = Path(out) / OUTAGE_FILE
    outage_truth(cfg.n_tickets, cfg.seed, cfg.days, cfg.outage_share).to_parquet(
        outage_file, index=False
    )
    sizes[outage_file.name] = outage_file.stat().st_size
    summary = {
        "config": asdict(cfg),
        "seconds": round(time.perf_counter() - started, 1),
        "file_bytes": sizes,
        **describe(data),
        "ground_truth_rows": len(truth),
    }
    log.info("wrote %s in %.1f s", out, summary["seconds"])
    return summary
