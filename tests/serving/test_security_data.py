"""Personal data: planted e-mail addresses, phone numbers, card numbers and IBANs never
survive into an answer, a brief, an alert body, a log line or a stored feedback note."""

from __future__ import annotations

import io
import json
import logging

from fastapi.testclient import TestClient

from serving.main import create_app
from serving.schemas import ScoreIn
from serving.services.alerts import alert_body

PLANTED = (
    "jane.doe@example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00",
    "7946",
    "4111",
)


def _plant(body: dict) -> dict:
    body["ticket"]["subject"] = (
        "Refund to DE89 3704 0044 0532 0130 00 please, call +44 20 7946 0958"
    )
    customer = [e for e in body["events"] if e["event_type"] == "customer_message"]
    customer[-1]["text"] = (
        "Charged twice on card 4111 1111 1111 1111. Mail jane.doe@example.com or see "
        "https://portal.example.com/users/jane.doe@example.com/invoices/INV-20391"
    )
    return body


def _clean(text: str) -> None:
    for secret in PLANTED:
        assert secret not in text, secret


def test_answers_and_briefs_carry_no_planted_personal_data(client, valid_body):
    r = client.post("/v1/score", json=_plant(valid_body))
    assert r.status_code == 200, r.text
    _clean(r.text)
    brief = r.json()["brief"]
    assert brief["customer"]["subject"] == "Refund to [iban] please, call [phone]"
    assert "https://portal.example.com/users/[email]/invoices/INV-20391" in brief["artifacts"]
    batch = client.post("/v1/score/batch", json={"items": [_plant(valid_body)]})
    assert batch.status_code == 200
    _clean(batch.text)


def test_an_alert_body_is_built_from_the_redacted_answer(service, valid_body):
    served = service.served()
    answer = service.score_one(ScoreIn.model_validate(_plant(valid_body)), served)
    body = json.dumps(alert_body(answer, valid_body["account"]["account_id"]), default=str)
    _clean(body)
    assert "[iban]" in body and "[email]" in body


def test_log_lines_of_the_service_are_redacted(service):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        create_app(service=service, background=False)  # installs the filter on root handlers
        logging.getLogger("serving.services.scoring").error(
            "could not score the text %r", "call +44 20 7946 0958 or mail jane.doe@example.com"
        )
    finally:
        root.removeHandler(handler)
    _clean(stream.getvalue())
    assert "[phone]" in stream.getvalue() and "[email]" in stream.getvalue()


def test_a_feedback_note_is_stored_redacted(make_settings, boot, tmp_path, valid_body):
    svc = boot(make_settings(tmp_path))
    try:
        with TestClient(create_app(service=svc, background=False)) as c:
            fb = {
                "ticket_id": valid_body["ticket"]["ticket_id"],
                "escalated": False,
                "note": "customer asked to be called on +44 20 7946 0958, jane.doe@example.com",
            }
            assert c.post("/v1/feedback", json=fb).status_code == 202
        svc.store.flush()
        notes = svc.store.table("feedback")["note"].tolist()
    finally:
        svc.store.close()
    assert notes == ["customer asked to be called on [phone], [email]"]


def test_the_event_log_keeps_no_planted_personal_data(make_settings, boot, tmp_path, valid_body):
    body = _plant(valid_body)
    request = {
        "ticket": body["ticket"],
        "account": body["account"],
        "events": [{**e, "event_id": f"e{i}"} for i, e in enumerate(body["events"])],
    }
    svc = boot(make_settings(tmp_path, backfill_dir=None))
    try:
        with TestClient(create_app(service=svc, background=False)) as c:
            r = c.post(f"/v1/tickets/{body['ticket']['ticket_id']}/events", json=request)
        assert r.status_code == 200, r.text
        _clean(r.text)
        svc.store.flush()
        for table in ("ticket_events", "ticket_bodies"):
            stored = svc.store.table(table)
            assert len(stored), table
            _clean(stored.to_json(date_format="iso"))
        # What was scored is what was kept: the redacted text, in the brief too.
        assert "[email]" in r.text
    finally:
        svc.store.close()
