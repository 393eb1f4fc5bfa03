"""Schema fuzzing: no input generated from the OpenAPI schema makes the service answer 5xx.

Schemathesis generates requests per operation from the app's own OpenAPI schema (valid and
invalid bodies, odd strings, edge numbers); each goes through the ASGI app in process.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from serving.main import create_app


def test_no_input_makes_a_server_error(service):
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(service=service, background=False)
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/score", "/v1/score/batch", "/v1/feedback"}
    statuses: dict[str, list[int]] = {}
    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def fuzz(case) -> None:
            response = case.call_and_validate(checks=[not_a_server_error])
            statuses.setdefault(f"{case.method} {case.path}", []).append(response.status_code)

        fuzz()
    # The generated inputs reach the scorer, not only the validators.
    assert 200 in statuses["POST /v1/score"], statuses["POST /v1/score"]
