"""Behavioural tests in the CheckList style over hand-written support tickets, scored through the
real service (POST /v1/score, in-process) with the model this test session trains.

The tickets are in ``tickets.jsonl``, one case a line: ``case`` (its name), ``expect`` (calm,
crisis or ambiguous, the last being false-alarm bait), ``group``, ``names`` (the people named in
its texts), ``note`` and ``request`` (a /v1/score body). The sentences and names that
perturbations add or swap in are in ``perturbations.json``; the perturbations are built here from
the base tickets.

- Minimum functionality: a clear-cut calm ticket answers "none", a clear-cut crisis "escalate",
  and false-alarm bait (angry but trivial; harmless legal, CEO, cancel or security words; a
  well-handled outage) anything but "escalate".
- Directional: an explicit escalation request, a legal threat, a churn threat, a reopen, or a
  missed first-response SLA (the same unanswered ticket scored later) never lowers the
  probability.
- Invariance: ticket, account and agent ids, the people's names, the letter case of those names,
  and how a dollar amount is written never change the decision and move the probability by less
  than 0.02.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from features.schema import read_dataset
from serving.schemas import ScoreIn

HERE = Path(__file__).parent
EXPECTS = ("calm", "crisis", "ambiguous")
TOLERANCE = 1e-9  # directional: float noise only
MAX_SHIFT = 0.02  # invariance: the largest probability change allowed


def _load_cases() -> list[dict]:
    cases = []
    path = HERE / "tickets.jsonl"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            raise ValueError(f"{path.name}, line {n}: blank line")
        cases.append(json.loads(line))
    return cases


CASES = _load_cases()
BY_NAME = {c["case"]: c for c in CASES}
PHRASES = json.loads((HERE / "perturbations.json").read_text(encoding="utf-8"))
KNOWN_MISSES: dict[str, dict[str, str]] = {
    k: v
    for k, v in json.loads((HERE / "known_misses.json").read_text(encoding="utf-8")).items()
    if not k.startswith("_")
}


def check(test: str, case: str, ok: bool, message: str) -> None:
    """Assert ``ok``, except for a listed known miss: that one must still miss (strict)."""
    known = KNOWN_MISSES.get(test, {}).get(case)
    if known is None:
        assert ok, message
        return
    assert not ok, f"{case} now meets '{test}': remove it from known_misses.json ({message})"
    pytest.xfail(f"known miss: {known}")


def _of(expect: str) -> list[dict]:
    return [c for c in CASES if c["expect"] == expect]


# ------------------------------------------------------------------------------ perturbations
def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts).astimezone(UTC)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _texts(request: dict) -> list[str]:
    texts = [e["text"] for e in request["events"] if e.get("text")]
    return texts + ([request["ticket"]["subject"]] if request["ticket"].get("subject") else [])


def _map_texts(request: dict, change: Callable[[str], str]) -> dict:
    """A copy of ``request`` with ``change`` applied to every event text and the subject."""
    req = copy.deepcopy(request)
    for ev in req["events"]:
        if ev.get("text"):
            ev["text"] = change(ev["text"])
    if req["ticket"].get("subject"):
        req["ticket"]["subject"] = change(req["ticket"]["subject"])
    return req


def with_sentence(request: dict, sentence: str) -> dict:
    """The latest customer message with ``sentence`` appended (nothing else changes: same events,
    same times, so only the text signals can move)."""
    req = copy.deepcopy(request)
    last = max(i for i, e in enumerate(req["events"]) if e["event_type"] == "customer_message")
    text = req["events"][last]["text"].rstrip()
    sep = " " if text[-1:] in (".", "!", "?") else ". "
    req["events"][last]["text"] = f"{text}{sep}{sentence}"
    return req


def with_reopen(request: dict) -> dict:
    """The customer reopens the ticket at the scoring instant."""
    req = copy.deepcopy(request)
    req["events"].append({"ts": req["as_of"], "event_type": "reopened", "actor": "customer"})
    return req


def unanswered(request: dict, as_of: datetime) -> dict:
    """The ticket as it stood before any agent reply, scored at ``as_of``: the events before the
    first agent message that happened by then."""
    req = copy.deepcopy(request)
    events = req["events"]
    first_reply = next(
        (i for i, e in enumerate(events) if e["event_type"] == "agent_message"), len(events)
    )
    req["events"] = [e for e in events[:first_reply] if _parse(e["ts"]) <= as_of]
    req["as_of"] = _iso(as_of)
    return req


def _phrase(kind: str, case: dict) -> str:
    options = PHRASES[kind]
    return options[CASES.index(case) % len(options)]


DIRECTIONS: dict[str, Callable[[dict], dict]] = {
    "escalation_request": lambda c: with_sentence(c["request"], _phrase("escalation_request", c)),
    "legal_threat": lambda c: with_sentence(c["request"], _phrase("legal_threat", c)),
    "churn_threat": lambda c: with_sentence(c["request"], _phrase("churn_threat", c)),
    "reopen": lambda c: with_reopen(c["request"]),
}


def renamed_ticket(case: dict) -> dict:
    req = copy.deepcopy(case["request"])
    req["ticket"]["ticket_id"] = f"BHV{CASES.index(case):05d}"
    return req


def renamed_account(case: dict) -> dict:
    req = copy.deepcopy(case["request"])
    req["account"]["account_id"] = f"behaviour-account-{CASES.index(case):03d}"
    return req


def renamed_agents(case: dict) -> dict | None:
    req = copy.deepcopy(case["request"])
    agents = list(dict.fromkeys(e["agent_id"] for e in req["events"] if e.get("agent_id")))
    if not agents:
        return None
    new = {a: f"agent-{CASES.index(case):03d}-{k}" for k, a in enumerate(agents)}
    for ev in req["events"]:
        if ev.get("agent_id"):
            ev["agent_id"] = new[ev["agent_id"]]
    return req


def _name_tokens(case: dict) -> list[str]:
    """Capitalised parts of the people's names ('de', 'van' and the like are left alone)."""
    tokens = [t for name in case["names"] for t in name.split() if t[:1].isupper()]
    return list(dict.fromkeys(tokens))


def _replace_tokens(request: dict, mapping: dict[str, str]) -> dict:
    if not mapping:
        return request
    words = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)")
    return _map_texts(request, lambda text: pattern.sub(lambda m: mapping[m.group(1)], text))


def renamed_people(case: dict) -> dict | None:
    """Every person gets another name: first names from one list, other parts from another."""
    if not case["names"]:
        return None
    i = CASES.index(case)
    firsts = {name.split()[0] for name in case["names"]}
    mapping = {}
    for k, token in enumerate(_name_tokens(case)):
        pool = PHRASES["first_names"] if token in firsts else PHRASES["last_names"]
        mapping[token] = pool[(i + k) % len(pool)]
    return _replace_tokens(case["request"], mapping)


def recased_people(case: dict, how: Callable[[str], str]) -> dict | None:
    if not case["names"]:
        return None
    return _replace_tokens(case["request"], {t: how(t) for t in _name_tokens(case)})


_MONEY = re.compile(
    r"\$(?P<dollars>\d{1,3}(?:,\d{3})+|\d+)(?P<cents>\.\d{2})?"
    r"|\bUSD ?(?P<usd>\d+)(?P<usd_cents>\.\d{2})?"
)


def _swap_money(m: re.Match) -> str:
    if m.group("dollars") is not None:  # $1,200.50 -> USD 1200.50
        return f"USD {m.group('dollars').replace(',', '')}{m.group('cents') or ''}"
    return f"${int(m.group('usd')):,}{m.group('usd_cents') or ''}"  # USD 1200 -> $1,200


def reformatted_money(case: dict) -> dict | None:
    """Dollar amounts written the other way round ("$1,200" <-> "USD 1200")."""
    if not any(_MONEY.search(t) for t in _texts(case["request"])):
        return None
    return _map_texts(case["request"], lambda text: _MONEY.sub(_swap_money, text))


INVARIANCES: dict[str, Callable[[dict], dict | None]] = {
    "ticket_id": renamed_ticket,
    "account_id": renamed_account,
    "agent_ids": renamed_agents,
    "names": renamed_people,
    "names_lower_case": lambda c: recased_people(c, str.lower),
    "names_upper_case": lambda c: recased_people(c, str.upper),
    "money_format": reformatted_money,
}
INVARIANCE_CASES = [
    pytest.param(kind, case["case"], id=f"{kind}-{case['case']}")
    for kind, perturb in INVARIANCES.items()
    for case in CASES
    if perturb(case) is not None
]
DIRECTION_CASES = [
    pytest.param(kind, case["case"], id=f"{kind}-{case['case']}")
    for kind in DIRECTIONS
    for case in CASES
]


# ------------------------------------------------------------------------------------- helpers
def _value(v: object) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def describe(answer: dict, policy: dict | None = None, strategic: bool = False) -> str:
    """One line: probability, band, decision, route, severity, thresholds, strongest reasons."""
    up = "; ".join(
        f"{r['feature']}={_value(r['value'])} ({r['contribution']:+.2f})"
        for r in answer["reasons"][:3]
    )
    down = "; ".join(
        f"{r['feature']}={_value(r['value'])} ({r['contribution']:+.2f})"
        for r in answer["mitigating"][:2]
    )
    d = answer["decision"]
    line = (
        f"p={answer['probability']:.4f} band={answer['band']} decision={d['action']} "
        f"route={d['route_to']} severity={answer['severity']['level']}"
    )
    if policy is not None:
        segments = policy.get("segments", {})
        bands = segments.get("strategic", policy["default"]) if strategic else policy["default"]
        line += f" (thresholds watch {bands['watch']:.3f}, escalate {bands['escalate']:.3f})"
    return f"{line}; raised by: {up}; lowered by: {down}"


@pytest.fixture(scope="session")
def base_answers(score) -> dict[str, dict]:
    """Every hand-written ticket's answer, scored once."""
    return {c["case"]: score(c["request"]) for c in CASES}


# ------------------------------------------------------------------------- the data (fast lane)
def test_tickets_file_is_a_valid_and_varied_set():
    assert len(CASES) >= 60
    assert len(BY_NAME) == len(CASES), "case names must be unique"
    for expect in EXPECTS:
        assert len(_of(expect)) >= 15, expect
    for key in ("ticket_id", "account_id"):
        part = "ticket" if key == "ticket_id" else "account"
        ids = [c["request"][part][key] for c in CASES]
        assert len(set(ids)) == len(ids), f"{key}s must be unique"
    channels = {c["request"]["ticket"]["channel"] for c in CASES}
    assert {"email", "chat", "web", "phone"} <= channels
    for c in CASES:
        assert c["expect"] in EXPECTS, c["case"]
        assert set(c) == {"case", "expect", "group", "names", "note", "request"}, c["case"]
        req = ScoreIn.model_validate(c["request"])
        assert req.as_of is not None, c["case"]
        times = [e.ts for e in req.events]
        assert times == sorted(times), f"{c['case']}: events out of order"
        assert req.ticket.created_at <= times[0] and times[-1] <= req.as_of, c["case"]
        assert any(e.event_type == "customer_message" for e in req.events), c["case"]
        text = " ".join(_texts(c["request"]))
        for name in c["names"]:
            assert name in text, f"{c['case']}: {name!r} is not in its texts"


def test_replacement_names_are_new_to_every_ticket():
    used = {t for c in CASES for t in _name_tokens(c)}
    assert not used & set(PHRASES["first_names"] + PHRASES["last_names"])


@pytest.mark.parametrize(
    "build", [*DIRECTIONS.values(), *INVARIANCES.values()], ids=[*DIRECTIONS, *INVARIANCES]
)
def test_every_perturbation_is_a_valid_changed_request(build):
    built = 0
    for case in CASES:
        req = build(case)
        if req is None:
            continue
        ScoreIn.model_validate(req)
        assert req != case["request"], case["case"]
        built += 1
    assert built >= 10


def test_money_reformatting_swaps_both_ways():
    req = {"ticket": {"subject": None}, "events": [{"text": "Paid $1,200.50 and USD 8400, $60."}]}
    out = _map_texts(req, lambda t: _MONEY.sub(_swap_money, t))
    assert out["events"][0]["text"] == "Paid USD 1200.50 and $8,400, USD 60."


def test_name_replacement_keeps_words_that_merely_contain_a_name():
    req = {"ticket": {"subject": None}, "events": [{"text": "Hi Bill, see Billing. Gary's bill"}]}
    out = _replace_tokens(req, {"Bill": "Kwame", "Gary": "Paloma"})
    assert out["events"][0]["text"] == "Hi Kwame, see Billing. Paloma's bill"


@pytest.mark.slow
def test_tickets_are_new_to_the_trained_world(registry):
    """The hand-written ids must not collide with the synthetic organisation's history (else the
    store's account history and agent backlogs would leak into these answers)."""
    world = read_dataset(registry.data_dir)
    accounts = {c["request"]["account"]["account_id"] for c in CASES}
    tickets = {c["request"]["ticket"]["ticket_id"] for c in CASES}
    agents = {e["agent_id"] for c in CASES for e in c["request"]["events"] if e.get("agent_id")}
    assert not accounts & set(world.accounts["account_id"])
    assert not tickets & set(world.tickets["ticket_id"])
    assert not agents & set(world.events["agent_id"].dropna())


# ---------------------------------------------------------------------- minimum functionality
@pytest.mark.slow
@pytest.mark.parametrize("name", [c["case"] for c in _of("calm")])
def test_clear_calm_ticket_answers_none(name, base_answers, served_policy, record_property):
    case, answer = BY_NAME[name], base_answers[name]
    record_property("answer", describe(answer))
    strategic = case["request"]["account"]["strategic"]
    assert answer["decision"]["action"] == "none", (
        f"{name} ({case['note']}): {describe(answer, served_policy, strategic)}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", [c["case"] for c in _of("crisis")])
def test_clear_crisis_answers_escalate(name, base_answers, served_policy, record_property):
    case, answer = BY_NAME[name], base_answers[name]
    record_property("answer", describe(answer))
    strategic = case["request"]["account"]["strategic"]
    check(
        "crisis_answers_escalate",
        name,
        answer["decision"]["action"] == "escalate",
        f"{name} ({case['note']}): {describe(answer, served_policy, strategic)}",
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", [c["case"] for c in _of("ambiguous")])
def test_false_alarm_bait_is_not_escalated(name, base_answers, served_policy, record_property):
    case, answer = BY_NAME[name], base_answers[name]
    record_property("answer", describe(answer))
    strategic = case["request"]["account"]["strategic"]
    assert answer["decision"]["action"] != "escalate", (
        f"{name} ({case['note']}): {describe(answer, served_policy, strategic)}"
    )


# -------------------------------------------------------------------------------- directional
@pytest.mark.slow
@pytest.mark.parametrize(("kind", "name"), DIRECTION_CASES)
def test_added_risk_signal_never_lowers_risk(kind, name, base_answers, score):
    before = base_answers[name]
    after = score(DIRECTIONS[kind](BY_NAME[name]))
    check(
        "added_risk_signal_never_lowers_risk",
        f"{kind}-{name}",
        after["probability"] >= before["probability"] - TOLERANCE,
        f"{kind} lowered the risk of {name}: before {describe(before)}; after {describe(after)}",
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BY_NAME))
def test_missed_first_response_sla_never_lowers_risk(name, score):
    """The same unanswered ticket just before its first-response deadline and an hour past it.

    "Just before" is 30 minutes before (half the window for a P1's 30 minutes), so both moments
    usually fall on the same working day: the comparison is about the breach, not the weekend.
    """
    request = BY_NAME[name]["request"]
    created = _parse(request["ticket"]["created_at"])
    due = _parse(score(unanswered(request, created))["sla"]["first_response_due"])
    assert due > created
    before_due = due - min(timedelta(minutes=30), (due - created) / 2)
    early = score(unanswered(request, before_due))
    late = score(unanswered(request, due + timedelta(hours=1)))
    assert not early["sla"]["breached"] and late["sla"]["breached"], (early["sla"], late["sla"])
    check(
        "missed_sla_never_lowers_risk",
        name,
        late["probability"] >= early["probability"] - TOLERANCE,
        f"missing the SLA lowered the risk of {name}: at {early['as_of']} {describe(early)}; "
        f"at {late['as_of']} {describe(late)}",
    )


# --------------------------------------------------------------------------------- invariance
@pytest.mark.slow
@pytest.mark.parametrize(("kind", "name"), INVARIANCE_CASES)
def test_identity_and_formatting_never_change_the_answer(kind, name, base_answers, score):
    before = base_answers[name]
    after = score(INVARIANCES[kind](BY_NAME[name]))
    shift = after["probability"] - before["probability"]
    assert after["decision"]["action"] == before["decision"]["action"], (
        f"{kind} changed the decision of {name}: before {describe(before)}; after "
        f"{describe(after)}"
    )
    assert abs(shift) < MAX_SHIFT, (
        f"{kind} moved the probability of {name} by {shift:+.4f}: before {describe(before)}; "
        f"after {describe(after)}"
    )
