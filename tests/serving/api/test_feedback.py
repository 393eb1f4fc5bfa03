"""POST /v1/feedback: a real outcome is stored and enters the account's escalation history."""

from __future__ import annotations


def test_feedback_is_stored(client, service, dataset):
    tid = dataset.tickets["ticket_id"].iloc[0]
    service.store.flush()
    before = service.store.count("feedback")
    r = client.post(
        "/v1/feedback",
        json={
            "ticket_id": tid,
            "escalated": True,
            "escalated_at": "2026-02-01T10:00:00Z",
            "escalation_type": "security",
        },
    )
    assert r.status_code == 202, r.text
    assert r.json() == {"ticket_id": tid, "stored": True}
    service.store.flush()
    assert service.store.count("feedback") == before + 1
    esc = service.store.table("escalations")
    assert (esc["ticket_id"] == tid).any()


def test_inconsistent_feedback_is_rejected(client, dataset, assert_error):
    tid = dataset.tickets["ticket_id"].iloc[0]
    assert_error(client.post("/v1/feedback", json={"ticket_id": tid, "escalated": True}), 422)
    late = {"ticket_id": tid, "escalated": False, "escalation_type": "security"}
    assert_error(client.post("/v1/feedback", json=late), 422)
