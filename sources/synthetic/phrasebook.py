"""The phrase tables of the synthetic support desk, loaded once from ``phrases/*.json``.

The wording lives in data files beside this module (installed as package data); this module
reads them, turns every list into a tuple (so tables are immutable and concatenate like the
literals they replaced) and checks that they cover the vocabulary the simulator speaks: every
product area, issue category, risk mention, agent message kind and note kind, four tone bands
or tiers where a table is banded. A broken file fails at load, naming the file and the key.

The shapes (what each list holds) are described in each file's ``_about`` entry.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

ISSUE_CATEGORIES = ("billing", "technical", "contract", "security", "howto")
# Customer cues: demands the simulator acts on, topic mentions, and harmless uses of the same
# words (benign_*). Demands, in the words of the intents the text model reads: ``escalate`` asks
# for escalation or a manager (intent escalation_request); ``executive`` brings in the
# customer's own executives; ``churn`` threatens to cancel and sometimes names a competitor or
# the renewal decision (intents churn, competitor, renewal); ``legal`` involves lawyers.
DEMANDS = ("escalate", "executive", "churn", "legal")
TOPICS = ("security", "billing", "outage")
BENIGN = ("benign_legal", "benign_churn", "benign_executive", "benign_security")
MENTIONS = DEMANDS + TOPICS + BENIGN
PRODUCT_AREAS = (
    "api",
    "billing_portal",
    "integrations",
    "reporting",
    "mobile_app",
    "authentication",
    "data_sync",
    "notifications",
    "admin_console",
    "webhooks",
)
CHANNELS = ("email", "chat", "web", "phone")
AGENT_KINDS = (
    "ack",
    "question",
    "update",
    "workaround",
    "resolution",
    "handoff",
    "apology",
    "pending_customer",
    "reassurance",
    "escalation_ack",
)
NOTE_KINDS = (
    "handoff",
    "investigation",
    "bounceback",
    "escalation",
    "account_escalation",
    "executive_escalation",
    "outage_link",
)
AGENT_TIERS = (1, 2, 3, 4)
N_BANDS = 4  # tone bands (customers) and tiers (agents)

PHRASE_FILES = ("products.json", "customer.json", "agent.json", "details.json")

Phrases = tuple[str, ...]
Banded = tuple[Phrases, ...]  # one tuple per tone band or tier
Pair = tuple[str, str]  # (singular, plural) verb phrases


class PhrasebookError(ValueError):
    """A phrase file is missing, malformed or does not cover the simulator's vocabulary."""


@dataclass(frozen=True)
class Phrasebook:
    """Every phrase table, keyed as in the JSON files (one field per top-level key)."""

    # products.json
    things: Mapping[str, tuple[tuple[str, bool], ...]]
    area_labels: Mapping[str, Phrases]
    area_noun_phrases: Mapping[str, Phrases]
    area_symptoms: Mapping[str, Phrases]
    tech_predicates: tuple[Pair, ...]
    tech_predicates_angry: tuple[Pair, ...]
    outage_predicates: tuple[Pair, ...]
    billing_problems: Phrases
    contract_problems: Phrases
    security_problems: Phrases
    howto_tasks: Mapping[str, Phrases]
    howto_frames: Phrases
    category_labels: Mapping[str, str]
    category_teams: Mapping[str, Phrases]
    area_teams: Mapping[str, Phrases]
    # customer.json
    greetings: Banded
    openers: Banded
    impacts: Banded
    requests: Banded
    signoffs: Banded
    names: Phrases
    mentions: Mapping[str, tuple[Phrases, Phrases]]  # (polite, blunt)
    outage_scope: Phrases
    chat_short: Banded
    chat_greetings: Phrases
    phone_fillers: Phrases
    reply_leads: Banded
    reply_answers: Phrases
    reply_outcomes: Banded
    follow_up_leads: Phrases
    follow_ups: Banded  # by unanswered messages: 1, 2, 3 or more
    follow_up_tails: Banded
    reopen_core: Phrases
    reopen_tone: Banded
    closing: Mapping[bool, Banded]  # resolved -> bands
    closing_extras: Phrases
    subjects: Mapping[str, Phrases]
    outage_subjects: Phrases
    subject_prefixes: Phrases
    # agent.json
    agent_greetings: Phrases
    agent_names: Phrases
    agent_signoffs: Phrases
    agent_bodies: Mapping[str, Banded]
    agent_extras: Banded
    etas: Phrases
    note_templates: Mapping[str, Phrases]
    # details.json
    when: Phrases
    return_when: Phrases
    days: Phrases
    ordinals: Phrases
    environments: Phrases
    http_codes: Phrases
    error_prefixes: Phrases
    artifact_frames: Mapping[str, Phrases]
    category_artifacts: Mapping[str, Phrases]


def _frozen(value: Any) -> Any:
    """Lists become tuples, all the way down (JSON has no tuples)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _read(folder: Path | Traversable, name: str) -> dict[str, Any]:
    try:
        content = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PhrasebookError(f"{name}: phrase file is missing") from None
    except json.JSONDecodeError as err:
        raise PhrasebookError(f"{name}: not valid JSON ({err})") from None
    if not isinstance(content, dict):
        raise PhrasebookError(f"{name}: expected a JSON object of phrase tables")
    return {k: v for k, v in content.items() if not k.startswith("_")}


def _expect_keys(file: str, key: str, table: Mapping[Any, Any], keys: tuple[Any, ...]) -> None:
    if set(table) != set(keys):
        missing = sorted(map(str, set(keys) - set(table)))
        extra = sorted(map(str, set(table) - set(keys)))
        raise PhrasebookError(
            f"{file}: {key!r} must cover {keys}; missing {missing}, extra {extra}"
        )


def _expect_bands(file: str, key: str, table: Any) -> None:
    if len(table) != N_BANDS or not all(table):
        raise PhrasebookError(f"{file}: {key!r} needs {N_BANDS} non-empty lists (bands or tiers)")


def _check(where: Mapping[str, str], t: dict[str, Any]) -> None:
    """The tables cover the vocabulary; banded tables have four bands."""
    for key in ("things", "area_labels", "area_noun_phrases", "area_symptoms", "howto_tasks"):
        _expect_keys(where[key], key, t[key], PRODUCT_AREAS)
    _expect_keys(where["area_teams"], "area_teams", t["area_teams"], PRODUCT_AREAS)
    for key in ("category_labels", "category_teams", "subjects", "category_artifacts"):
        _expect_keys(where[key], key, t[key], ISSUE_CATEGORIES)
    _expect_keys(where["mentions"], "mentions", t["mentions"], MENTIONS)
    _expect_keys(where["agent_bodies"], "agent_bodies", t["agent_bodies"], AGENT_KINDS)
    _expect_keys(where["note_templates"], "note_templates", t["note_templates"], NOTE_KINDS)
    _expect_keys(where["closing"], "closing", t["closing"], (True, False))
    for key in (
        "greetings",
        "openers",
        "impacts",
        "requests",
        "signoffs",
        "chat_short",
        "reply_leads",
        "reply_outcomes",
        "follow_up_tails",
        "reopen_tone",
        "agent_extras",
    ):
        _expect_bands(where[key], key, t[key])
    for kind, tiers in t["agent_bodies"].items():
        _expect_bands(where["agent_bodies"], f"agent_bodies.{kind}", tiers)
    _expect_bands(where["closing"], "closing.resolved", t["closing"][True])
    _expect_bands(where["closing"], "closing.unresolved", t["closing"][False])
    if len(t["follow_ups"]) != 3 or not all(t["follow_ups"]):
        raise PhrasebookError(f"{where['follow_ups']}: 'follow_ups' needs 3 non-empty lists")
    unknown = {k for kinds in t["category_artifacts"].values() for k in kinds}
    unknown -= set(t["artifact_frames"])
    if unknown:
        raise PhrasebookError(
            f"{where['category_artifacts']}: artifact kinds {sorted(unknown)} have no frames"
        )


def load_phrasebook(folder: str | Path | None = None) -> Phrasebook:
    """Read and check the phrase files; the default folder is the installed ``phrases/``.

    Raises:
        PhrasebookError: a file is missing or malformed, a key is unknown or missing, or a
            table does not cover the vocabulary (naming the file and the key).
    """
    if folder is None:
        return _default_phrasebook()
    return _load(Path(folder))


@functools.cache
def _default_phrasebook() -> Phrasebook:
    return _load(resources.files(__package__).joinpath("phrases"))


def _load(folder: Path | Traversable) -> Phrasebook:
    fields = {f.name for f in dataclasses.fields(Phrasebook)}
    tables: dict[str, Any] = {}
    where: dict[str, str] = {}
    for name in PHRASE_FILES:
        for key, value in _read(folder, name).items():
            if key not in fields:
                raise PhrasebookError(f"{name}: unknown phrase table {key!r}")
            if key in tables:
                raise PhrasebookError(f"{name}: phrase table {key!r} is also in {where[key]}")
            tables[key], where[key] = _frozen(value), name
    missing = sorted(fields - set(tables))
    if missing:
        raise PhrasebookError(f"phrase tables missing from {', '.join(PHRASE_FILES)}: {missing}")
    try:
        # JSON has no tuples of two registers, nor boolean keys: rebuild those shapes.
        tables["mentions"] = {
            m: (cues["polite"], cues["blunt"]) for m, cues in tables["mentions"].items()
        }
        closing = tables["closing"]
        tables["closing"] = {True: closing["resolved"], False: closing["unresolved"]}
        _check(where, tables)
    except (KeyError, TypeError) as err:
        raise PhrasebookError(f"malformed phrase table: {err!r}") from None
    return Phrasebook(**tables)
