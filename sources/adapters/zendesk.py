"""Zendesk-style exports (incremental ticket export + ticket audits) -> the support-data model.

Written from Zendesk's published API formats (Tickets, Ticket Audits, Users, Groups,
Organizations); the fixtures under tests/ are hand-written in that format, no customer data.
An export is a folder of JSON pages: ``tickets.json`` (``{"tickets": [...]}``) and
``ticket_audits.json`` (``{"audits": [...]}``) are required; ``users.json``, ``groups.json`` and
``organizations.json`` are optional. Paginated exports may split any of them into
``<name>-<n>.json`` pages (read in name order). Field mapping:

| Zendesk                                   | model                                              |
|-------------------------------------------|----------------------------------------------------|
| ticket ``id``                             | ``tickets.ticket_id`` (as text)                    |
| ticket ``created_at`` (ISO 8601 with zone)| ``tickets.created_at`` (UTC)                       |
| ``organization_id`` (else ``requester_id``)| ``tickets.account_id`` (``org:<id>`` / ``user:<id>``)|
| ``via.channel``                           | ``tickets.channel``                                |
| a tag ``area_<name>``                     | ``tickets.product_area`` (Zendesk has no such field)|
| ``priority`` urgent, high, normal, low    | ``tickets.priority`` P1, P1, P2, P3 (null: P3, reported)|
| ``subject``                               | ``tickets.subject``                                |
| audit ``Comment``, public, by an end-user | ``customer_message`` (``body``)                    |
| audit ``Comment``, public, by an agent    | ``agent_message``; private: ``internal_note``      |
| ``Change`` of ``status``                  | ``status_change``: new, open, pending -> pending_customer, hold -> pending_internal, solved, closed |
| ``Change`` of ``status`` from solved back | ``reopened`` (then the status change)              |
| ``Change`` of ``priority``                | ``priority_change``                                |
| ``Create``/``Change`` of ``group_id``     | ``assignment``: team = the group's name; tier from the name ("Tier 2", "L3", "2nd line"; else 1) |
| ``Change`` of ``assignee_id`` (same group)| ``assignment`` of the group's team to the new agent |
| ``SatisfactionRating`` ``score``          | ``csat``: good 5, bad 1 (Zendesk rates good/bad)   |
| last ``Change`` of ``status`` to closed   | ``tickets.closed_at`` (end-of-case: never a feature)|
| organization ``organization_fields``      | ``accounts``: ``arr``, ``plan``, ``strategic``, ``region``, ``industry``, ``renewal_date`` when present |

Author roles come from ``users.json`` (``end-user`` -> customer, ``agent``/``admin`` -> agent);
without it, the ticket's requester is the customer and other authors are agents (reported).
Author ``-1`` is Zendesk's system user (actor ``system``); field changes in a customer's
audit (routing at creation, the reopen a reply triggers) are the system's too. Everything else in an audit
(notifications, CCs, other fields) is counted in the report and not mapped.

Labels (``LABELS``): ``escalated_tag`` (default): the first audit that adds the tag
``escalated`` (kind not known); ``reassigned``: the first assignment to another group than the
ticket's first (``functional``). The type is ``other`` (the export names no reason).

:func:`write_zendesk` writes support data in the same format (the inverse mapping), which the
round-trip tests use.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.schema import TABLES, SupportData
from sources.adapters.common import (
    UTC,
    AdapterError,
    AdapterResult,
    assemble,
    label_summary,
    outcomes_frame,
)

LABELS = ("escalated_tag", "reassigned")
DEFAULT_LABEL = "escalated_tag"
_KIND = {"escalated_tag": None, "reassigned": "functional"}
ESCALATED_TAG = "escalated"
AREA_TAG = "area_"
PRIORITY = {"urgent": "P1", "high": "P1", "normal": "P2", "low": "P3"}
STATUS = {
    "new": "new",
    "open": "open",
    "pending": "pending_customer",
    "hold": "pending_internal",
    "solved": "solved",
    "closed": "closed",
}
CSAT = {"good": 5, "bad": 1}
AGENT_ROLES = ("agent", "admin")
SYSTEM_AUTHOR = -1
ACCOUNT_FIELDS = ("arr", "plan", "strategic", "region", "industry", "renewal_date")
_TIER = re.compile(r"(?:tier|level|\bl|\bt)\s*-?\s*([123])\b|\b([123])(?:st|nd|rd)\b", re.I)
COMMENT_TYPES = ("Comment", "VoiceComment")


class _Where:
    """Names a record in an error: file, record position and, when known, the id."""

    def __init__(self, file: Path, index: int, record: Any) -> None:
        self.file, self.index = file, index
        self.id = record.get("id") if isinstance(record, dict) else None

    def error(self, field: str, message: str) -> AdapterError:
        ident = f" (id {self.id})" if self.id is not None else ""
        return AdapterError(
            f"{self.file.name}, record {self.index}{ident}, field '{field}': {message}"
        )


def _pages(folder: Path, name: str, key: str, required: bool) -> list[tuple[_Where, dict]]:
    files = sorted(
        p
        for p in folder.glob(f"{name}*.json")
        if p.stem == name or re.fullmatch(rf"{name}-\d+", p.stem)
    )
    if not files:
        if required:
            raise AdapterError(f"{folder}: no {name}.json (a Zendesk export needs it)")
        return []
    out = []
    for file in files:
        try:
            page = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise AdapterError(f"{file.name}: not JSON ({err})") from None
        if not isinstance(page, dict) or not isinstance(page.get(key), list):
            raise AdapterError(f"{file.name}: expected an object with a '{key}' list")
        for i, record in enumerate(page[key]):
            where = _Where(file, i, record)
            if not isinstance(record, dict):
                raise AdapterError(f"{file.name}, record {i}: expected an object")
            out.append((where, record))
    return out


def _time(where: _Where, record: dict, field: str, required: bool = True) -> pd.Timestamp | None:
    value = record.get(field)
    if value is None:
        if required:
            raise where.error(field, "missing")
        return None
    if not isinstance(value, str):
        raise where.error(field, f"expected an ISO 8601 time, got {type(value).__name__}")
    try:
        ts = pd.Timestamp(value)
    except ValueError:
        raise where.error(field, f"{value!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None:
        raise where.error(field, f"{value!r} has no time zone (Zendesk writes UTC with 'Z')")
    return ts.tz_convert("UTC")


def _id(where: _Where, record: dict, field: str, required: bool = True) -> str | None:
    value = record.get(field)
    if value is None:
        if required:
            raise where.error(field, "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise where.error(field, f"expected an id, got {type(value).__name__}")
    return str(value)


def tier_of(group: str) -> int | None:
    """Support tier from a group name ("Tier 2", "L3 Engineering", "2nd line"); None if none."""
    m = _TIER.search(group)
    return int(m.group(1) or m.group(2)) if m else None


def read_zendesk(
    path: str | Path, label: str = DEFAULT_LABEL, limit: int | None = None
) -> AdapterResult:
    """Read a Zendesk-style export folder into validated support data with a quirk report.

    Raises:
        AdapterError: a missing file, invalid JSON, or a record with a missing or malformed
            field (file, record and field named); DataValidationError from the reader.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise AdapterError(f"{folder}: not a folder (a Zendesk export is a folder of JSON pages)")
    if label not in LABELS:
        raise AdapterError(
            f"unknown label {label!r} for zendesk; expected one of {', '.join(LABELS)}"
        )
    quirks: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()

    roles: dict[str, str] = {}
    for where, u in _pages(folder, "users", "users", required=False):
        roles[_id(where, u, "id")] = str(u.get("role") or "end-user")
    groups = {
        _id(w, g, "id"): str(g.get("name") or f"group:{g.get('id')}")
        for w, g in _pages(folder, "groups", "groups", required=False)
    }
    orgs = {
        _id(w, o, "id"): (w, o)
        for w, o in _pages(folder, "organizations", "organizations", required=False)
    }

    tickets: list[dict[str, Any]] = []
    requester: dict[str, str] = {}
    for where, t in _pages(folder, "tickets", "tickets", required=True):
        if limit is not None and len(tickets) >= limit:
            break
        tid = _id(where, t, "id")
        prio = t.get("priority")
        if prio is None:
            quirks["tickets_without_priority_read_as_P3"] += 1
        elif prio not in PRIORITY:
            raise where.error(
                "priority",
                f"unknown value {prio!r}; expected one of {', '.join(PRIORITY)} or null",
            )
        org = _id(where, t, "organization_id", required=False)
        req = _id(where, t, "requester_id")
        requester[tid] = req
        tags = t.get("tags") or []
        if not isinstance(tags, list):
            raise where.error("tags", "expected a list")
        area = next(
            (
                tag[len(AREA_TAG) :]
                for tag in tags
                if isinstance(tag, str) and tag.startswith(AREA_TAG)
            ),
            None,
        )
        via = t.get("via") or {}
        tickets.append(
            {
                "ticket_id": tid,
                "account_id": f"org:{org}" if org is not None else f"user:{req}",
                "created_at": _time(where, t, "created_at"),
                "channel": via.get("channel") if isinstance(via, dict) else None,
                "product_area": area,
                "priority": PRIORITY.get(prio, "P3"),
                "subject": t.get("subject"),
            }
        )
        if org is None:
            quirks["tickets_without_organization_account_per_requester"] += 1
    if not tickets:
        raise AdapterError(f"{folder}: tickets.json holds no ticket")
    known = {t["ticket_id"]: t for t in tickets}
    if not roles:
        quirks["no_users_json_requester_is_customer"] = 1

    audits = []
    for n, (where, a) in enumerate(_pages(folder, "ticket_audits", "audits", required=True)):
        tid = _id(where, a, "ticket_id")
        if tid not in known:
            if limit is None:
                raise where.error("ticket_id", f"unknown ticket {tid}")
            continue
        events = a.get("events")
        if not isinstance(events, list):
            raise where.error("events", "expected a list of audit events")
        audits.append((_time(where, a, "created_at"), n, where, tid, a))
    audits.sort(key=lambda x: (x[3], x[0], x[1]))

    rows: list[dict[str, Any]] = []
    state: dict[str, dict[str, Any]] = {}
    escalated: dict[str, pd.Timestamp] = {}
    closed: dict[str, pd.Timestamp] = {}
    for ts, _, where, tid, a in audits:
        st = state.setdefault(
            tid, {"team": None, "tier": None, "agent": None, "status": None, "first_team": None}
        )
        if ts < known[tid]["created_at"]:
            raise where.error("created_at", f"{ts} is before ticket {tid} was created")
        fields_here = {ev.get("field_name") for ev in a["events"] if isinstance(ev, dict)}
        # A group and an assignee set in one audit are one assignment (the group's, to them).
        joint = {"group_id", "assignee_id"} <= fields_here
        if joint:
            for ev in a["events"]:
                if ev.get("field_name") == "assignee_id":
                    st["agent"] = None if ev.get("value") is None else str(ev["value"])
        for j, ev in enumerate(a["events"]):
            if not isinstance(ev, dict) or "type" not in ev:
                raise where.error(f"events[{j}]", "expected an object with a 'type'")
            etype = ev["type"]
            author = ev.get("author_id", a.get("author_id"))
            actor = _actor(author, roles, requester[tid])
            base = {
                "ticket_id": tid,
                "ts": ts,
                "actor": actor,
                "agent_id": str(author) if actor == "agent" else None,
            }
            if etype in COMMENT_TYPES:
                body = ev.get("plain_body", ev.get("body"))
                if body is not None and not isinstance(body, str):
                    raise where.error(f"events[{j}].body", "expected text")
                public = ev.get("public", True)
                kind = (
                    "customer_message"
                    if actor == "customer"
                    else "agent_message"
                    if public
                    else "internal_note"
                )
                if actor == "system":
                    kind = "internal_note"
                rows.append({**base, "event_type": kind, "text": body})
                continue
            if etype == "SatisfactionRating":
                score = ev.get("score")
                if score not in CSAT:
                    if score in (None, "offered", "unoffered"):
                        quirks["satisfaction_offered_not_rated"] += 1
                        continue
                    raise where.error(
                        f"events[{j}].score", f"unknown value {score!r}; expected good or bad"
                    )
                rows.append(
                    {
                        **base,
                        "actor": "customer",
                        "agent_id": None,
                        "event_type": "csat",
                        "csat": CSAT[score],
                    }
                )
                continue
            if etype not in ("Create", "Change"):
                unmapped[f"event:{etype}"] += 1
                continue
            if actor == "customer":
                # A customer's audit changes fields through the desk's triggers (a reply
                # reopens, a new ticket is routed): the change is the system's, not theirs.
                base = {**base, "actor": "system"}
            field = ev.get("field_name")
            value = ev.get("value")
            if field == "status":
                if value not in STATUS:
                    raise where.error(f"events[{j}].value", f"unknown status {value!r}")
                if st["status"] == "solved" and value in ("new", "open", "pending", "hold"):
                    rows.append({**base, "event_type": "reopened"})
                st["status"] = value
                rows.append({**base, "event_type": "status_change", "status": STATUS[value]})
                if value == "closed":
                    closed[tid] = ts
            elif field == "priority":
                if value is None:
                    quirks["priority_cleared_no_event"] += 1
                    continue
                if value not in PRIORITY:
                    raise where.error(f"events[{j}].value", f"unknown priority {value!r}")
                if etype == "Change":
                    rows.append(
                        {**base, "event_type": "priority_change", "priority": PRIORITY[value]}
                    )
            elif field == "group_id":
                if value is None:
                    quirks["group_cleared_no_event"] += 1
                    continue
                name = groups.get(str(value))
                if name is None:
                    quirks["groups_not_in_groups_json_named_by_id"] += 1
                    name = f"group:{value}"
                tier = tier_of(name)
                if tier is None:
                    quirks["assignments_without_tier_in_group_name_read_as_tier_1"] += 1
                    tier = 1
                st.update(team=name, tier=tier)
                st["first_team"] = st["first_team"] or name
                if label == "reassigned" and name != st["first_team"] and tid not in escalated:
                    escalated[tid] = ts
                rows.append(
                    {
                        **base,
                        "event_type": "assignment",
                        "team": name,
                        "tier": tier,
                        "agent_id": st["agent"] or base["agent_id"],
                    }
                )
            elif field == "assignee_id":
                if joint:
                    continue
                st["agent"] = None if value is None else str(value)
                if st["team"] is None:
                    quirks["assignee_without_group_no_event"] += 1
                    continue
                if value is not None:
                    rows.append(
                        {
                            **base,
                            "event_type": "assignment",
                            "team": st["team"],
                            "tier": st["tier"],
                            "agent_id": str(value),
                        }
                    )
            elif field == "tags":
                new = set(value or []) - set(ev.get("previous_value") or [])
                if label == "escalated_tag" and ESCALATED_TAG in new and tid not in escalated:
                    escalated[tid] = ts
            else:
                unmapped[f"field:{field}"] += 1

    t = pd.DataFrame(tickets)
    t["closed_at"] = t["ticket_id"].map(closed)
    t = t.astype({"created_at": UTC, "closed_at": UTC})
    for col in ("channel", "product_area", "subject"):
        t[col] = t[col].astype(object).where(t[col].notna(), None)
    events = _events_frame(rows)
    accounts = _accounts(t, orgs, quirks)
    outcomes = outcomes_frame(
        t["ticket_id"],
        t["ticket_id"].map(escalated),
        _KIND[label],
        keep=pd.Series(np.ones(len(t), dtype=bool)),
    )
    data = assemble(accounts, t, events, outcomes, f"zendesk {folder}")
    report = {
        "source": str(folder),
        "format": "zendesk",
        "label": label,
        "mapped": {
            "tickets": len(t),
            "audits": len(audits),
            "events": len(events),
            "event_types": events["event_type"].value_counts().to_dict(),
            "accounts": len(accounts),
        },
        "quirks": dict(quirks),
        "unmapped": dict(unmapped),
        "outcome": label_summary(outcomes),
    }
    return AdapterResult(data, report)


def _actor(author: Any, roles: dict[str, str], requester: str) -> str:
    if author is None or author == SYSTEM_AUTHOR or str(author) == str(SYSTEM_AUTHOR):
        return "system"
    if roles:
        return "agent" if roles.get(str(author), "end-user") in AGENT_ROLES else "customer"
    return "customer" if str(author) == requester else "agent"


def _events_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = [c.name for c in TABLES["events"]]
    e = pd.DataFrame(rows, columns=cols)
    e["ts"] = pd.to_datetime(e["ts"], utc=True).astype(UTC)
    for col in ("tier", "csat"):
        e[col] = pd.array(e[col].astype(object).where(e[col].notna(), None), dtype="Int64")
    for col in ("agent_id", "team", "status", "priority", "text"):
        e[col] = e[col].astype(object).where(e[col].notna(), None)
    return e


def _accounts(tickets: pd.DataFrame, orgs: dict, quirks: Counter) -> pd.DataFrame:
    ids = pd.unique(tickets["account_id"].to_numpy(dtype=object))
    rows = []
    for acc in ids:
        fields: dict[str, Any] = {}
        created = None
        if acc.startswith("org:") and acc[4:] in orgs:
            where, org = orgs[acc[4:]]
            fields = org.get("organization_fields") or {}
            if not isinstance(fields, dict):
                raise where.error("organization_fields", "expected an object")
            created = _time(where, org, "created_at", required=False)
            for name in ("arr",):
                v = fields.get(name)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                    raise where.error(f"organization_fields.{name}", "expected a number")
            if fields.get("strategic") not in (None, True, False):
                raise where.error("organization_fields.strategic", "expected true or false")
            renewal = _time(where, fields, "renewal_date", required=False)
        else:
            if acc.startswith("org:"):
                quirks["organizations_not_in_organizations_json"] += 1
            renewal = None
        rows.append(
            {
                "account_id": acc,
                "arr": float(fields["arr"]) if fields.get("arr") is not None else np.nan,
                "plan": fields.get("plan"),
                "strategic": bool(fields.get("strategic") or False),
                "region": fields.get("region"),
                "industry": fields.get("industry"),
                "created_at": created,
                "renewal_date": renewal,
            }
        )
    a = pd.DataFrame(rows)
    a = a.astype({"created_at": UTC, "renewal_date": UTC, "arr": "float64", "strategic": bool})
    for col in ("plan", "region", "industry"):
        a[col] = a[col].astype(object).where(a[col].notna(), None)
    return a


# -- the inverse: support data -> a Zendesk-style export --------------------------------------
_STATUS_OUT = {v: k for k, v in STATUS.items()}
_PRIORITY_OUT = {"P1": "urgent", "P2": "normal", "P3": "low"}


def _iso(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_zendesk(data: SupportData, out: str | Path) -> list[Path]:
    """Write support data as a Zendesk-style export (the inverse of :func:`read_zendesk`).

    Ticket ids, account ids and agent ids become Zendesk ids as they are (text); a team becomes
    a group of its name, with `` (tier N)`` added unless the name already reads as its tier; priorities P1, P2, P3 become urgent, normal, low; an
    escalation becomes the tag ``escalated`` added at its time. Returns the files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    e = data.events
    requester = {
        t.ticket_id: (
            str(t.account_id).removeprefix("user:")
            if str(t.account_id).startswith("user:")
            else f"c:{t.ticket_id}"
        )
        for t in data.tickets.itertuples()
    }
    agents = sorted(set(e["agent_id"].dropna().astype(str)))
    users = [{"id": c, "role": "end-user"} for c in sorted(set(requester.values()))]
    users += [{"id": a, "role": "agent"} for a in agents]
    teams = e.loc[e["event_type"] == "assignment", ["team", "tier"]].drop_duplicates("team")
    group_of = {}
    for row in teams.itertuples():
        named = tier_of(row.team)
        # A name that already reads as its tier stays as it is; others carry it.
        keep = named == int(row.tier) or (named is None and int(row.tier) == 1)
        group_of[row.team] = row.team if keep else f"{row.team} (tier {int(row.tier)})"
    groups = [{"id": name, "name": name} for name in group_of.values()]
    orgs = []
    for a in data.accounts.itertuples():
        if str(a.account_id).startswith("user:"):
            continue  # a requester's own account: no organization
        fields = {
            "arr": None if pd.isna(a.arr) else float(a.arr),
            "plan": None if pd.isna(a.plan) else a.plan,
            "strategic": bool(a.strategic),
            "region": None if pd.isna(a.region) else a.region,
            "industry": None if pd.isna(a.industry) else a.industry,
            "renewal_date": None if pd.isna(a.renewal_date) else _iso(a.renewal_date),
        }
        orgs.append(
            {
                "id": str(a.account_id).removeprefix("org:"),
                "created_at": None if pd.isna(a.created_at) else _iso(a.created_at),
                "organization_fields": fields,
            }
        )
    esc = {}
    if data.outcomes is not None:
        o = data.outcomes[data.outcomes["escalated_at"].notna()]
        esc = dict(zip(o["ticket_id"], o["escalated_at"], strict=True))
    tickets, audits = [], []
    for t in data.tickets.itertuples():
        tags = [] if pd.isna(t.product_area) else [f"{AREA_TAG}{t.product_area}"]
        own = str(t.account_id).startswith("user:")
        tickets.append(
            {
                "id": t.ticket_id,
                "created_at": _iso(t.created_at),
                "organization_id": None if own else str(t.account_id).removeprefix("org:"),
                "requester_id": requester[t.ticket_id],
                "via": {"channel": None if pd.isna(t.channel) else t.channel},
                "priority": _PRIORITY_OUT[t.priority],
                "subject": None if pd.isna(t.subject) else t.subject,
                "tags": tags,
            }
        )
    for i, ev in enumerate(e.itertuples()):
        author = (
            requester[ev.ticket_id]
            if ev.actor == "customer"
            else SYSTEM_AUTHOR
            if ev.actor == "system"
            else (None if pd.isna(ev.agent_id) else str(ev.agent_id))
        )
        items = []
        if ev.event_type in ("customer_message", "agent_message", "internal_note"):
            items.append(
                {
                    "type": "Comment",
                    "author_id": author,
                    "public": ev.event_type != "internal_note",
                    "body": None if pd.isna(ev.text) else ev.text,
                }
            )
        elif ev.event_type == "status_change":
            items.append(
                {"type": "Change", "field_name": "status", "value": _STATUS_OUT[ev.status]}
            )
        elif ev.event_type == "priority_change":
            items.append(
                {"type": "Change", "field_name": "priority", "value": _PRIORITY_OUT[ev.priority]}
            )
        elif ev.event_type == "assignment":
            items.append({"type": "Change", "field_name": "group_id", "value": group_of[ev.team]})
            if not pd.isna(ev.agent_id):
                items.append(
                    {"type": "Change", "field_name": "assignee_id", "value": str(ev.agent_id)}
                )
        elif ev.event_type == "csat":
            items.append(
                {"type": "SatisfactionRating", "score": "good" if ev.csat >= 3 else "bad"}
            )
        # "reopened" is implied by the status change back from solved that follows it.
        if items:
            audits.append(
                {
                    "id": i,
                    "ticket_id": ev.ticket_id,
                    "created_at": _iso(ev.ts),
                    "author_id": author,
                    "events": items,
                }
            )
    for tid, ts in esc.items():
        audits.append(
            {
                "id": len(audits) + len(e),
                "ticket_id": tid,
                "created_at": _iso(ts),
                "author_id": SYSTEM_AUTHOR,
                "events": [
                    {
                        "type": "Change",
                        "field_name": "tags",
                        "value": [ESCALATED_TAG],
                        "previous_value": [],
                    }
                ],
            }
        )
    files = []
    for name, key, records in (
        ("tickets", "tickets", tickets),
        ("ticket_audits", "audits", audits),
        ("users", "users", users),
        ("groups", "groups", groups),
        ("organizations", "organizations", orgs),
    ):
        path = out / f"{name}.json"
        path.write_text(json.dumps({key: records}, indent=1))
        files.append(path)
    return files
