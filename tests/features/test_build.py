"""The batch and single-ticket entry points: no leakage, one code path, defined values on odd
input, scoring snapshots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import (
    build_features,
    build_ticket_features,
    escalation_history,
    make_snapshots,
)
from features.context import FeatureContext
from features.registry import CATEGORICAL, FEATURE_NAMES
from features.schema import EVENT_TYPES, STATUSES
from features.text import attach_text_signals


def test_one_row_per_snapshot_with_every_feature(small):
    _, _, snaps, _, feats = small
    assert len(feats) == len(snaps)
    assert list(feats.columns) == ["ticket_id", "as_of", "team", *FEATURE_NAMES]
    assert (feats["ticket_age_h"] >= 0).all()
    # Snapshots stop before the escalation and before the close.
    assert snaps["weight"].mean() == pytest.approx(1.0)
    per_ticket = snaps.groupby("ticket_id")["weight"].sum()
    assert per_ticket.std() / per_ticket.mean() < 1e-9  # every ticket weighs the same


def test_features_are_sensible(small):
    _, _, snaps, _, f = small
    assert f["sla_breached"].isin([0.0, 1.0]).all()
    breached = f["sla_breached"] == 1
    assert (f.loc[breached, "sla_consumed_share"] > 1).all()
    assert (f["ticket_waiting_h"] <= f["ticket_longest_wait_h"] + 1e-9).all()
    assert (f["account_open_tickets"] >= 1).all()  # the ticket itself is open
    assert (f["ticket_tier_max"].fillna(0) >= f["ticket_tier_current"].fillna(0)).all()


def _events_after(draw, ticket_ids, after, rng_text):
    n = draw(st.integers(1, 6))
    rows = []
    for _ in range(n):
        etype = draw(st.sampled_from(EVENT_TYPES))
        rows.append(
            {
                "ticket_id": draw(st.sampled_from(ticket_ids)),
                "ts": after + pd.Timedelta(seconds=draw(st.integers(1, 30 * 24 * 3600))),
                "event_type": etype,
                "actor": "agent" if etype in ("agent_message", "assignment") else "customer",
                "agent_id": draw(st.sampled_from(["ag0000", "ag0001", "zz9", None])),
                "team": draw(st.sampled_from(["frontline", "engineering", "new_team"])),
                "tier": draw(st.sampled_from([1, 2, 3])),
                "status": draw(st.sampled_from(STATUSES)),
                "priority": draw(st.sampled_from(["P1", "P2", "P3"])),
                "csat": 3,
                "text": draw(st.sampled_from(rng_text)),
            }
        )
    return pd.DataFrame(rows)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_appending_the_future_changes_no_feature(small, lexical, rows_equal, data):
    base, events, snaps, history, feats = small
    i = data.draw(st.integers(0, len(snaps) - 1))
    snap = snaps.iloc[[i]][["ticket_id", "as_of"]]
    tid, as_of = snap["ticket_id"].iloc[0], snap["as_of"].iloc[0]
    account = base.tickets.set_index("ticket_id").loc[tid, "account_id"]
    others = list(base.tickets["ticket_id"].sample(5, random_state=i))
    # Future events on this ticket and on others, a future ticket of the same account, and
    # future escalations.
    extra = _events_after(
        data.draw, [tid, *others, "FUTURE"], as_of, ["Any update?!", "thanks", "LEGAL!!"]
    )
    future_ticket = base.tickets.iloc[[0]].assign(
        ticket_id="FUTURE",
        account_id=account,
        created_at=as_of + pd.Timedelta(seconds=1),
        product_area=base.tickets.set_index("ticket_id").loc[tid, "product_area"],
    )
    tickets = pd.concat([base.tickets, future_ticket], ignore_index=True)
    extra = attach_text_signals(extra, lexical)
    extra["ts"] = extra["ts"].astype(events["ts"].dtype)
    ev = pd.concat([events, extra], ignore_index=True).sort_values(
        ["ticket_id", "ts"], kind="stable"
    )
    hist = pd.concat(
        [
            history,
            pd.DataFrame(
                {"account_id": [account], "escalated_at": [as_of + pd.Timedelta(minutes=1)]}
            ),
        ],
        ignore_index=True,
    )
    again = build_features(base.accounts, tickets, ev.reset_index(drop=True), snap, hist)
    rows_equal(again, feats.iloc[[i]])


def test_outcomes_are_never_read(small, rows_equal):
    base, events, snaps, history, feats = small
    blind_tickets = base.tickets.assign(closed_at=pd.NaT)
    blind = build_features(
        base.accounts, blind_tickets, events, snaps[["ticket_id", "as_of"]], history
    )
    rows_equal(blind, feats)
    # Without the escalation history only the account's past-escalation count can change.
    no_hist = build_features(
        base.accounts, base.tickets, events, snaps[["ticket_id", "as_of"]], None
    )
    numeric = [c for c in FEATURE_NAMES if c not in CATEGORICAL]
    changed = [c for c in numeric if not np.allclose(no_hist[c], feats[c], equal_nan=True)]
    assert changed in ([], ["account_escalations_365d"])


def test_single_ticket_path_equals_batch(small, rows_equal):
    base, events, snaps, history, feats = small
    ctx = FeatureContext.from_data(base.accounts, base.tickets, events, history)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(snaps), 300, replace=False)
    by_ticket = dict(tuple(events.groupby("ticket_id")))
    tickets = base.tickets.set_index("ticket_id")
    rows = []
    for i in picks:
        tid, as_of = snaps.loc[i, "ticket_id"], snaps.loc[i, "as_of"]
        ticket = tickets.loc[[tid]].reset_index()
        # The service sees events in any order and none after as_of.
        ev = by_ticket[tid]
        ev = ev[ev["ts"] <= as_of].sample(frac=1.0, random_state=int(i))
        rows.append(build_ticket_features(ticket, ev, as_of, ctx))
    rows_equal(pd.concat(rows), feats.iloc[picks])


def test_between_events_time_moves_on(small):
    base, events, snaps, history, feats = small
    ctx = FeatureContext.from_data(base.accounts, base.tickets, events, history)
    i = int(np.flatnonzero(feats["ticket_waiting_h"] > 0)[0])
    tid, as_of = snaps.loc[i, "ticket_id"], snaps.loc[i, "as_of"]
    ticket = base.tickets.set_index("ticket_id").loc[[tid]].reset_index()
    ev = events[(events["ticket_id"] == tid) & (events["ts"] <= as_of)]
    later = build_ticket_features(ticket, ev, as_of + pd.Timedelta(hours=2), ctx)
    assert later["ticket_waiting_h"].iloc[0] == pytest.approx(feats.loc[i, "ticket_waiting_h"] + 2)
    assert later["ticket_age_h"].iloc[0] == pytest.approx(feats.loc[i, "ticket_age_h"] + 2)


def test_odd_input_gives_defined_values(tiny_tables, lexical):
    t = tiny_tables
    # Unknown account fields, unknown channel and area, a ticket without any message.
    acc = t["accounts"].assign(arr=[np.nan, 12_000.0], plan=[None, "pro"], renewal_date=pd.NaT)
    tickets = t["tickets"].assign(channel=["carrier-pigeon", "chat"], product_area=[None, "x"])
    ev = t["events"][t["events"]["event_type"] != "customer_message"].reset_index(drop=True)
    ev = attach_text_signals(ev, lexical)
    snaps = pd.DataFrame(
        {"ticket_id": ["t1", "t2"], "as_of": tickets["created_at"] + pd.Timedelta(hours=1)}
    )
    f = build_features(acc, tickets, ev, snaps, None)
    row = f.iloc[0]
    assert np.isnan(row["account_arr"]) and np.isnan(row["account_arr_tier"])
    assert np.isnan(row["customer_sentiment_last"]) and row["customer_message_count"] == 0
    assert row["ticket_channel"] == "carrier-pigeon"
    assert np.isnan(row["account_days_to_renewal"])
    # t2 has no events at all: counts are zero, state is missing, time still counts.
    row2 = f.iloc[1]
    assert row2["ticket_handoff_count"] == 0 and row2["ticket_unanswered_count"] == 0
    assert np.isnan(row2["ticket_tier_current"])
    assert row2["ticket_age_h"] == pytest.approx(1.0)


def test_as_of_before_creation_is_an_error(small):
    base, events, _, history, _ = small
    ctx = FeatureContext.from_data(base.accounts, base.tickets, events, history)
    ticket = base.tickets.iloc[[0]]
    with pytest.raises(ValueError, match="before the ticket was created"):
        build_ticket_features(
            ticket, events.iloc[:0], ticket["created_at"].iloc[0] - pd.Timedelta(1, "h"), ctx
        )


def test_parallel_batch_equals_serial(small, rows_equal):
    base, events, snaps, history, feats = small
    two = build_features(
        base.accounts, base.tickets, events, snaps[["ticket_id", "as_of"]], history, n_jobs=2
    )
    rows_equal(two, feats)


def test_the_serving_dict_is_the_frame_row(small):
    base, events, snaps, history, feats = small
    ctx = FeatureContext.from_data(base.accounts, base.tickets, events, history)
    tid, as_of = snaps.loc[7, "ticket_id"], snaps.loc[7, "as_of"]
    ticket = base.tickets[base.tickets["ticket_id"] == tid]
    ev = events[(events["ticket_id"] == tid) & (events["ts"] <= as_of)]
    row = build_ticket_features(ticket, ev, as_of, ctx)
    values = build_ticket_features(ticket, ev, as_of, ctx, frame=False)
    assert list(values) == list(FEATURE_NAMES)
    for name in FEATURE_NAMES:
        assert len(values[name]) == 1
        assert pd.isna(values[name][0]) == pd.isna(row[name].iloc[0])
        if not pd.isna(values[name][0]):
            assert values[name][0] == row[name].iloc[0], name
    assert row["team"].iloc[0] == feats.loc[7, "team"]


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_snapshots_stop_at_the_close_and_the_escalation(tiny_tables):
    t = tiny_tables
    later = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t2"],
            "ts": [_ts("2026-01-05 11:30"), _ts("2026-01-05 12:00"), _ts("2026-01-05 13:00")],
            "event_type": ["agent_message", "status_change", "customer_message"],
            "status": [None, "closed", None],
        }
    )
    events = pd.concat([t["events"], later], ignore_index=True).sort_values(["ticket_id", "ts"])
    snaps = make_snapshots(events, t["outcomes"])
    # t1 escalates at 11:00: its 11:30 event is no longer a question; t2 closes at 12:00.
    assert snaps["ticket_id"].tolist() == ["t1", "t1", "t1", "t2"]
    assert snaps["label"].tolist() == [1, 1, 1, 0]
    assert snaps["hours_to_escalation"].iloc[0] == pytest.approx(2.0)
    assert np.isnan(snaps["hours_to_escalation"].iloc[3])
    # Each ticket weighs the same in total; the weights average 1.
    assert snaps["weight"].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])
    blind = make_snapshots(events)
    assert "label" not in blind.columns
    assert blind["ticket_id"].tolist() == ["t1", "t1", "t1", "t1", "t2"]


def test_escalation_history_is_accounts_and_instants(tiny_tables):
    t = tiny_tables
    history = escalation_history(t["outcomes"], t["tickets"])
    assert history["account_id"].tolist() == ["a1"]
    assert history["escalated_at"].tolist() == [_ts("2026-01-05 11:00")]
    assert escalation_history(None, t["tickets"]) is None
