"""A synthetic support organisation with ground truth: `escalation-risk generate`.

What it simulates (see data/README.md for the tables and sources/synthetic/simulate.py for one ticket):

- accounts with heavy-tailed ARR (many small, a few strategic $500k+), plans, regions, renewals,
  and a per-account temperament (so account history carries signal);
- tickets arriving in business-hour and weekly rhythms of the account's region, plus outages that
  hit many accounts at once in one product area;
- agents in teams at tiers 1/2/3 with shifts (tier 1 follows the sun, tiers 2/3 work weekdays) and
  a workload that slows replies when an agent holds many open tickets;
- each ticket's conversation and process (handoffs, bouncebacks, reopens, waiting on customer,
  SLA clocks) driven by a hidden frustration, and its escalation as a hazard process;
- ground truth: for a sample of tickets, the true probability of escalating after every scoring
  moment, written to ``ground_truth.parquet`` beside (never inside) the support-data tables.

Deterministic for a seed: the same config gives the same bytes of content.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from features.calendar import (
    BUSINESS_HOURS,
    Calendar,
    WeeklyHours,
    sla_deadline,
    sla_deadlines,
    to_epoch_hours,
)
from features.schema import SupportData, validate_tables, write_dataset
from sources.synthetic.simulate import (
    B_ARR,
    B_STRATEGIC,
    CATEGORY_TO_TYPE,
    Environment,
    TicketProcess,
    TicketState,
    tier2_team,
    true_probability,
)
from sources.synthetic.text import TextBank

log = logging.getLogger(__name__)

START = pd.Timestamp("2026-01-05T00:00:00Z")  # a Monday
FRONTLINE_HOURS = WeeklyHours(((0, 24),) * 5 + ((8, 20), (8, 20)))
SPECIALIST_HOURS = WeeklyHours(((7, 19),) * 5 + (None, None))

CATEGORIES = ("billing", "technical", "howto", "contract", "security")
CATEGORY_P = (0.18, 0.42, 0.22, 0.08, 0.10)
CATEGORY_F0 = {
    "billing": 0.08,
    "technical": 0.03,
    "howto": -0.04,
    "contract": 0.06,
    "security": 0.10,
}
# How often a reply at the right tier moves the ticket forward, by category; a misrouted ticket
# bounces back from a specialist team with BOUNCE_P.
HELPFULNESS = {"howto": 0.8, "billing": 0.7, "technical": 0.6, "contract": 0.65, "security": 0.6}
BOUNCE_P = 0.15
CHANNELS = ("email", "web", "chat", "phone")
CHANNEL_P = (0.42, 0.25, 0.22, 0.11)
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_P = (0.45, 0.32, 0.15, 0.08)
REGION_UTC_OFFSET = {"NA": -6, "EMEA": 1, "APAC": 8, "LATAM": -4}
INDUSTRIES = (
    "software",
    "finance",
    "healthcare",
    "retail",
    "manufacturing",
    "education",
    "media",
    "logistics",
    "government",
    "telecom",
)
TECH_AREAS = (
    "api",
    "integrations",
    "reporting",
    "mobile_app",
    "data_sync",
    "notifications",
    "webhooks",
    "admin_console",
    "authentication",
)
NEEDED_TIER_P = {  # P(tier 1), P(tier 2), P(tier 3) needed to solve
    "howto": (0.9, 0.1, 0.0),
    "billing": (0.6, 0.4, 0.0),
    "technical": (0.5, 0.38, 0.12),
    "security": (0.0, 0.7, 0.3),
    "contract": (0.1, 0.9, 0.0),
}
TEAMS_BY_TIER = {
    1: ("frontline",),
    2: (
        "billing_ops",
        "account_management",
        "security_ops",
        "product_specialists",
        "integrations_specialists",
    ),
    3: ("engineering", "sre", "escalation_management"),
}
# Local-time arrival weights per hour of day (business-hours rhythm).
_HOUR_W = np.array(
    [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 17, 15, 17, 18, 17, 15, 11, 7, 5, 4, 3, 2, 1], dtype=float
)
_WEEKDAY_W = np.array([1.0, 1.05, 1.0, 0.98, 0.9, 0.22, 0.18])


@dataclass(frozen=True)
class GeneratorConfig:
    """Settings of one synthetic organisation."""

    n_tickets: int = 5000
    seed: int = 7
    days: int = 180
    outage_share: float = 0.06
    truth_fraction: float = 0.05
    truth_replicates: int = 8


class AgentPool:
    """Agents per team with shifts, and their open-ticket occupancy per hour.

    Occupancy counts the tickets each agent holds, hour by hour; an agent holding more than the
    team's usual load replies more slowly.
    """

    def __init__(self, teams: dict[str, int], hours_total: int, origin_h: float, seed: int):
        rng = random.Random(seed)
        self.origin = origin_h
        self.hours_total = hours_total
        self.agents: dict[str, list[str]] = {}
        self.on_duty: dict[str, list[list[int]]] = {}
        self.index: dict[str, int] = {}
        n = 0
        for team, size in teams.items():
            ids = []
            duty: list[list[int]] = [[] for _ in range(168)]
            for _ in range(size):
                agent = f"ag{n:04d}"
                self.index[agent] = n
                n += 1
                ids.append(agent)
                tier1 = team == "frontline"
                offset = rng.choice((0, 8, 16)) if tier1 else rng.choice((7, 8, 9, 10))
                for how in range(168):
                    day, hour = divmod(how, 24)
                    if not tier1 and day >= 5:
                        continue
                    if (hour - offset) % 24 < 9:
                        duty[how].append(len(ids) - 1)
            self.agents[team] = ids
            self.on_duty[team] = duty
        self.occupancy = np.zeros((n, hours_total + 1), dtype=np.int16)
        self.usual = {team: 1.0 for team in teams}

    def _hour(self, t: float) -> int:
        return min(max(int(t - self.origin), 0), self.hours_total)

    def choose(self, team: str, t: float, rng: random.Random, commit: bool) -> tuple[str, float]:
        """Pick an on-duty agent (lighter of two random picks); return (agent, reply slowdown)."""
        ids = self.agents[team]
        how = (int(t) + 72) % 168  # epoch hour 0 is a Thursday 00:00: +72 h makes Monday 0
        duty = self.on_duty[team][how] or range(len(ids))
        h = self._hour(t)
        a = ids[duty[int(rng.random() * len(duty))]]
        b = ids[duty[int(rng.random() * len(duty))]]
        la = self.occupancy[self.index[a], h]
        lb = self.occupancy[self.index[b], h]
        agent, load = (a, la) if la <= lb else (b, lb)
        usual = self.usual[team]
        if commit:
            self.usual[team] = 0.98 * usual + 0.02 * float(load)
        return agent, min(3.0, max(0.6, (1.0 + load) / (1.0 + usual)))

    def hold(self, agent: str, start: float, end: float) -> None:
        self.occupancy[self.index[agent], self._hour(start) : self._hour(end) + 1] += 1


def _accounts(cfg: GeneratorConfig, rng: np.random.Generator) -> pd.DataFrame:
    n = max(30, cfg.n_tickets // 15)
    arr = np.round(np.minimum(15000.0 * np.exp(1.25 * rng.standard_normal(n)), 5e6), -2)
    arr = np.maximum(arr, 1200.0)
    strategic = (arr >= 400_000) | ((arr >= 150_000) & (rng.random(n) < 0.3))
    plan = np.select(
        [arr < 10_000, arr < 50_000, arr < 200_000], ["starter", "pro", "business"], "enterprise"
    )
    created = START - pd.to_timedelta(rng.uniform(30, 2000, n).round(3), unit="D")
    # Annual contracts: the next anniversary of the account's creation after the start.
    years = np.ceil((START - created).days.to_numpy() / 365.25)
    renewal = created + pd.to_timedelta(years * 365.25, unit="D")
    region = rng.choice(REGIONS, n, p=REGION_P)
    # Missing firmographics happen in real CRMs; keep a few to exercise the NaN paths.
    industry = rng.choice(INDUSTRIES, n).astype(object)
    industry[rng.random(n) < 0.03] = None
    return pd.DataFrame(
        {
            "account_id": [f"acc{i:05d}" for i in range(n)],
            "arr": arr,
            "plan": plan,
            "strategic": strategic,
            "region": region,
            "industry": industry,
            "created_at": created.floor("s"),
            "renewal_date": renewal.floor("s"),
            "_temper": rng.normal(0.0, 0.08, n),
        }
    )


def _arrivals(cfg: GeneratorConfig, accounts: pd.DataFrame, rng: np.random.Generator):
    """Ticket creation times, accounts, outage membership (arrays sorted by time)."""
    n_out = int(round(cfg.n_tickets * cfg.outage_share))
    n_reg = cfg.n_tickets - n_out
    w = accounts["arr"].to_numpy() ** 0.4
    w /= w.sum()
    acc = rng.choice(len(accounts), n_reg, p=w)
    offsets = accounts["region"].map(REGION_UTC_OFFSET).to_numpy()[acc]
    day_w = np.tile(_WEEKDAY_W, cfg.days // 7 + 1)[: cfg.days]
    day = rng.choice(cfg.days, n_reg, p=day_w / day_w.sum())
    local_hour = rng.choice(24, n_reg, p=_HOUR_W / _HOUR_W.sum())
    t0 = START.value / 3.6e12
    created = t0 + day * 24.0 + local_hour - offsets + rng.random(n_reg)
    created = np.maximum(created, t0)
    outage_id = np.full(n_reg, -1)

    n_outages = max(2, cfg.days // 12)
    o_start = t0 + rng.uniform(0, cfg.days * 24.0 - 12, n_outages)
    o_dur = np.clip(rng.lognormal(np.log(3.0), 0.6, n_outages), 0.75, 12.0)
    o_area = rng.choice(
        ("api", "data_sync", "notifications", "authentication", "webhooks", "reporting"),
        n_outages,
    )
    share = o_dur / o_dur.sum()
    o_counts = rng.multinomial(n_out, share)
    o_idx = np.repeat(np.arange(n_outages), o_counts)
    o_acc = rng.choice(len(accounts), n_out, p=w)
    # Most reports come early in an outage.
    o_created = o_start[o_idx] + o_dur[o_idx] * rng.beta(1.2, 3.0, n_out)
    created = np.concatenate([created, o_created])
    acc = np.concatenate([acc, o_acc])
    outage_id = np.concatenate([outage_id, o_idx])
    order = np.argsort(created, kind="stable")
    outages = pd.DataFrame({"start": o_start, "end": o_start + o_dur, "area": o_area})
    return created[order], acc[order], outage_id[order], outages


def _team_sizes(cfg: GeneratorConfig) -> dict[str, int]:
    per_day = cfg.n_tickets / cfg.days
    sizes = {"frontline": max(6, math.ceil(per_day / 9))}
    for team in TEAMS_BY_TIER[2]:
        sizes[team] = max(2, math.ceil(per_day * 0.12 / 5))
    for team in TEAMS_BY_TIER[3]:
        sizes[team] = max(2, math.ceil(per_day * 0.06 / 4))
    return sizes


def _initial_state(
    rng: random.Random,
    t: float,
    account: dict[str, Any],
    outage: dict[str, Any] | None,
    business: Calendar,
) -> tuple[TicketState, dict[str, Any]]:
    if outage is not None:
        category, area = "technical", outage["area"]
        priority = "P1" if rng.random() < 0.4 else ("P2" if rng.random() < 0.8 else "P3")
        needed = 3
    else:
        category = rng.choices(CATEGORIES, CATEGORY_P)[0]
        if category == "billing":
            area = "billing_portal" if rng.random() < 0.8 else "admin_console"
        elif category == "contract":
            area = rng.choice(("admin_console", "billing_portal"))
        elif category == "security":
            area = rng.choice(("authentication", "admin_console", "api"))
        else:
            area = rng.choice(TECH_AREAS)
        p1 = {"security": 0.25, "technical": 0.1}.get(category, 0.04) + 0.06 * account["strategic"]
        u = rng.random()
        priority = (
            "P1" if u < p1 else ("P2" if u < p1 + 0.35 + 0.1 * account["strategic"] else "P3")
        )
        needed = rng.choices((1, 2, 3), NEEDED_TIER_P[category])[0]
    channel = rng.choices(CHANNELS, CHANNEL_P)[0]
    days_to_renewal = (account["renewal_h"] - t) / 24.0
    f0 = (
        0.12
        + CATEGORY_F0[category]
        + account["temper"]
        + 0.18 * (outage is not None)
        + 0.06 * (0 <= days_to_renewal <= 60)
        + rng.gauss(0.0, 0.04)
    )
    s = TicketState()
    s.t = t
    s.created = t
    s.F = min(0.9, max(0.0, f0))
    s.status = "new"
    s.tier, s.team, s.agent = 1, None, None
    s.needed_tier = needed
    s.priority = priority
    s.breached = s.responded = s.unanswered = s.reopens = s.threat = 0
    s.wait_since = t
    s.visited = set()
    s.clocks = {}
    s.outage = outage is not None
    s.outage_end = outage["end"] if outage is not None else 0.0
    s.category, s.area, s.channel = category, area, channel
    s.arr_term = (
        B_ARR * math.log10(max(account["arr"], 1.0) / 30000.0) + B_STRATEGIC * account["strategic"]
    )
    s.strategic = int(account["strategic"])
    s.bounce_p = BOUNCE_P
    s.load_mult = 1.0
    s.helpfulness = HELPFULNESS[category]
    s.sla_due = sla_deadline(t, priority, business)
    meta = {"category": category, "product_area": area, "channel": channel, "priority": priority}
    return s, meta


def _place_escalation(segments: list, end: float, u_exp: float) -> float | None:
    """The time when the cumulative hazard first reaches ``u_exp`` before ``end``, or None.

    ``segments`` are (start, cumulative hazard at start, hazard per hour) of consecutive gaps.
    """
    for i, (t_start, lam_start, h) in enumerate(segments):
        t_end = segments[i + 1][0] if i + 1 < len(segments) else end
        if h > 0:
            t_hit = t_start + (u_exp - lam_start) / h
            if t_start <= t_hit < t_end:
                return t_hit
    return None


def _escalation_events(
    rng: random.Random, tb: TextBank, s: TicketState, tau: float, kind: str, etype: str
) -> list[tuple]:
    """What happens on a ticket once it escalated: the hand-over and a resolution."""
    if kind == "hierarchical":
        team, tier, voice = "escalation_management", 3, 4
    else:
        team = {
            "billing_dispute": "billing_ops",
            "contract_legal": "account_management",
            "security": "security_ops",
            "technical_failure": "engineering",
            "other": tier2_team("howto", s.area),
        }[etype]
        tier = 3 if team == "engineering" else 2
        voice = tier
        if team == s.team:  # a functional escalation goes sideways, to another team
            team, tier, voice = "escalation_management", 3, 4
    t = tau
    note = tb.internal_note(rng, "escalation", s.category, s.area, s.tier)
    ev = [(t, "internal_note", "agent", s.agent, None, None, None, None, None, note)]
    t += 60 / 3600
    ev.append((t, "assignment", "agent", s.agent, team, tier, None, None, None, None))
    agent = f"{team}-lead"
    t += rng.uniform(0.1, 1.0)
    ack = tb.agent_message(rng, "escalation_ack", s.category, s.area, voice)
    ev.append((t, "agent_message", "agent", agent, None, None, None, None, None, ack))
    t += 30 / 3600
    ev.append((t, "status_change", "agent", agent, None, None, "open", None, None, None))
    t += rng.lognormvariate(math.log(8.0), 0.8)
    done = tb.agent_message(rng, "resolution", s.category, s.area, voice)
    ev.append((t, "agent_message", "agent", agent, None, None, None, None, None, done))
    t += 30 / 3600
    ev.append((t, "status_change", "agent", agent, None, None, "solved", None, None, None))
    t += rng.lognormvariate(math.log(40.0), 0.35)
    ev.append((t, "status_change", "system", None, None, None, "closed", None, None, None))
    return ev


def simulate(cfg: GeneratorConfig, progress: bool = True) -> tuple[SupportData, pd.DataFrame]:
    """Simulate the organisation. Returns validated tables and the ground-truth frame."""
    nprng = np.random.default_rng(cfg.seed)
    accounts = _accounts(cfg, nprng)
    created, acc_idx, outage_idx, outages = _arrivals(cfg, accounts, nprng)
    t0 = START.value / 3.6e12
    horizon_end = t0 + (cfg.days + 90) * 24.0
    frontline = Calendar(FRONTLINE_HOURS, t0 - 48, horizon_end + 24 * 60)
    specialist = Calendar(SPECIALIST_HOURS, t0 - 48, horizon_end + 24 * 60)
    business = Calendar(BUSINESS_HOURS, t0 - 48, horizon_end + 24 * 60)
    pool = AgentPool(_team_sizes(cfg), int(horizon_end - t0) + 24 * 60, t0, cfg.seed + 1)
    env = Environment(frontline, specialist, pool.choose)
    tb = TextBank()
    process = TicketProcess(env, tb)
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
    n = len(created)
    for i in tqdm(range(n), desc="tickets", disable=not progress, mininterval=1.0):
        account = acc_records[acc_idx[i]]
        outage = outage_records[outage_idx[i]] if outage_idx[i] >= 0 else None
        s, meta = _initial_state(rng, float(created[i]), account, outage, business)
        with_truth = rng.random() < cfg.truth_fraction
        out: list[tuple] = []
        segments: list[tuple] = []
        snapshots: list[tuple[int, TicketState]] = []

        def on_step(state: TicketState, n_events: int, snaps=snapshots) -> None:
            snaps.append((n_events, state.copy()))

        process.open(s, rng, out)
        if with_truth:
            on_step(s, len(out))
        subject = tb.subject(rng, s.category, s.area, s.outage)
        process.run(s, rng, out, segments, on_step if with_truth else None)
        tau = _place_escalation(segments, s.t, rng.expovariate(1.0))
        ticket_id = f"T{i:07d}"
        if tau is not None:
            # Everything from the escalation on is replaced by its handling.
            keep = [e for e in out if e[0] < tau]
            state_at = s  # the final state; only used for team/agent/category text
            last = next((e for e in reversed(keep) if e[1] == "assignment"), None)
            if last is not None:
                state_at = s.copy()
                state_at.team, state_at.agent, state_at.tier = last[4], last[3], last[5]
            etype = CATEGORY_TO_TYPE[s.category]
            if s.threat and rng.random() < 0.3:
                etype = "contract_legal"
            kind = (
                "hierarchical"
                if rng.random() < 0.45 + 0.3 * s.strategic + 0.2 * (s.F > 0.8)
                else "functional"
            )
            out = keep + _escalation_events(rng, tb, state_at, tau, kind, etype)
            outcomes.append((ticket_id, tau, etype, kind))
        else:
            outcomes.append((ticket_id, None, None, None))
        if with_truth:
            # One re-simulation per step; every event that step emitted is a scoring moment
            # (they are seconds apart, and the state after the step is what drives the future).
            done = 0
            for n_events, state in snapshots:
                moments = [e[0] for e in out[done:n_events] if tau is None or e[0] < tau]
                done = n_events
                if not moments:
                    continue
                p = true_probability(truth_process, state, truth_rng, cfg.truth_replicates)
                truth.extend((ticket_id, m, p, state.F) for m in moments)
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

    return _assemble(accounts, tickets, events, ev_ticket, outcomes, truth)


def _hours_to_ts(h: np.ndarray | pd.Series) -> pd.Series:
    us = np.round(np.asarray(h, dtype="float64") * 3.6e9)
    return pd.Series(pd.to_datetime(pd.array(us, dtype="Int64"), unit="us", utc=True))


def _assemble(accounts, tickets, events, ev_ticket, outcomes, truth):
    tdf = pd.DataFrame(tickets)
    tdf["created_at"] = _hours_to_ts(tdf["created_at"])
    tdf["closed_at"] = _hours_to_ts(tdf["closed_at"])
    tdf = tdf[
        [
            "ticket_id",
            "account_id",
            "created_at",
            "channel",
            "product_area",
            "priority",
            "subject",
            "closed_at",
        ]
    ]
    cols = [
        "ts",
        "event_type",
        "actor",
        "agent_id",
        "team",
        "tier",
        "status",
        "priority",
        "csat",
        "text",
    ]
    edf = pd.DataFrame.from_records(events, columns=cols)
    edf.insert(0, "ticket_id", tdf["ticket_id"].to_numpy()[np.asarray(ev_ticket)])
    edf["ts"] = _hours_to_ts(edf["ts"])
    edf["tier"] = edf["tier"].astype("Int64")
    edf["csat"] = edf["csat"].astype("Int64")
    odf = pd.DataFrame.from_records(
        outcomes, columns=["ticket_id", "escalated_at", "escalation_type", "escalation_kind"]
    )
    odf["escalated_at"] = _hours_to_ts(odf["escalated_at"].astype("float64"))
    adf = accounts.drop(columns=["_temper"])
    data = validate_tables(adf, tdf, edf, odf, files={"events": "generated events"})
    gt = pd.DataFrame.from_records(truth, columns=["ticket_id", "as_of", "p_true", "frustration"])
    gt["as_of"] = _hours_to_ts(gt["as_of"])
    return data, gt


def generate_dataset(cfg: GeneratorConfig, out: str | Path, progress: bool = True) -> dict:
    """Simulate and write the tables plus ``ground_truth.parquet``; return a summary."""
    started = time.perf_counter()
    data, truth = simulate(cfg, progress=progress)
    sizes = write_dataset(data, out)
    truth_file = Path(out) / "ground_truth.parquet"
    truth.to_parquet(truth_file, index=False, compression="zstd")
    sizes[truth_file.name] = truth_file.stat().st_size
    summary = {
        "config": asdict(cfg),
        "seconds": round(time.perf_counter() - started, 1),
        "file_bytes": sizes,
        **describe(data),
        "ground_truth_rows": len(truth),
    }
    log.info("wrote %s in %.1f s", out, summary["seconds"])
    return summary


def describe(data: SupportData) -> dict[str, Any]:
    """Base rates of a data set: escalation, reopen, SLA breach, handoffs, sizes."""
    ev = data.events
    tk = data.tickets
    n = len(tk)
    per_ticket = ev.groupby("ticket_id", sort=False)
    reopened = per_ticket["event_type"].agg(lambda s: (s == "reopened").any())
    first_agent = ev[ev["event_type"] == "agent_message"].groupby("ticket_id")["ts"].min()
    first_resp_h = (
        first_agent.reindex(tk["ticket_id"]).to_numpy() - tk["created_at"].to_numpy()
    ) / np.timedelta64(1, "h")
    business = Calendar(
        BUSINESS_HOURS,
        float(tk["created_at"].min().value / 3.6e12) - 48,
        float(tk["closed_at"].max().value / 3.6e12) + 24 * 30,
    )
    created_h = to_epoch_hours(tk["created_at"])
    deadline = sla_deadlines(created_h, tk["priority"].to_numpy(), business)
    answered_h = created_h + first_resp_h
    breached = ~(answered_h <= deadline)
    assignments = ev[ev["event_type"] == "assignment"].groupby("ticket_id").size()
    out: dict[str, Any] = {
        "accounts": len(data.accounts),
        "tickets": n,
        "events": len(ev),
        "events_per_ticket": round(len(ev) / n, 1),
        "reopen_rate": round(float(reopened.mean()), 4),
        "sla_breach_rate": round(float(breached.mean()), 4),
        "median_first_response_h": round(float(np.nanmedian(first_resp_h)), 2),
        "handoff_rate": round(
            float((assignments.reindex(tk["ticket_id"]).fillna(0) > 1).mean()), 4
        ),
        "strategic_accounts": int(data.accounts["strategic"].sum()),
        "arr_p50": float(data.accounts["arr"].median()),
        "arr_p99": float(data.accounts["arr"].quantile(0.99)),
    }
    if data.outcomes is not None:
        esc = data.outcomes["escalated_at"].notna()
        out["escalation_rate"] = round(float(esc.mean()), 4)
        lead = (
            data.outcomes.set_index("ticket_id")["escalated_at"]
            .reindex(tk["ticket_id"])
            .to_numpy()
            - tk["created_at"].to_numpy()
        ) / np.timedelta64(1, "h")
        out["median_hours_to_escalation"] = round(float(np.nanmedian(lead)), 1)
        out["escalation_types"] = (
            data.outcomes.loc[esc, "escalation_type"].value_counts().astype(int).to_dict()
        )
    return out
