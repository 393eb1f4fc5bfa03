"""The report end to end on the hand-made log: dict, HTML page, JSON and the command."""

from __future__ import annotations

import base64
import json
import re

import pytest
from typer.testing import CliRunner

from features.schema import write_dataset
from training.report.build import build_report
from training.report.metrics import default_month
from training.report.render import write_report


def test_report_sections_and_self_contained_html(tmp_path, handoff_log, embedder):
    write_dataset(handoff_log, tmp_path / "data")
    report = build_report(tmp_path / "data", embedder=embedder, min_group=1)
    assert report["review_month"] == "2026-03"
    assert report["supported"]["context_loss_rate"] is None
    assert report["context_loss"]["measured"]
    assert report["overall"]["context_loss_rate"]["n"] == 1
    views = report["review"]["views"]
    assert {r["group"] for r in views["team"]} >= {"frontline", "engineering", "billing_ops"}
    assert {r["group"] for r in views["escalation_type"]} == {
        "technical_failure",
        "(not escalated)",
    }
    files = write_report(report, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()
    # Self-contained: every image inline, no external resource of any kind.
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 4
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["overall"]["bounceback_rate"]["value"] == 1.0
    assert (tmp_path / "out" / "trends.png").exists() and "trends" in files


def test_small_groups_fold_into_other(tmp_path, handoff_log):
    write_dataset(handoff_log, tmp_path / "data")
    views = build_report(tmp_path / "data")["review"]["views"]  # default: 5 tickets
    assert [r["group"] for r in views["team"]] == ["other"]
    assert views["team"][0]["tickets"] == 3


def test_a_month_without_tickets_is_an_error(tmp_path, handoff_log):
    write_dataset(handoff_log, tmp_path / "data")
    with pytest.raises(ValueError, match="no ticket was created in 2025-01"):
        build_report(tmp_path / "data", month="2025-01")


def test_default_month_skips_a_partial_last_month():
    import pandas as pd

    months = pd.Series(["2026-01"] * 50 + ["2026-02"] * 60 + ["2026-03"] * 5)
    assert default_month(months) == "2026-02"


@pytest.mark.slow
def test_report_command(tmp_path, handoff_log):
    from cli.main import app

    write_dataset(handoff_log, tmp_path / "data")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["report", "--data", str(tmp_path / "data"), "--out", str(out), "--no-context"]
    )
    assert res.exit_code == 0, res.output
    assert "Bounceback rate: 100.0% (n=1), target under 20.0%: misses" in res.output
    assert "Context loss: - (n=0), target under 10.0%: not measured" in res.output
    bad = CliRunner().invoke(
        app, ["report", "--data", str(tmp_path / "none"), "--out", str(out), "--no-context"]
    )
    assert bad.exit_code == 2 and "no such data folder" in bad.output
    month = CliRunner().invoke(
        app, ["report", "--data", str(tmp_path / "data"), "--out", str(out), "--month", "2026-3"]
    )
    assert month.exit_code == 2 and "YYYY-MM" in month.output


def test_the_review_month_lists_similar_escalations(tmp_path, embedder):
    from sources.synthetic.generate import GeneratorConfig, generate_dataset

    generate_dataset(
        GeneratorConfig(n_tickets=1500, seed=11, truth_fraction=0.0),
        tmp_path / "d",
        progress=False,
    )
    report = build_report(tmp_path / "d", embedder=embedder)
    g = report["groups"]
    assert g["escalations"] > 0  # grouping itself: tests/models/test_grouping.py
    assert g["grouped"] >= sum(x["size"] for x in g["groups"])  # the top 10 are listed
    assert all(x["size"] >= 3 for x in g["groups"])
    assert [x["arr_at_stake"] for x in g["groups"]] == sorted(
        (x["arr_at_stake"] for x in g["groups"]), reverse=True
    )
    write_report(report, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<h2>Similar escalations</h2>" in page
    assert f"{g['escalations']} escalations in the month" in page
