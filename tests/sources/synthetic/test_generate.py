"""The synthetic organisation: valid, deterministic, and shaped like a real support desk."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from features.schema import ESCALATION_KINDS, read_dataset
from sources.synthetic.generate import GeneratorConfig, simulate
from sources.synthetic.phrasebook import BENIGN, DEMANDS, load_phrasebook


def test_output_is_valid_support_data(synthetic_dir):
    out, summary = synthetic_dir
    data = read_dataset(out)
    assert len(data.tickets) == 3000
    assert summary["events"] == len(data.events)
    assert (out / "ground_truth.parquet").exists()
    # The ground truth never sits among the tables the reader (and so training) loads.
    assert not hasattr(data, "ground_truth")


def test_deterministic_for_a_seed():
    cfg = GeneratorConfig(n_tickets=300, seed=5, truth_fraction=0.2)
    a, gt_a = simulate(cfg, progress=False)
    b, gt_b = simulate(cfg, progress=False)
    assert a.digest() == b.digest()
    pd.testing.assert_frame_equal(gt_a, gt_b)
    c, _ = simulate(GeneratorConfig(n_tickets=300, seed=6, truth_fraction=0.2), progress=False)
    assert c.digest() != a.digest()


def test_computing_the_ground_truth_leaves_the_data_unchanged():
    # Re-simulated futures must not touch the world (they once updated the teams' usual load).
    a, gt_a = simulate(GeneratorConfig(n_tickets=600, seed=5, truth_fraction=0.0), progress=False)
    b, gt_b = simulate(GeneratorConfig(n_tickets=600, seed=5, truth_fraction=0.2), progress=False)
    assert gt_a.empty and len(gt_b) > 1000
    for table in ("accounts", "tickets", "events", "outcomes"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))


def test_base_rates(synthetic_dir):
    _, s = synthetic_dir
    assert 0.10 <= s["escalation_rate"] <= 0.15
    assert 0.03 <= s["reopen_rate"] <= 0.15
    assert 0.08 <= s["sla_breach_rate"] <= 0.4
    assert set(s["escalation_types"]) == {
        "billing_dispute",
        "technical_failure",
        "contract_legal",
        "security",
        "other",
    }


def test_the_three_kinds_occur_at_service_desk_rates(synthetic_dir):
    out, s = synthetic_dir
    outcomes = read_dataset(out).outcomes
    share = outcomes["escalation_kind"].value_counts() / len(outcomes)
    assert set(share.index) == set(ESCALATION_KINDS)
    assert s["escalation_kinds"] == outcomes["escalation_kind"].value_counts().to_dict()
    assert 0.04 <= share["hierarchical"] <= 0.11
    assert 0.01 <= share["functional"] <= 0.06
    assert 0.005 <= share["executive"] <= 0.025  # a small fraction of the escalations
    assert share["executive"] < share["functional"] < share["hierarchical"]


def test_arr_is_heavy_tailed(synthetic_dir):
    out, _ = synthetic_dir
    arr = read_dataset(out).accounts["arr"]
    assert arr.quantile(0.99) / arr.median() > 8
    assert arr.max() > 300_000
    acc = read_dataset(out).accounts
    assert acc.loc[acc["arr"] >= 400_000, "strategic"].all()


def test_business_hour_and_weekly_rhythm(synthetic_dir):
    out, _ = synthetic_dir
    created = read_dataset(out).tickets["created_at"]
    weekend = created.dt.day_of_week >= 5
    assert weekend.mean() < 0.12  # 2/7 of days, far fewer tickets
    per_hour = created.dt.hour.value_counts()
    assert per_hour.max() > 3 * per_hour.min()


def test_outages_hit_many_accounts_in_one_area(synthetic_dir):
    out, _ = synthetic_dir
    tickets = read_dataset(out).tickets
    hourly = tickets.groupby([tickets["created_at"].dt.floor("h"), "product_area"])
    busiest = hourly["account_id"].nunique().max()
    typical = hourly["account_id"].nunique().median()
    assert busiest >= 8 * typical


def test_escalations_leave_time_for_early_warning(synthetic_dir):
    out, _ = synthetic_dir
    data = read_dataset(out)
    esc = data.outcomes.dropna(subset=["escalated_at"]).set_index("ticket_id")
    created = data.tickets.set_index("ticket_id")["created_at"].reindex(esc.index)
    lead_h = (esc["escalated_at"] - created).dt.total_seconds() / 3600
    assert (lead_h > 0).all()
    assert lead_h.median() > 4
    ev = data.events.merge(esc["escalated_at"], left_on="ticket_id", right_index=True)
    before = ev[ev["ts"] < ev["escalated_at"]].groupby("ticket_id").size()
    assert before.median() >= 5


_ANGER = re.compile(
    r"!|\b[A-Z]{3,}\b|(?i:unacceptable|ridiculous|useless|terrible|frustrat|angry|disappoint"
    r"|worst|awful|joke|absurd)"
)


def _messages_before_escalation(out) -> pd.DataFrame:
    """Customer messages written before any escalation (all of them on calm tickets)."""
    data = read_dataset(out)
    esc = data.outcomes.set_index("ticket_id")["escalated_at"]
    msgs = data.events[data.events["event_type"] == "customer_message"].copy()
    msgs["escalated_at"] = msgs["ticket_id"].map(esc)
    return msgs[msgs["escalated_at"].isna() | (msgs["ts"] < msgs["escalated_at"])]


def test_escalated_conversations_read_angrier(synthetic_dir):
    msgs = _messages_before_escalation(synthetic_dir[0])
    msgs["anger"] = msgs["text"].str.count(_ANGER)
    per_ticket = msgs.groupby("ticket_id").agg(
        anger=("anger", "max"), esc=("escalated_at", "first")
    )
    angry_esc = per_ticket.loc[per_ticket["esc"].notna(), "anger"].mean()
    angry_rest = per_ticket.loc[per_ticket["esc"].isna(), "anger"].mean()
    assert angry_esc > 1.5 * angry_rest


def _cue_pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    """Any phrase of these mention keys, as it reads once anger has touched its punctuation."""
    book = load_phrasebook()
    phrases = {
        _plain(p).rstrip(". ")
        for key in keys
        for register in book.mentions[key]
        for p in register
        if "{" not in p
    }
    return re.compile("|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)))


def _plain(text: str) -> str:
    return re.sub(r"[.!?]+", ".", text.lower())


def _cues_per_ticket(out) -> pd.DataFrame:
    """Per ticket: a demand or a harmless mention before any escalation, and the outcome."""
    msgs = _messages_before_escalation(out)
    plain = msgs["text"].map(_plain)
    msgs["demand"] = plain.str.contains(_cue_pattern(DEMANDS))
    msgs["benign"] = plain.str.contains(_cue_pattern(BENIGN))
    per_ticket = msgs.groupby("ticket_id")[["demand", "benign"]].any()
    outcomes = read_dataset(out).outcomes.set_index("ticket_id")
    return per_ticket.join(outcomes[["escalated_at", "escalation_kind"]])


def test_customer_demands_are_the_main_path_and_are_worded(synthetic_dir):
    out, _ = synthetic_dir
    gt = pd.read_parquet(out / "ground_truth.parquet")
    source = gt.groupby("ticket_id")["escalation_source"].first().dropna()
    share = source.value_counts(normalize=True)
    assert set(share.index) == {"customer", "process", "internal"}
    assert share["customer"] > 0.4 and share.idxmax() == "customer"
    cues = _cues_per_ticket(out)
    said = cues["demand"].reindex(source.index).fillna(False)
    # Every escalation a customer drove was asked for in words; most silent ones were not.
    assert said[source == "customer"].mean() > 0.95
    assert said[source == "internal"].mean() < 0.5


def test_silent_escalations_are_a_hard_minority(synthetic_dir):
    out, _ = synthetic_dir
    gt = pd.read_parquet(out / "ground_truth.parquet")
    per_ticket = gt.groupby("ticket_id").agg(
        peak=("p_true", "max"), source=("escalation_source", "first")
    )
    share = per_ticket["source"].value_counts(normalize=True)
    assert 0.08 <= share["internal"] / share.sum() <= 0.4
    peak = per_ticket.groupby("source")["peak"].median()
    # Even the ceiling sees a silent escalation coming less clearly than a customer's demand.
    assert peak["internal"] < peak["customer"] - 0.25


def test_harmless_mentions_exist_and_rarely_escalate(synthetic_dir):
    cues = _cues_per_ticket(synthetic_dir[0])
    escalated = cues["escalated_at"].notna()
    harmless = cues["benign"] & ~cues["demand"]
    assert harmless.mean() > 0.03
    assert escalated[harmless].mean() < escalated.mean()
    assert escalated[harmless].mean() < 0.25 * escalated[cues["demand"]].mean()


def test_wording_varies(synthetic_dir):
    out, _ = synthetic_dir
    texts = read_dataset(out).events.query("event_type == 'customer_message'")["text"]
    assert texts.nunique() > 0.8 * len(texts)
    words = texts.str.split().str.len()
    assert words.min() <= 6 and words.max() >= 60


def test_ground_truth_is_a_calibrated_ceiling(synthetic_dir):
    out, _ = synthetic_dir
    data = read_dataset(out)
    gt = pd.read_parquet(out / "ground_truth.parquet")
    assert gt["p_true"].between(0, 1).all()
    esc = gt["ticket_id"].map(data.outcomes.set_index("ticket_id")["escalated_at"])
    assert (esc.isna() | (gt["as_of"] < esc)).all(), "truth rows only before the escalation"
    y = (esc > gt["as_of"]).to_numpy()
    # Calibrated on average and informative: positives get far higher true probabilities. (The
    # snapshots of one ticket share its outcome: 600 sampled tickets leave the mean +-0.03.)
    assert gt["p_true"].mean() == pytest.approx(y.mean(), abs=0.05)
    assert gt.loc[y, "p_true"].mean() > 2.5 * gt.loc[~y, "p_true"].mean()
    assert roc_auc_score(y, gt["p_true"]) > 0.78
    assert average_precision_score(y, gt["p_true"]) > 2.5 * y.mean()
    # Sharp where the evidence is: a fair share of moments is far from the base rate.
    assert (gt["p_true"] > 0.5).mean() > 0.03


def test_every_scoring_moment_of_sampled_tickets_has_truth(synthetic_dir):
    out, _ = synthetic_dir
    data = read_dataset(out)
    gt = pd.read_parquet(out / "ground_truth.parquet")
    esc = data.outcomes.set_index("ticket_id")["escalated_at"]
    sampled = data.events[data.events["ticket_id"].isin(gt["ticket_id"].unique())].copy()
    sampled["esc"] = sampled["ticket_id"].map(esc)
    open_moments = sampled[sampled["esc"].isna() | (sampled["ts"] < sampled["esc"])]
    pairs = set(zip(gt["ticket_id"], gt["as_of"], strict=True))
    covered = np.mean(
        [
            (t, s) in pairs
            for t, s in zip(open_moments["ticket_id"], open_moments["ts"], strict=True)
        ]
    )
    assert covered > 0.97


def test_escalated_conversations_score_more_negative_with_the_transformer(synthetic_dir):
    from models.text_scorer import TransformerTextScorer

    msgs = _messages_before_escalation(synthetic_dir[0])
    escalated = msgs[msgs["escalated_at"].notna()].sample(300, random_state=0)
    calm = msgs[msgs["escalated_at"].isna()].sample(300, random_state=0)
    scorer = TransformerTextScorer()
    s_esc = scorer.score_texts(escalated["text"].tolist())["sentiment"].mean()
    s_calm = scorer.score_texts(calm["text"].tolist())["sentiment"].mean()
    assert s_esc < s_calm - 0.1, (s_esc, s_calm)
