"""One request -> one score: the same feature code as training, exact TreeSHAP reasons."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import build_ticket_features
from features.registry import FEATURE_NAMES
from features.text import attach_text_signals
from serving.core.errors import InputError
from serving.schemas import ScoreIn


def test_reasons_are_exact_contributions(service, dataset, ticket_body, open_snapshot):
    """Contributions of all features plus the bias give the model's raw score."""
    tid, as_of = open_snapshot(4)
    req = ScoreIn.model_validate(ticket_body(dataset, tid, as_of))
    served = service.manager.current
    out = service.scorer.score(req, served, service.context)
    acc, tk, ev, at = service.scorer.frames(req, None, pd.Timestamp.now(tz="UTC"))
    ev = attach_text_signals(ev, service.scorer.text_scorer)
    X = build_ticket_features(tk, ev, at, service.context.overlay(acc, tk, ev), frame=False)
    p, contrib = served.model.score(X)
    margin = served.model.booster.predict(served.model.matrix(X), raw_score=True)
    assert contrib[0].sum() == pytest.approx(margin[0], abs=1e-9)
    assert out.body["probability"] == pytest.approx(float(p[0]), abs=1e-12)
    # The top reasons are the largest |contribution|s of the full vector.
    for r in out.body["reasons"]:
        assert r["contribution"] == pytest.approx(contrib[0][FEATURE_NAMES.index(r["feature"])])


def test_frames_check_the_time_logic(service, dataset, ticket_body, open_snapshot):
    tid, as_of = open_snapshot(4)
    body = ticket_body(dataset, tid, as_of)
    req = ScoreIn.model_validate(body)
    account, ticket, events, at = service.scorer.frames(req, None, pd.Timestamp.now(tz="UTC"))
    assert at == as_of and len(ticket) == 1 and len(events) == len(body["events"])
    assert account["account_id"].iloc[0] == body["account"]["account_id"]
    # Without as_of the instant is now: an event after it is named, and so is the fix.
    no_as_of = ScoreIn.model_validate({k: v for k, v in body.items() if k != "as_of"})
    now = pd.Timestamp(body["events"][-1]["ts"]) - pd.Timedelta(seconds=1)
    first_late = next(i for i, e in enumerate(body["events"]) if pd.Timestamp(e["ts"]) > now)
    with pytest.raises(InputError, match="give as_of") as err:
        service.scorer.frames(no_as_of, None, now.to_pydatetime())
    assert err.value.location == f"events[{first_late}].ts"


def test_fields_left_out_come_from_the_store(service, dataset, ticket_body, open_snapshot):
    tid, as_of = open_snapshot(4)
    body = ticket_body(dataset, tid, as_of)
    body["account"] = {"account_id": body["account"]["account_id"]}
    req = ScoreIn.model_validate(body)
    stored = {"account_id": body["account"]["account_id"], "arr": 777_000.0, "strategic": True}
    account, *_ = service.scorer.frames(req, stored, pd.Timestamp.now(tz="UTC"))
    assert account["arr"].iloc[0] == 777_000.0 and bool(account["strategic"].iloc[0])
