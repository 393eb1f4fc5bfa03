"""API keys with scopes, and the start-up rule that keeps an unauthenticated service local.

Keys come from ``ESCALATION_RISK_API_KEYS`` as comma-separated ``scope:key`` entries, e.g.
``score:k1,score:k2,read:k3,admin:k4``: several keys per scope (rotation: add the new key,
move the clients, remove the old one) and one key under several scopes (``score:k1,read:k1``).

An entry without a scope (the form before scopes existed) keeps working and grants what a key
granted then: ``score``, ``feedback`` and ``read``, never ``admin`` (erasure is new; an old
key handed to a scoring client must not gain it on upgrade). The service logs a warning
naming how many such keys it holds.

Only SHA-256 digests of the keys are kept in memory; a presented key is hashed and compared
with every stored digest by :func:`hmac.compare_digest` (no early exit, so the time taken says
nothing about which key or how much of it matched). Nothing here ever logs or returns a key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
MIN_KEY_CHARS = 16
# Values that look like an unfilled template: refusing them beats running with a known key.
PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "your-key-here", "xxx", "todo"})


class Scope(StrEnum):
    """What a key may do."""

    SCORE = "score"  # POST /v1/score, /v1/score/batch
    FEEDBACK = "feedback"  # POST /v1/feedback (changes an account's history)
    READ = "read"  # model info, metrics, the board and its groups
    ADMIN = "admin"  # erasure (DELETE /v1/admin/accounts/{id}) and other operator actions


# What a key without a scope grants (everything that existed before scopes, not admin).
UNSCOPED_GRANTS = frozenset({Scope.SCORE, Scope.FEEDBACK, Scope.READ})


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True)
class Caller:
    """Who presented a valid key: a short non-secret id and the scopes the key grants."""

    key_id: str  # first 8 hex digits of the key's SHA-256 (safe to log, cannot be reversed)
    scopes: frozenset[Scope]


class KeyConfigError(ValueError):
    """A malformed ``ESCALATION_RISK_API_KEYS`` value (the message never holds a key)."""


@dataclass(frozen=True)
class KeyRing:
    """The configured keys, as digests -> scopes."""

    grants: Mapping[bytes, frozenset[Scope]] = field(repr=False)
    unscoped: int = 0  # keys given without a scope (granted UNSCOPED_GRANTS)

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """Parse ``scope:key,...`` (or unscoped ``key,...``).

        Raises:
            KeyConfigError: an unknown scope, an empty key, a placeholder or a key shorter than
                16 characters; the message names the entry's position and scope, never the key.
        """
        grants: dict[bytes, set[Scope]] = {}
        unscoped: set[bytes] = set()
        entries = [e.strip() for e in value.split(",")]
        for n, entry in enumerate((e for e in entries if e), start=1):
            scope_name, sep, key = entry.partition(":")
            if sep:
                try:
                    scopes = {Scope(scope_name.strip().lower())}
                except ValueError:
                    raise KeyConfigError(
                        f"API key entry {n}: unknown scope {scope_name.strip()[:20]!r}; "
                        f"scopes are {', '.join(s.value for s in Scope)}"
                    ) from None
                key = key.strip()
            else:
                key, scopes = scope_name, set(UNSCOPED_GRANTS)
            if key.lower() in PLACEHOLDERS or len(key) < MIN_KEY_CHARS:
                raise KeyConfigError(
                    f"API key entry {n} holds a placeholder or a key shorter than "
                    f"{MIN_KEY_CHARS} characters; set real keys (e.g. `python -c 'import "
                    "secrets; print(secrets.token_urlsafe(32))'`)"
                )
            digest = _digest(key)
            grants.setdefault(digest, set()).update(scopes)
            if not sep:
                unscoped.add(digest)
        return cls({d: frozenset(s) for d, s in grants.items()}, len(unscoped))

    def __bool__(self) -> bool:
        return bool(self.grants)

    def identify(self, key: str | None) -> Caller | None:
        """The caller a key belongs to, or None for a missing or unknown key.

        Every stored digest is compared (constant time each, no early exit).
        """
        if not key:
            return None
        presented = _digest(key)
        found: frozenset[Scope] | None = None
        for digest, scopes in self.grants.items():
            if hmac.compare_digest(presented, digest):
                found = scopes
        if found is None:
            return None
        return Caller(presented.hex()[:8], found)

    def check(self, key: str | None, scope: Scope | str) -> Caller:
        """The caller if ``key`` grants ``scope`` (the helper cookie-based pages reuse).

        Raises:
            AccessDenied: status 401 for a missing or unknown key, 403 naming the missing
                scope for a valid key without it.
        """
        scope = Scope(scope)
        caller = self.identify(key)
        if caller is None:
            reason = "missing API key" if not key else "unknown API key"
            raise AccessDenied(401, f"{reason} (header {API_KEY_HEADER} or Authorization: Bearer)")
        if scope not in caller.scopes:
            raise AccessDenied(403, f"this API key lacks the {scope.value!r} scope")
        return caller


class AccessDenied(Exception):
    """A refused key: HTTP status (401 or 403) and a message without the key."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries: ``X-API-Key``, else ``Authorization: Bearer <key>``."""
    given = headers.get(API_KEY_HEADER) or headers.get(API_KEY_HEADER.lower())
    if given:
        return given.strip() or None
    auth = headers.get("authorization") or headers.get("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (an address only this machine reaches)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, treat it as exposed


class ExposureError(RuntimeError):
    """The service would listen beyond this machine without API keys."""


def check_exposure(host: str, keys: KeyRing, allow_unauthenticated: bool) -> None:
    """Refuse a non-loopback ``host`` without keys unless explicitly allowed (then warn loudly).

    Raises:
        ExposureError: ``host`` is reachable from other machines, no API key is configured and
            ``allow_unauthenticated`` is off.
    """
    if keys or is_loopback(host):
        return
    if not allow_unauthenticated:
        raise ExposureError(
            f"refusing to listen on {host} without API keys: anyone on the network could read "
            "scores and briefs (customer data) and change account history. Set "
            "ESCALATION_RISK_API_KEYS (see README 'Security'), listen on 127.0.0.1, or set "
            "ESCALATION_RISK_ALLOW_UNAUTHENTICATED=true if something in front of the service "
            "authenticates every request"
        )
    log.warning(
        "SECURITY: listening on %s WITHOUT API KEYS (ESCALATION_RISK_ALLOW_UNAUTHENTICATED=true):"
        " every route but the admin ones is open to whoever reaches this address",
        host,
    )
