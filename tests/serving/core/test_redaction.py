"""Redaction of e-mail addresses, phone numbers, card numbers and IBANs: a corpus of hostile
and multilingual text (with near-misses that must stay), the checks, the log filter."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from serving.core.redaction import (
    CARD,
    EMAIL,
    IBAN,
    PHONE,
    RedactingFilter,
    iban_valid,
    install_log_redaction,
    luhn_valid,
    redact,
    redact_answer,
    redact_tree,
)

CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent / "redaction_corpus.jsonl").read_text("utf-8").splitlines()
]
TOKENS = (EMAIL, PHONE, CARD, IBAN)


def test_the_corpus_is_large_and_covers_every_kind_and_its_near_misses():
    kinds = {c["kind"] for c in CORPUS}
    assert len(CORPUS) >= 100
    for kind in ("email", "phone", "card", "iban"):
        assert kind in kinds and f"{kind}-miss" in kinds
    misses = [c for c in CORPUS if c["kind"].endswith("-miss")]
    assert len(misses) >= 30
    assert all(c["text"] == c["expect"] or "note" in c for c in misses)


@pytest.mark.parametrize("case", CORPUS, ids=[f"{i}-{c['kind']}" for i, c in enumerate(CORPUS)])
def test_corpus(case):
    assert redact(case["text"]) == case["expect"]


def test_redaction_is_idempotent_on_the_corpus():
    for case in CORPUS:
        once = redact(case["text"])
        assert redact(once) == once


@pytest.mark.parametrize(
    "number, valid",
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("378282246310005", True),
        ("6011111111111117", True),
        ("1234567890123456", False),
        ("79927398713", True),
    ],
)
def test_luhn(number, valid):
    assert luhn_valid([int(c) for c in number]) is valid


@pytest.mark.parametrize(
    "iban, valid",
    [
        ("DE89370400440532013000", True),
        ("GB82WEST12345698765432", True),
        ("gb82west12345698765432", True),
        ("GB82WEST12345698765433", False),
        ("DE8937040044053201300", False),
        ("DE89 3704 0044 0532 0130 00", False),  # spaces are stripped before, not here
        ("XX", False),
    ],
)
def test_iban_mod_97(iban, valid):
    assert iban_valid(iban) is valid


def test_a_tree_is_redacted_everywhere_and_an_answer_only_in_its_brief():
    tree = {"a": ["mail jo@example.com", {"b": ("4111 1111 1111 1111", 3)}], "n": 1.5}
    assert redact_tree(tree) == {"a": [f"mail {EMAIL}", {"b": (CARD, 3)}], "n": 1.5}
    answer = {
        "ticket_id": "jo@example.com",
        "brief": {"customer": {"subject": "Call +44 20 7946 0958"}, "artifacts": ["x@y.io"]},
    }
    out = redact_answer(answer)
    assert out["ticket_id"] == "jo@example.com"  # the caller's own key stays
    assert out["brief"] == {"customer": {"subject": f"Call {PHONE}"}, "artifacts": [EMAIL]}
    off = {"brief": {"customer": {"subject": "x@y.io"}}}
    assert redact_answer(off, enabled=False)["brief"]["customer"]["subject"] == "x@y.io"


def _capture() -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("serving.test_redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, stream, handler


def test_the_log_filter_redacts_messages_arguments_and_tracebacks():
    logger, stream, handler = _capture()
    try:
        logger.info("ticket from %s, card %s", "jo@example.com", "4111-1111-1111-1111")
        try:
            raise ValueError("bad IBAN DE89370400440532013000 for +49 30 1234567")
        except ValueError:
            logger.exception("scoring failed for %s", "mia@example.org")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    for secret in ("jo@example.com", "4111", "DE89370400440532013000", "1234567", "mia@"):
        assert secret not in out
    assert EMAIL in out and CARD in out and IBAN in out and PHONE in out
    assert "ValueError" in out  # the traceback stays, without the data


def test_install_puts_one_filter_on_each_handler_of_the_service_loggers():
    root = logging.getLogger("uvicorn.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        assert install_log_redaction(["uvicorn.access"]) == 1
        assert install_log_redaction(["uvicorn.access"]) == 0  # idempotent
        root.warning('"DELETE /v1/admin/accounts/jo@example.com HTTP/1.1" 200')
    finally:
        root.removeHandler(handler)
    assert "jo@example.com" not in stream.getvalue() and EMAIL in stream.getvalue()


@pytest.mark.parametrize(
    "hostile",
    [
        "1 " * 10_000,
        "a." * 10_000 + "@",
        "x@" + "a." * 10_000,
        "1-" * 10_000,
        "DE89" * 5_000,
        "(0)" * 6_000,
        "a@b" * 6_000,
        "+1 " * 6_000,
        "4" * 20_000,
    ],
    ids=["spaced", "dots-at", "at-dots", "dashed", "iban-heads", "parens", "ats", "pluses", "run"],
)
def test_long_hostile_inputs_are_handled(hostile):
    """20,000-character inputs shaped to make the patterns backtrack: they finish (a
    catastrophic pattern would hang this test) and redacting again changes nothing."""
    out = redact(hostile)
    assert redact(out) == out
