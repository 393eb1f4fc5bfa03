"""The service state before and after boot: readiness, status, limits, recorded scores."""

from __future__ import annotations

import pytest

from serving.core.errors import InputError, ServiceError
from serving.schemas import ScoreIn
from serving.services.service import WARM_UP_REQUEST, Service


def test_an_unbooted_service_is_not_ready(make_settings, tmp_path):
    svc = Service(make_settings(tmp_path))
    assert not svc.ready and svc.status() == "loading"
    with pytest.raises(ServiceError) as err:
        svc.served()
    assert (err.value.status, err.value.error) == (503, "not_ready")


def test_a_failed_boot_says_why_and_keeps_the_process(make_settings, tmp_path, text_scorer):
    svc = Service(
        make_settings(tmp_path, backfill_dir=tmp_path / "missing"), text_scorer=text_scorer
    )
    svc.boot()  # never raises
    assert not svc.ready
    assert svc.status().startswith("start-up failed:") and "missing" in svc.status()


def test_limits_are_named_by_location(make_settings, tmp_path):
    svc = Service(make_settings(tmp_path, max_events=1, max_text_chars=10))
    req = ScoreIn.model_validate(WARM_UP_REQUEST)  # two events, a 60-character text
    with pytest.raises(InputError) as err:
        svc.check_limits(req, "items[3].")
    assert (err.value.location, err.value.problem) == (
        "items[3].events",
        "at most 1 events per ticket",
    )
    roomy = Service(make_settings(tmp_path, max_events=5, max_text_chars=10))
    with pytest.raises(InputError) as err:
        roomy.check_limits(req)
    assert (err.value.location, err.value.problem) == ("events[0].text", "at most 10 characters")


def test_a_booted_service_is_ready_and_records_its_scores(service):
    assert service.ready and service.status() == "ready"
    served = service.served()
    service.store.flush(timeout=30)
    before = service.store.count("scores")
    body = service.score_one(ScoreIn.model_validate(WARM_UP_REQUEST), served)
    service.record_scores([body], served)
    service.store.flush(timeout=30)
    scores = service.store.table("scores")
    assert len(scores) == before + 1
    last = scores.iloc[-1]
    assert (last["ticket_id"], last["model_version"], last["policy_version"]) == (
        "warm-up",
        served.version,
        served.policy.version,
    )
