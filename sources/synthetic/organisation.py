"""The synthetic support organisation: accounts, ticket arrivals, outages and agents.

- accounts with heavy-tailed ARR (many small, a few strategic $500k+), plans, regions, renewals,
  and a per-account temperament (so account history carries signal);
- tickets arriving in business-hour and weekly rhythms of the account's region, plus outages that
  hit many accounts at once in one product area;
- agents in teams at tiers 1/2/3 with shifts (tier 1 follows the sun, tiers 2/3 work weekdays) and
  a workload that slows replies when an agent holds many open tickets.

Times are epoch hours (hours since 1970-01-01 UTC) unless a column says otherwise.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd

from features.calendar import WeeklyHours

START = pd.Timestamp("2026-01-05T00:00:00Z")  # a Monday
FRONTLINE_HOURS = WeeklyHours(((0, 24),) * 5 + ((8, 20), (8, 20)))
SPECIALIST_HOURS = WeeklyHours(((7, 19),) * 5 + (None, None))

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


def make_accounts(n_tickets: int, rng: np.random.Generator) -> pd.DataFrame:
    """Accounts for an organisation of ``n_tickets``: one per 15 tickets, at least 30.

    Columns: the ``accounts`` table of features.schema plus ``_temper``, the account's hidden
    share of a ticket's starting frustration (dropped before the table is written).
    """
    n = max(30, n_tickets // 15)
    arr = np.round(np.minimum(15000.0 * np.exp(1.25 * rng.standard_normal(n)), 5e6), -2)
    arr = np.maximum(arr, 1200.0)
    strategic = (arr >= 400_000) | ((arr >= 100_000) & (rng.random(n) < 0.35))
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


def draw_arrivals(
    n_tickets: int,
    days: int,
    outage_share: float,
    accounts: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Ticket creation times (epoch hours), account rows, outage ids (-1: none), outages.

    The arrays are sorted by time. Outages (columns start, end in epoch hours, and area) hit
    many accounts at once in one product area; ``outage_share`` of the tickets come from them.
    """
    n_out = int(round(n_tickets * outage_share))
    n_reg = n_tickets - n_out
    w = accounts["arr"].to_numpy() ** 0.4
    w /= w.sum()
    acc = rng.choice(len(accounts), n_reg, p=w)
    offsets = accounts["region"].map(REGION_UTC_OFFSET).to_numpy()[acc]
    day_w = np.tile(_WEEKDAY_W, days // 7 + 1)[:days]
    day = rng.choice(days, n_reg, p=day_w / day_w.sum())
    local_hour = rng.choice(24, n_reg, p=_HOUR_W / _HOUR_W.sum())
    t0 = START.value / 3.6e12
    created = t0 + day * 24.0 + local_hour - offsets + rng.random(n_reg)
    created = np.maximum(created, t0)
    outage_id = np.full(n_reg, -1)

    n_outages = max(2, days // 12)
    o_start = t0 + rng.uniform(0, days * 24.0 - 12, n_outages)
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


def team_sizes(n_tickets: int, days: int) -> dict[str, int]:
    """Agents per team, scaled to the ticket volume per day."""
    per_day = n_tickets / days
    sizes = {"frontline": max(6, math.ceil(per_day / 9))}
    for team in TEAMS_BY_TIER[2]:
        sizes[team] = max(2, math.ceil(per_day * 0.12 / 5))
    for team in TEAMS_BY_TIER[3]:
        sizes[team] = max(2, math.ceil(per_day * 0.06 / 4))
    return sizes
