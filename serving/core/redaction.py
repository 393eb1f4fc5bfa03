"""Personal data out of the text the service emits: e-mail addresses, phone numbers, payment
card numbers and IBANs become ``[email]``, ``[phone]``, ``[card]`` and ``[iban]``.

What counts (tests/serving/core/redaction_corpus.jsonl holds the cases, hostile and
multilingual, with the near-misses that must stay):

- **e-mail**: ``local@domain.tld`` in any script (also the full-width ``＠``), and the
  obfuscated ``name (at) domain (dot) com`` / ``[at]`` / ``{at}`` forms;
- **card**: 13 to 19 digits, single spaces or dashes between them allowed, passing the Luhn
  check (an order number of the same shape that fails it stays);
- **IBAN**: two letters, two check digits and the account part (spaces allowed), of the
  country's registered length where the country is known, passing the ISO 7064 mod-97 check;
- **phone**: ``+`` or ``00`` and 8 to 15 digits (E.164); a national number written with
  separators that starts with ``0`` (9 to 12 digits) or ``(``; the North-American
  ``555-123-4567`` shapes; and any run of 7 to 15 digits right after a phone word
  (``tel``, ``Telefon``, ``電話``, ... in ``data/redaction.json``). A bare digit run without
  such a word is *not* a phone number (order and invoice numbers look the same), nor are
  dates, times, versions and IP addresses.

Separators include no-break and thin spaces and the zero-width characters sometimes used to
dodge filters. Digits are any Unicode decimal digits (full-width, Arabic-Indic, ...).

:func:`redact` is the one entry point for text (alerts call it on their body);
:func:`redact_tree` walks a JSON-like answer; :class:`RedactingFilter` is a
:class:`logging.Filter` for log handlers (:func:`install_log_redaction`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

EMAIL, PHONE, CARD, IBAN = "[email]", "[phone]", "[card]", "[iban]"

# Characters people (or evasion attempts) put between digits.
_GAP = "\u00a0\u2007\u2009\u202f\u200b\u200c\u200d\u2060\u00ad"
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\u00ad]")

_EMAIL_RE = re.compile(
    r"(?<![\w.+%-])[\w.+%-]{1,64}"
    r"(?:[@＠]|\s?[(\[{]\s?at\s?[)\]}]\s?)"
    r"[\w-]{1,63}(?:(?:\.|\s?[(\[{]\s?dot\s?[)\]}]\s?)[\w-]{1,63}){1,8}(?![\w@])",
    re.IGNORECASE,
)
_CARD_RE = re.compile(rf"(?<![\w])(?:\d[ \-{_GAP}]?){{12,18}}\d(?![\w])")
_IBAN_RE = re.compile(rf"(?<![\w])[A-Z]{{2}}\d{{2}}(?:[ {_GAP}]?[A-Z0-9]){{11,30}}", re.IGNORECASE)
_PHONE_RE = re.compile(
    rf"(?<![\w+＋\-/.@])(?:[+＋]|\(\s?[+＋]?)?\d(?:\d|[ \-./(){_GAP}]{{1,3}}){{5,26}}\d(?![\w@])"
)
_NANP_RE = re.compile(r"(?:1[ .-])?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}")
_DATE_RE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?: \d{1,2})?")  # (and an hour)
_DOTTED_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){1,3}")  # versions, IP addresses


@cache
def _data() -> dict:
    text = resources.files("serving.core").joinpath("data/redaction.json").read_text("utf-8")
    return json.loads(text)


def _digits(text: str) -> list[int]:
    return [int(c) for c in text if c.isdecimal()]


def luhn_valid(digits: list[int]) -> bool:
    """The Luhn check of a card number (digits, most significant first)."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 7064 mod-97: the IBAN (letters and digits, no spaces) moved and read as a number."""
    if not iban.isascii() or not iban.isalnum() or len(iban) < 15:
        return False
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in moved.upper())
    return int(number) % 97 == 1


def _card(m: re.Match[str]) -> str:
    digits = _digits(m.group(0))
    return CARD if 13 <= len(digits) <= 19 and luhn_valid(digits) else m.group(0)


def _iban(m: re.Match[str]) -> str:
    """The longest prefix of the match that is a valid IBAN (the pattern runs on into words)."""
    text = m.group(0)
    ends = [i + 1 for i, c in enumerate(text) if c.isalnum()]  # end offsets after each char
    compact = "".join(c for c in text if c.isalnum())
    known = _data()["iban_lengths"].get(compact[:2].upper())
    lengths = [known] if known else range(min(34, len(compact)), 14, -1)
    for n in lengths:
        if n <= len(compact) and iban_valid(compact[:n]):
            end = ends[n - 1]
            if end < len(text) and text[end].isalnum():
                continue  # would cut a word in two
            return IBAN + _IBAN_RE.sub(_iban, text[end:])
    return text


def _phone_word_before(text: str, start: int) -> bool:
    window = text[max(0, start - 30) : start].lower()
    for word in _data()["phone_words"]:
        at = window.rfind(word)
        if at < 0:
            continue
        if word.isascii() and at > 0 and window[at - 1].isalnum():
            continue  # inside another word ("hotel")
        rest = window[at + len(word) :]
        if word.isascii() and rest[:1].isalpha() and not rest.startswith(" "):
            continue  # "telemetry", "callback"
        if len(rest) <= 15 and not any(c.isdecimal() for c in rest):
            return True
    return False


def _phone(text: str):
    def replace(m: re.Match[str]) -> str:
        found = m.group(0)
        digits = len(_digits(found))
        plain = _ZERO_WIDTH.sub("", found)
        separated = any(not c.isdecimal() for c in plain.lstrip("+＋("))
        if _DATE_RE.fullmatch(plain) or _DOTTED_RE.fullmatch(plain):
            return found
        if plain[0] in "+＋" or plain.startswith("00") and digits >= 10:
            ok = 8 <= digits - (2 if plain.startswith("00") else 0) <= 15
        elif plain[0] == "(":
            ok = 9 <= digits <= 12
        elif plain[0] == "0" and separated:
            ok = 9 <= digits <= 12
        else:
            ok = bool(_NANP_RE.fullmatch(plain))
        if not ok and 7 <= digits <= 15:
            ok = _phone_word_before(text, m.start())
        return PHONE if ok else found

    return replace


def redact(text: str) -> str:
    """``text`` with e-mail addresses, IBANs, card numbers and phone numbers replaced."""
    if not text:
        return text
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _IBAN_RE.sub(_iban, text)
    text = _CARD_RE.sub(_card, text)
    return _PHONE_RE.sub(_phone(text), text)


def redact_tree(value: Any) -> Any:
    """Every string in a JSON-like value (dicts, lists, tuples) redacted; a new value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_tree(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Redacts a record's message (arguments merged in) and its exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# The loggers whose handlers write the service's lines: the root (ours propagate to it) and
# uvicorn's own (access log lines hold paths, which may hold an account id).
SERVICE_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def install_log_redaction(loggers: Iterable[str] = SERVICE_LOGGERS) -> int:
    """Put one :class:`RedactingFilter` on every handler of ``loggers`` (idempotent).

    A filter on a handler sees every record the handler writes, including those propagated
    from child loggers (a filter on a logger would not). Returns the handlers newly covered.
    """
    added = 0
    for name in loggers:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
                added += 1
    return added


def redact_answer(body: dict, enabled: bool = True) -> dict:
    """A score answer with its brief (the part built from ticket text) redacted, in place.

    The top-level ids stay as sent: they are the caller's own keys for the answer.
    """
    if enabled and isinstance(body.get("brief"), dict):
        body["brief"] = redact_tree(body["brief"])
    return body
