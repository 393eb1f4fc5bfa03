"""Every route x every scope: the app's routes are enumerated, so a route added later is
covered without editing this file, and one that checks no key fails here.

A route names its scope with ``Depends(require_scope(...))``. Exceptions: the explicit
``OPEN`` allow-list (probes, the API schema, the board's sign-in and static files) and the
board's pages, which check the key (header or session cookie) in the handler: they are tested
by behaviour only (no key and a key without the scope are refused, some scope gets in).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from serving.api.deps import check_key
from serving.core.config import Settings
from serving.core.errors import ServiceError
from serving.core.security import API_KEY_HEADER, Scope
from serving.main import create_app
from serving.services.service import Service
from serving.services.store import Store

KEYS = {scope: f"{scope.value}-key-{'x' * 20}" for scope in Scope}
# What each known route needs (a route missing here is checked against its own dependency).
SCOPE_OF = {
    ("POST", "/v1/score"): Scope.SCORE,
    ("POST", "/v1/score/batch"): Scope.SCORE,
    ("POST", "/v1/tickets/{ticket_id}/events"): Scope.SCORE,
    ("POST", "/v1/feedback"): Scope.FEEDBACK,
    ("GET", "/v1/model"): Scope.READ,
    ("GET", "/metrics"): Scope.READ,
    ("GET", "/board/api/groups"): Scope.READ,  # the board's session or a header key
    ("DELETE", "/v1/admin/accounts/{account_id}"): Scope.ADMIN,
}
# Open on purpose: probes carry no key; the schema holds no data; one signs in without a key.
OPEN = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/board/login"),
    ("POST", "/board/login"),
    ("POST", "/board/logout"),
    ("GET", "/board/static/{name}"),
}
SELF_GUARDED = ("/board",)  # pages that read the key from a cookie too (serving/board/auth.py)


def _routes(app) -> Iterator[tuple[str, str, set[Scope], dict[str, str]]]:
    """(method, path template, scopes its dependencies require, a value for each required
    query parameter) of every route of ``app``."""

    def scopes(dependant) -> set[Scope]:
        found = {dependant.call.scope} if hasattr(dependant.call, "scope") else set()
        for sub in dependant.dependencies:
            found |= scopes(sub)
        return found

    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for ctx in contexts:
            dependant = getattr(ctx, "dependant", None)
            query = {
                q.name: "1"
                for q in (dependant.query_params if dependant else [])
                if q.field_info.is_required()
            }
            for method in sorted(ctx.methods or ()):
                if method != "HEAD":
                    yield method, ctx.path, scopes(dependant) if dependant else set(), query


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Iterator[tuple[TestClient, list]]:
    tmp = tmp_path_factory.mktemp("secured")
    settings = Settings(
        _env_file=None,
        api_keys=",".join(f"{s.value}:{k}" for s, k in KEYS.items()),
        store_path=tmp / "serving.db",
        model_cache_dir=tmp / "model-cache",
        rate_limit_per_second=0,  # this test sends many requests with one key
    )
    store = Store(settings.store_path)
    service = Service(settings, store=store)  # not booted: routes past the check answer 503
    app = create_app(service=service, background=False)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client, list(_routes(app))
    store.close()


def _call(client: TestClient, method: str, path: str, query: dict, key: str | None):
    url = re.sub(r"\{[^}]+\}", "x", path)
    headers = {"X-Board": "1"}  # the board's own-script header (its CSRF guard), not a key
    if key is not None:
        headers[API_KEY_HEADER] = key
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, url, params=query, headers=headers, json=body)


def _refused(r) -> bool:
    to_login = r.status_code in (302, 303, 307) and "/board/login" in r.headers.get("location", "")
    return r.status_code in (401, 403) or to_login


def test_every_route_needs_a_scope_unless_it_is_open_on_purpose(secured):
    _, routes = secured
    missing = [
        (m, p)
        for m, p, scopes, _ in routes
        if not scopes and (m, p) not in OPEN and not p.startswith(SELF_GUARDED)
    ]
    assert not missing, f"routes without require_scope(...): {missing}"
    for m, p, scopes, _ in routes:
        if (m, p) in SCOPE_OF:
            assert scopes == {SCOPE_OF[(m, p)]}, (m, p, scopes)
        assert len(scopes) <= 1, f"{m} {p} needs several scopes: {scopes}"
    assert {(m, p) for m, p, _, _ in routes} >= set(SCOPE_OF)  # the known routes still exist


def test_each_route_with_each_scope(secured):
    client, routes = secured
    for method, path, scopes, query in routes:
        if (method, path) in OPEN:  # the sign-in form answers its own 401 for a bad key
            continue
        anonymous = _call(client, method, path, query, None)
        assert _refused(anonymous), f"{method} {path} answered {anonymous.status_code} without key"
        unknown = _call(client, method, path, query, "unknown-key-" + "y" * 20)
        assert _refused(unknown) and "y" * 20 not in unknown.text
        admitted = set()
        for scope, key in KEYS.items():
            r = _call(client, method, path, query, key)
            assert key not in r.text, f"{method} {path} echoes the key"
            if not _refused(r):
                admitted.add(scope)
            elif scopes and r.status_code == 403:
                assert f"'{next(iter(scopes)).value}' scope" in r.json()["message"]
        if scopes:
            assert admitted == scopes, (method, path, admitted)
            assert anonymous.status_code == 401 and unknown.status_code == 401
        else:  # a self-guarded page: refuses some scope, admits some
            assert admitted and admitted != set(Scope), (method, path, admitted)


def test_probes_stay_open_with_keys_configured(secured):
    client, _ = secured
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503  # not booted: not ready, but answered


def test_without_keys_every_scope_but_admin_is_open(tmp_path):
    settings = Settings(_env_file=None, store_path=tmp_path / "s.db")
    store = Store(settings.store_path)
    service = Service(settings, store=store)
    try:
        with TestClient(create_app(service=service, background=False)) as c:
            assert c.get("/metrics").status_code == 200
            assert c.get("/v1/model").status_code == 503  # past the check: no model loaded
            r = c.delete("/v1/admin/accounts/a1")
            assert r.status_code == 403 and "admin" in r.json()["message"]
        assert check_key(service, None, "read") is None
        with pytest.raises(ServiceError) as err:
            check_key(service, None, Scope.ADMIN)
        assert err.value.status == 403
    finally:
        store.close()


def test_metrics_may_be_open_to_loopback_clients_only(tmp_path):
    key = "read:" + "r" * 24
    for loopback_open, expected in ((False, 401), (True, 200)):
        settings = Settings(
            _env_file=None,
            api_keys=key,
            metrics_loopback_open=loopback_open,
            store_path=tmp_path / "s.db",
        )
        service = Service(settings)
        app = create_app(service=service, background=False)
        with TestClient(app, client=("127.0.0.1", 5000)) as local:
            assert local.get("/metrics").status_code == expected
        with TestClient(app, client=("10.1.2.3", 5000)) as remote:
            assert remote.get("/metrics").status_code == 401  # never open beyond loopback
            assert remote.get("/metrics", headers={API_KEY_HEADER: "r" * 24}).status_code == 200
