"""Scoped API keys (parsing, hashing, checks that never name the key) and the start-up rule
that keeps a service without keys on loopback."""

from __future__ import annotations

import logging

import pytest

from serving.core.security import (
    UNSCOPED_GRANTS,
    AccessDenied,
    ExposureError,
    KeyConfigError,
    KeyRing,
    Scope,
    check_exposure,
    is_loopback,
    presented_key,
)

A, B, C, D = ("a" * 20, "b" * 24, "c-" * 10, "d_" * 12)


def test_scoped_keys_several_per_scope_and_one_key_under_several_scopes():
    ring = KeyRing.parse(f"score:{A}, score:{B},read:{C},READ:{A},admin:{D}")
    assert ring.identify(A).scopes == {Scope.SCORE, Scope.READ}
    assert ring.identify(B).scopes == {Scope.SCORE}
    assert ring.identify(C).scopes == {Scope.READ}
    assert ring.identify(D).scopes == {Scope.ADMIN}
    assert ring.unscoped == 0 and ring.identify("x" * 20) is None and ring.identify(None) is None


def test_unscoped_keys_keep_what_a_key_granted_before_scopes_but_never_admin():
    ring = KeyRing.parse(f"{A},admin:{B}")
    assert ring.identify(A).scopes == UNSCOPED_GRANTS
    assert Scope.ADMIN not in UNSCOPED_GRANTS and ring.unscoped == 1


def test_only_digests_are_kept_and_reprs_hold_no_key():
    ring = KeyRing.parse(f"score:{A}")
    assert all(len(d) == 32 for d in ring.grants) and A.encode() not in ring.grants
    assert A not in repr(ring)
    caller = ring.identify(A)
    assert A not in repr(caller) and len(caller.key_id) == 8


@pytest.mark.parametrize(
    "value, problem",
    [
        (f"scroe:{A}", "unknown scope 'scroe'"),
        ("score:changeme", "placeholder"),
        ("read:short-key", "shorter than 16"),
        (f"score:{A},{'x' * 20},todo", "entry 3"),
        ("score:", "entry 1"),
    ],
)
def test_bad_key_settings_name_the_entry_never_the_key(value, problem):
    with pytest.raises(KeyConfigError, match=problem) as err:
        KeyRing.parse(value)
    assert A not in str(err.value) and "changeme" not in str(err.value)


def test_check_answers_401_for_missing_or_unknown_and_403_naming_the_scope():
    ring = KeyRing.parse(f"score:{A}")
    assert ring.check(A, "score").key_id == ring.identify(A).key_id
    for key, status in ((None, 401), ("", 401), ("z" * 20, 401), (A, 403)):
        with pytest.raises(AccessDenied) as err:
            ring.check(key, Scope.ADMIN)
        assert err.value.status == status
        assert A not in err.value.message and "z" * 20 not in err.value.message
    with pytest.raises(AccessDenied, match="lacks the 'admin' scope"):
        ring.check(A, "admin")


def test_the_key_comes_from_x_api_key_or_a_bearer_token():
    assert presented_key({"x-api-key": f" {A} "}) == A
    assert presented_key({"authorization": f"Bearer {A}"}) == A
    assert presented_key({"authorization": f"bearer   {A}"}) == A
    assert presented_key({"authorization": f"Basic {A}"}) is None
    assert presented_key({}) is None and presented_key({"x-api-key": "  "}) is None


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.internal", False),
        ("", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_a_service_without_keys_refuses_a_network_address(caplog):
    empty = KeyRing.parse("")
    check_exposure("127.0.0.1", empty, allow_unauthenticated=False)  # local use: fine
    check_exposure("0.0.0.0", KeyRing.parse(f"score:{A}"), allow_unauthenticated=False)
    with pytest.raises(ExposureError, match="refusing to listen on 0.0.0.0 without API keys"):
        check_exposure("0.0.0.0", empty, allow_unauthenticated=False)
    with caplog.at_level(logging.WARNING, logger="serving.core.security"):
        check_exposure("0.0.0.0", empty, allow_unauthenticated=True)
    assert "WITHOUT API KEYS" in caplog.text and "SECURITY" in caplog.text
