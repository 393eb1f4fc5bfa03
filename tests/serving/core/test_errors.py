"""The one error format: a code, a message, where and what, and never the input itself."""

from __future__ import annotations

from serving.core.errors import InputError, ServiceError, error_response, location

SECRET = "Jane Roe, card 4111-1111-1111-1111"


def test_unknown_field_is_rejected_without_echo(client, valid_body, assert_error):
    valid_body["ticket"]["customer_name"] = SECRET
    r = client.post("/v1/score", json=valid_body)
    assert_error(r, 422, "ticket.customer_name", secret=SECRET)


def test_a_bad_value_is_not_echoed(client, valid_body, assert_error):
    valid_body["ticket"]["priority"] = SECRET
    body = assert_error(client.post("/v1/score", json=valid_body), 422, secret=SECRET)
    assert body["error"] == "invalid_input"
    assert body["message"] == "the request does not match the schema"
    assert body["details"][0]["location"] == "body.ticket.priority"


def test_malformed_json_wrong_types_and_unknown_paths(client, assert_error):
    r = client.post(
        "/v1/score", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(r, 422)
    assert_error(client.post("/v1/score", json=[1, 2]), 422)
    assert assert_error(client.get("/v1/nothing-here"), 404)["error"] == "not_found"
    assert assert_error(client.get("/v1/score"), 405)["error"] == "method_not_allowed"


def test_location_reads_like_a_path():
    assert location(("body", "events", 0, "ts")) == "body.events[0].ts"
    assert location(("body",)) == "body"
    assert location(()) == ""
    assert location(("items", 3)) == "items[3]"


def test_error_response_is_the_one_format():
    r = error_response(503, "not_ready", "loading", [{"location": "x", "problem": "y"}])
    assert r.status_code == 503
    assert r.body == (
        b'{"error":"not_ready","message":"loading","details":[{"location":"x","problem":"y"}]}'
    )
    assert error_response(500, "internal", "boom").body == (
        b'{"error":"internal","message":"boom","details":[]}'
    )


def test_error_types_keep_their_parts():
    err = ServiceError(401, "unauthorized", "missing API key")
    assert (err.status, err.error, err.message, str(err)) == (
        401,
        "unauthorized",
        "missing API key",
        "missing API key",
    )
    bad = InputError("events[2].ts", "is after as_of")
    assert (bad.location, bad.problem, str(bad)) == (
        "events[2].ts",
        "is after as_of",
        "events[2].ts: is after as_of",
    )
    assert isinstance(bad, ValueError)
