"""Tests for the synthetic support-desk text generator (sources/synthetic/text.py)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from sources.synthetic.phrasebook import BENIGN, load_phrasebook
from sources.synthetic.text import (
    AGENT_KINDS,
    CHANNELS,
    ISSUE_CATEGORIES,
    MENTIONS,
    NOTE_KINDS,
    PRODUCT_AREAS,
    TextBank,
)

# A message "mentions" a risk when one of these cues matches (case-insensitive, at a word start).
MENTION_CUES: dict[str, re.Pattern[str]] = {
    m: re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)
    for m, words in {
        "legal": ("lawyer", "legal", "counsel", "attorney", "breach", "sla\\b", "remed", "court"),
        "churn": (
            "cancel",
            "competitor",
            "renew",
            "switch",
            "vendor",
            "alternatives",
            "terminate",
            "migrating away",
            "subscription",
            "stay on the platform",
        ),
        "escalate": ("escalat", "manager", "supervisor", "senior", "team lead", "head of support"),
        "executive": (
            "vp\\b",
            "ceo",
            "coo\\b",
            "cto\\b",
            "cfo\\b",
            "executive",
            "director",
            "leadership",
            "board",
        ),
        "security": (
            "breach",
            "unauthori",
            "exposed",
            "leak",
            "compromised",
            "security",
            "logged into",
            "suspicious",
            "hacked",
            "accessed",
            "login to our admin",
        ),
        "billing": ("charg", "refund", "invoice", "overbilled", "credit", "paying"),
        "outage": (
            "is down",
            "outage",
            "unavailable",
            "500",
            "offline",
            "nothing is loading",
            "can.?t access",
        ),
        # Harmless mentions carry the same trigger words as the threats they are mistaken for.
        "benign_legal": ("legal", "lawyer", "counsel"),
        "benign_churn": ("cancel",),
        "benign_executive": ("ceo", "vp\\b", "director", "executive", "cfo\\b"),
        "benign_security": ("security",),
    }.items()
}
# Cues a model could learn as a shortcut; they must not appear unless requested.
STRONG_CUES = re.compile(
    r"lawyer|legal|attorney|cancel|competitor|\bceo\b|\bvp\b|manager|breach", re.IGNORECASE
)
NEGATIVE_WORDS = (
    "unacceptable",
    "ridiculous",
    "frustrat",
    "useless",
    "worst",
    "still",
    "again",
    "joke",
    "fed up",
    "disaster",
    "nothing",
    "broken",
    "waste",
    "seriously",
    "enough",
    "wtf",
    "ugh",
    "tired",
)
CUSTOMER_METHODS = ("opening", "customer_reply", "follow_up", "reopen", "closing")


@pytest.fixture(scope="module")
def bank() -> TextBank:
    return TextBank()


def _customer(
    bank: TextBank,
    rng: random.Random,
    method: str,
    f: float,
    mentions: tuple[str, ...] = (),
    channel: str = "email",
    category: str | None = None,
) -> str:
    """One customer message from `method`; category, area and counts drawn from rng if unset.

    Openings are outage reports one time in ten unless a category is forced.
    """
    cat = category or rng.choice(ISSUE_CATEGORIES)
    area = rng.choice(PRODUCT_AREAS)
    if method == "opening":
        outage = category is None and rng.random() < 0.1
        return bank.opening(rng, cat, area, f, outage, mentions, channel=channel)
    if method == "customer_reply":
        return bank.customer_reply(rng, cat, area, f, mentions, channel=channel)
    if method == "follow_up":
        return bank.follow_up(rng, f, rng.randint(1, 5), mentions, channel=channel)
    if method == "reopen":
        return bank.reopen(rng, cat, area, f, mentions, channel=channel)
    return bank.closing(rng, f, rng.random() < 0.6, channel=channel)


def _transcript(bank: TextBank, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(300):
        f = rng.random()
        ch = CHANNELS[i % len(CHANNELS)]
        m = (MENTIONS[i % len(MENTIONS)],) if i % 5 == 0 else ()
        cat, area = ISSUE_CATEGORIES[i % 5], PRODUCT_AREAS[i % 10]
        out.append(bank.subject(rng, cat, area, i % 7 == 0))
        out.extend(_customer(bank, rng, meth, f, m, ch) for meth in CUSTOMER_METHODS)
        out.append(
            bank.agent_message(rng, AGENT_KINDS[i % len(AGENT_KINDS)], cat, area, 1 + i % 4)
        )
        out.append(bank.internal_note(rng, NOTE_KINDS[i % len(NOTE_KINDS)], cat, area, 1 + i % 4))
    return out


def _words(text: str) -> list[str]:
    return text.split()


def _anger_score(text: str) -> int:
    low = text.lower()
    caps = sum(1 for w in _words(text) if len(w) >= 2 and w.isupper() and w.isalpha())
    return text.count("!") + caps + sum(low.count(w) for w in NEGATIVE_WORDS)


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_text(bank: TextBank) -> None:
    assert _transcript(bank, 11) == _transcript(TextBank(), 11)


def test_different_seed_gives_different_text(bank: TextBank) -> None:
    assert _transcript(bank, 11) != _transcript(bank, 12)


def test_does_not_touch_global_random_state(bank: TextBank) -> None:
    random.seed(5)
    expected = random.random()
    random.seed(5)
    _transcript(bank, 3)
    assert random.random() == expected


# -- variety -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["opening", "follow_up"])
def test_method_has_hundreds_of_distinct_messages(bank: TextBank, method: str) -> None:
    rng = random.Random(1)
    texts = {_customer(bank, rng, method, (i % 21) / 20) for i in range(2000)}
    assert len(texts) >= 400


def test_customer_methods_together_have_over_a_thousand_distinct_messages(
    bank: TextBank,
) -> None:
    rng = random.Random(2)
    texts = {
        _customer(
            bank, rng, CUSTOMER_METHODS[i % 5], (i % 21) / 20, channel=CHANNELS[i % len(CHANNELS)]
        )
        for i in range(3000)
    }
    assert len(texts) >= 1000


def test_agent_messages_vary_and_differ_by_tier(bank: TextBank) -> None:
    rng = random.Random(3)
    texts = {
        bank.agent_message(rng, k, "technical", "api", t)
        for k in AGENT_KINDS
        for t in (1, 2, 3, 4)
        for _ in range(20)
    }
    assert len(texts) >= 300
    tier1 = " ".join(bank.agent_message(rng, "update", "technical", "api", 1) for _ in range(200))
    tier3 = " ".join(bank.agent_message(rng, "update", "technical", "api", 3) for _ in range(200))
    eng_words = re.compile(r"root cause|deploy|logs|regression|patch|rolling back", re.I)
    assert len(eng_words.findall(tier3)) > 3 * len(eng_words.findall(tier1)) + 10


def test_handoff_mentions_transfer_to_a_specialist_team(bank: TextBank) -> None:
    rng = random.Random(4)
    for _ in range(200):
        text = bank.agent_message(
            rng,
            "handoff",
            rng.choice(ISSUE_CATEGORIES),
            rng.choice(PRODUCT_AREAS),
            rng.randint(1, 4),
        ).lower()
        assert "specialist" in text or "team" in text
        assert re.search(r"transfer|hand|pass|escalat|moving|bringing", text)


def test_lengths_range_from_one_liners_to_long_messages(bank: TextBank) -> None:
    rng = random.Random(5)
    lengths = [
        len(
            _words(
                _customer(
                    bank,
                    rng,
                    CUSTOMER_METHODS[i % 5],
                    (i % 11) / 10,
                    channel=CHANNELS[i % len(CHANNELS)],
                )
            )
        )
        for i in range(2000)
    ]
    assert sum(n < 8 for n in lengths) >= 20
    assert sum(n > 40 for n in lengths) >= 20


def test_artifacts_use_random_digits(bank: TextBank) -> None:
    rng = random.Random(6)
    text = " ".join(bank.opening(rng, "technical", "api", 0.3, False) for _ in range(500))
    text += " ".join(
        bank.opening(rng, "billing", "billing_portal", 0.3, False) for _ in range(300)
    )
    assert len(set(re.findall(r"\b[A-Z]+-\d{4}\b", text))) >= 20
    assert len(set(re.findall(r"INV-\d{4}-\d{5}", text))) >= 20
    assert len(set(re.findall(r"v\d+\.\d+\.\d+", text))) >= 10


# -- risk mentions -----------------------------------------------------------------------------


@pytest.mark.parametrize("mention", [m for m in MENTIONS if m not in BENIGN])
def test_requested_mention_has_a_recognisable_cue(bank: TextBank, mention: str) -> None:
    rng = random.Random(MENTIONS.index(mention))
    cue = MENTION_CUES[mention]
    # Categories whose own wording could carry the cue are left out, so the cue must come
    # from the mention itself.
    cats = [c for c in ISSUE_CATEGORIES if c not in (mention, "contract")]
    variants = set()
    without = 0
    n = 400
    for i in range(n):
        method = CUSTOMER_METHODS[i % 4]  # closing takes no mentions
        f = (i % 11) / 10
        ch = CHANNELS[i % len(CHANNELS)]
        text = _customer(bank, rng, method, f, (mention,), ch, category=rng.choice(cats))
        match = cue.search(text)
        assert match, f"{mention!r} cue missing in: {text!r}"
        variants.add(match.group(0).lower())
        plain = _customer(bank, rng, method, f, (), ch, category=rng.choice(cats))
        without += bool(cue.search(plain))
    assert len(variants) >= 4, f"{mention!r} is phrased too uniformly: {variants}"
    assert without / n < 0.05, f"{mention!r} cue shows up without being requested"


@pytest.mark.parametrize("mention", BENIGN)
def test_harmless_mention_carries_the_trigger_word_in_varied_requests(
    bank: TextBank, mention: str
) -> None:
    rng = random.Random(BENIGN.index(mention))
    cue = MENTION_CUES[mention]
    polite, blunt = load_phrasebook().mentions[mention]
    phrases = {re.sub(r"[.!?]+$", "", p.lower()) for p in polite + blunt}
    seen = set()
    for i in range(300):
        f = (i % 11) / 10
        text = _customer(bank, rng, CUSTOMER_METHODS[i % 4], f, (mention,), CHANNELS[i % 4])
        assert cue.search(text), f"{mention!r} trigger missing in: {text!r}"
        plain = re.sub(r"[.!?]+", ".", text.lower())
        seen |= {p for p in phrases if re.sub(r"[.!?]+", ".", p) in plain}
    assert len(seen) >= 5, seen


def test_strong_cues_are_rare_without_mentions(bank: TextBank) -> None:
    rng = random.Random(7)
    texts = [
        _customer(
            bank,
            rng,
            CUSTOMER_METHODS[i % 5],
            0.85 + 0.15 * (i % 4) / 3,
            channel=CHANNELS[i % len(CHANNELS)],
        )
        for i in range(3000)
    ]
    texts += [
        bank.subject(
            rng, rng.choice(ISSUE_CATEGORIES), rng.choice(PRODUCT_AREAS), rng.random() < 0.2
        )
        for _ in range(500)
    ]
    hits = [t for t in texts if STRONG_CUES.search(t)]
    assert len(hits) / len(texts) < 0.02, hits[:5]


# -- frustration -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", CUSTOMER_METHODS)
def test_frustration_shows_in_wording(bank: TextBank, method: str) -> None:
    rng = random.Random(8)
    calm = [_anger_score(_customer(bank, rng, method, 0.05)) for _ in range(500)]
    angry = [_anger_score(_customer(bank, rng, method, 0.95)) for _ in range(500)]
    assert sum(angry) / 500 > 2.0 * (sum(calm) / 500) + 0.5


def test_follow_up_hardens_with_unanswered_count(bank: TextBank) -> None:
    rng = random.Random(9)
    first = [bank.follow_up(rng, 0.4, 1) for _ in range(300)]
    third = [bank.follow_up(rng, 0.4, 4) for _ in range(300)]
    asked_again = re.compile(r"second|again|\d+ times|follow-up|nobody|still|anyone", re.I)
    assert (
        sum(bool(asked_again.search(t)) for t in third)
        > sum(bool(asked_again.search(t)) for t in first) + 100
    )
    assert any("4" in t or "fourth" in t.lower() for t in third)


def test_chat_has_more_typos_and_lower_case_than_email(bank: TextBank) -> None:
    rng = random.Random(10)

    def lower_share(channel: str) -> float:
        texts = [
            bank.opening(rng, "technical", "api", 0.3, False, channel=channel) for _ in range(500)
        ]
        return sum(t == t.lower() for t in texts) / len(texts)

    assert lower_share("chat") > lower_share("email") + 0.1


# -- validation --------------------------------------------------------------------------------


BAD_CALLS: list[tuple[str, Callable[[TextBank, random.Random], str]]] = [
    ("shipping", lambda b, r: b.opening(r, "shipping", "api", 0.5, False)),
    ("toaster", lambda b, r: b.subject(r, "billing", "toaster", False)),
    ("lawsuit", lambda b, r: b.customer_reply(r, "billing", "api", 0.5, ("lawsuit",))),
    ("lawsuit", lambda b, r: b.follow_up(r, 0.5, 2, ("legal", "lawsuit"))),
    ("toaster", lambda b, r: b.reopen(r, "technical", "toaster", 0.5)),
    ("fax", lambda b, r: b.closing(r, 0.5, True, channel="fax")),
    ("dance", lambda b, r: b.agent_message(r, "dance", "billing", "api", 1)),
    ("7", lambda b, r: b.agent_message(r, "ack", "billing", "api", 7)),
    ("shipping", lambda b, r: b.agent_message(r, "ack", "shipping", "api", 1)),
    ("gossip", lambda b, r: b.internal_note(r, "gossip", "billing", "api", 2)),
    ("toaster", lambda b, r: b.internal_note(r, "handoff", "billing", "toaster", 2)),
]


@pytest.mark.parametrize(("bad", "call"), BAD_CALLS)
def test_invalid_arguments_raise_value_error_naming_the_value(
    bank: TextBank, bad: str, call: Callable[[TextBank, random.Random], str]
) -> None:
    with pytest.raises(ValueError, match=bad):
        call(bank, random.Random(0))


def test_nan_frustration_is_refused(bank: TextBank) -> None:
    with pytest.raises(ValueError, match="frustration"):
        bank.opening(random.Random(0), "billing", "api", float("nan"), False)


def test_every_valid_combination_produces_text(bank: TextBank) -> None:
    rng = random.Random(12)
    for cat in ISSUE_CATEGORIES:
        for area in PRODUCT_AREAS:
            assert bank.subject(rng, cat, area, False)
            assert bank.opening(rng, cat, area, 0.5, True, MENTIONS)
            for tier in (1, 2, 3, 4):
                for kind in AGENT_KINDS:
                    assert "{" not in bank.agent_message(rng, kind, cat, area, tier)
                for kind in NOTE_KINDS:
                    assert "{" not in bank.internal_note(rng, kind, cat, area, tier)


def test_no_unfilled_placeholders(bank: TextBank) -> None:
    for text in _transcript(bank, 13):
        assert "{" not in text and "}" not in text, text
