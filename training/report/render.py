"""The report as one self-contained HTML page (plots as base64 PNG, no external resource) and
the PNG files themselves (to look at, and for the README)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from training.report.metrics import targets

METRICS = (
    "escalation_rate",
    "handoff_delay_critical_min",
    "bounceback_rate",
    "context_loss_rate",
    "recontact_rate",
    "sla_breach_gap_points",
)
MIN_MONTH_TICKETS = 30  # months with fewer tickets are left out of the trend plot (noise)
VIEW_TITLES = {
    "escalation_type": "By escalation type (escalated tickets of each type; rate over all tickets)",
    "segment": "By customer segment",
    "agent": "By agent (first assigned; beyond the 15 busiest or under 5 tickets: 'other')",
    "team": "By team (tickets by first team; handoff delay and context loss by receiving team; "
    "teams beyond the 15 busiest or under 5 tickets and handoffs: 'other')",
}
CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}.ok{background:#e3f4e1}.bad{background:#fbe0dd}.na{color:#999}
img{max-width:100%;border:1px solid #eee;margin:0.3em 0}.note{color:#555;font-size:13px}
"""


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fmt(name: str, value: Any) -> str:
    if value is None:
        return "-"
    unit = _unit(name)
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "minutes":
        return f"{value:.0f} min"
    return f"{value:+.1f} pt"


def target_text(name: str) -> str:
    """The target in words: "under 15.0%", "under 30 min", "within 10 points"."""
    target = targets()[name]["target"]
    if name == "sla_breach_gap_points":
        return f"within {target} points"
    return f"under {fmt(name, target)}"


def _unit(name: str) -> str:
    return targets()[name]["unit"]


def _cell(name: str, m: dict[str, Any]) -> str:
    cls = "na" if m.get("ok") is None else ("ok" if m["ok"] else "bad")
    return f'<td class="{cls}">{fmt(name, m["value"])} <span class="note">n={m["n"]}</span></td>'


def _figure(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def plot_trends(report: dict[str, Any]) -> bytes:
    """Each metric per month against its target (dashed)."""
    plt = _plt()
    months = [m for m, v in report["monthly"].items() if v["tickets"] >= MIN_MONTH_TICKETS]
    left_out = len(report["monthly"]) - len(months)
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    x = np.arange(len(months))
    for ax, name in zip(axes.ravel(), METRICS, strict=True):
        t = report["targets"][name]
        scale = 100 if t["unit"] == "share" else 1
        vals = [report["monthly"][m]["metrics"][name]["value"] for m in months]
        y = np.array([np.nan if v is None else v * scale for v in vals], dtype=float)
        ax.plot(x, y, "o-", color="#1f77b4")
        ax.axhline(t["target"] * scale, color="red", ls="--", lw=1, label="target")
        if name.endswith("gap_points"):
            ax.axhline(-t["target"], color="red", ls="--", lw=1)
        ax.set_title(t["label"], fontsize=10)
        ax.set_xticks(x, months, rotation=45, fontsize=8)
        ax.set_ylabel({"share": "%", "minutes": "minutes", "points": "points"}[t["unit"]])
        if np.all(np.isnan(y)):
            reason = report["supported"].get(name) or "no data"
            ax.text(
                0.5,
                0.5,
                "not measured:\n" + reason,
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=8,
                color="grey",
                wrap=True,
            )
            ax.set_ylim(0, 2 * t["target"] * scale)
        else:
            top = max(np.nanmax(y), t["target"] * scale) * 1.15
            ax.set_ylim(
                min(0, np.nanmin(y) * 1.15, -t["target"] * 1.15 if name.endswith("points") else 0),
                top,
            )
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    note = f" ({left_out} month(s) under {MIN_MONTH_TICKETS} tickets left out)" if left_out else ""
    fig.suptitle(f"Monthly operational metrics: {report['data']}{note}", fontsize=11)
    fig.tight_layout()
    return _figure(fig)


def plot_delays(report: dict[str, Any]) -> bytes:
    """Share of handoffs whose new team had started within x minutes (critical vs other, log
    scale; delays under 0.1 min drawn at 0.1), with the 30-minute target."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    d = report["handoff_delays_min"]
    for key, color in (("other", "#7f7f7f"), ("critical", "#d62728")):
        vals = np.sort(np.clip(np.asarray(d[key], dtype=float), 0.1, None))
        if len(vals):
            share = np.arange(1, len(vals) + 1) / len(vals)
            ax.step(vals, 100 * share, where="post", color=color, label=f"{key} (n={len(vals):,})")
    target = report["targets"]["handoff_delay_critical_min"]["target"]
    ax.axvline(target, color="red", ls="--", lw=1, label=f"{target} min target")
    ax.set_xscale("log")
    ax.set(
        xlabel="minutes from handoff to the new team's first work (log)",
        ylabel="% of handoffs started",
        ylim=(0, 100),
        title="Handoff delay (share of handoffs started within x minutes)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _figure(fig)


def plot_views(report: dict[str, Any], view: str) -> bytes:
    """Escalation, bounceback and context-loss rates (bars) per group of a review view."""
    plt = _plt()
    rows = report["review"]["views"][view][:15]
    names = ("escalation_rate", "bounceback_rate", "context_loss_rate", "recontact_rate")
    fig, ax = plt.subplots(figsize=(10, 3.8))
    x = np.arange(len(rows))
    w = 0.2
    shown = [n for n in names if any(r["metrics"][n]["value"] is not None for r in rows)]
    w = 0.8 / max(len(shown), 1)
    for i, name in enumerate(shown):
        vals = [r["metrics"][name]["value"] for r in rows]
        y = np.array([np.nan if v is None else 100 * v for v in vals], dtype=float)
        ax.bar(x + (i - (len(shown) - 1) / 2) * w, y, w, label=report["targets"][name]["label"])
    ax.set_xticks(
        x,
        [f"{r['group']}\n({r['tickets']} t, {r.get('handoffs', 0)} h)" for r in rows],
        rotation=45,
        ha="right",
        fontsize=8,
    )
    ax.set_ylabel("%")
    ax.set_xlabel("group (tickets, handoffs received)", fontsize=8)
    ax.set_title(
        f"{report['review_month']}: {VIEW_TITLES[view].split(' (')[0]}", fontsize=10, pad=22
    )
    ax.legend(fontsize=8, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _figure(fig)


def plot_context(report: dict[str, Any]) -> bytes:
    plt = _plt()
    c = report["context_loss"]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    edges = np.linspace(-0.1, 1.0, 21)
    ax.bar(
        edges[:-1],
        c["similarity_histogram"],
        width=np.diff(edges),
        align="edge",
        color="#1f77b4",
        edgecolor="white",
    )
    ax.axvline(
        c["threshold"]["value"],
        color="red",
        ls="--",
        lw=1,
        label=f"threshold {c['threshold']['value']:.2f}",
    )
    ax.set(
        xlabel="best cosine similarity, customer sentence after vs before the handoff",
        ylabel="handoffs",
        title="Context loss: repeated information after a handoff",
    )
    ax.legend(fontsize=8)
    return _figure(fig)


def plot_drift(drift: dict[str, Any]) -> bytes:
    plt = _plt()
    rows = [r for r in drift["columns"] if r["psi"] is not None][:25]
    fig, ax = plt.subplots(figsize=(8, max(3, 0.28 * len(rows) + 1)))
    colors = {"ok": "#2ca02c", "look": "#ff7f0e", "retrain": "#d62728"}
    ax.barh(
        [r["column"] for r in rows][::-1],
        [r["psi"] for r in rows][::-1],
        color=[colors[r["status"]] for r in rows][::-1],
    )
    ax.axvline(drift["thresholds"]["look"], color="#ff7f0e", ls="--", lw=1, label="look 0.1")
    ax.axvline(
        drift["thresholds"]["retrain"], color="#d62728", ls="--", lw=1, label="retrain 0.25"
    )
    ax.set(xlabel="PSI vs the training window", title=f"Drift: {drift['recent']['label']}")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=8)
    return _figure(fig)


def plot_precision(drift: dict[str, Any]) -> bytes:
    plt = _plt()
    rows = drift["alert_precision"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    x = np.arange(len(rows))
    y = [np.nan if r["precision"] is None else r["precision"] for r in rows]
    ax.plot(x, y, "o-")
    ax.set_xticks(x, [r["month"] for r in rows], rotation=45, fontsize=8)
    ax.set(ylim=(0, 1), ylabel="precision", title="Alert precision by month (ticket level)")
    ax.grid(alpha=0.3)
    return _figure(fig)


def plots(report: dict[str, Any]) -> dict[str, bytes]:
    """All plots of the report as PNG bytes, by file stem."""
    out = {"trends": plot_trends(report), "handoff-delay": plot_delays(report)}
    for view in ("team", "segment", "escalation_type"):
        if report["review"]["views"][view]:
            out[f"view-{view}"] = plot_views(report, view)
    if report["context_loss"]["measured"]:
        out["context-loss"] = plot_context(report)
    if report.get("drift"):
        out["drift"] = plot_drift(report["drift"])
        if report["drift"]["alert_precision"]:
            out["alert-precision"] = plot_precision(report["drift"])
    return out


def _metric_table(rows: list[tuple[str, dict[str, Any]]], first: str) -> str:
    t = targets()
    head = "".join(
        f"<th>{html.escape(t[n]['label'])}<br><span class='note'>"
        f"{html.escape(target_text(n))}</span></th>"
        for n in METRICS
    )
    body = "".join(
        f"<tr><td class='l'>{html.escape(label)}</td>"
        + "".join(_cell(n, m[n]) for n in METRICS)
        + "</tr>"
        for label, m in rows
    )
    return f"<table><tr><th class='l'>{first}</th>{head}</tr>{body}</table>"


def render_html(report: dict[str, Any], images: dict[str, bytes]) -> str:
    """The page: summary, each metric against its target, trends, the review views, drift."""

    def img(stem: str) -> str:
        if stem not in images:
            return ""
        data = base64.b64encode(images[stem]).decode()
        return f'<img alt="{stem}" src="data:image/png;base64,{data}">'

    s = report["summary"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Operations report {html.escape(report['review_month'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Operations report: {html.escape(report['data'])}</h1>",
        f"<p>{s['tickets']:,} tickets, {s['events']:,} events, {s['handoffs']:,} handoffs, "
        f"months {s['months'][0]} .. {s['months'][-1]}; review month "
        f"<b>{html.escape(report['review_month'])}</b>.</p>",
        "<h2>Each metric against its target</h2>",
        _metric_table(
            [
                ("all months", report["overall"]),
                (f"review month {report['review_month']}", report["review"]["metrics"]),
            ],
            "scope",
        ),
        "<p class='note'>Green: meets the target; red: misses it; grey: not measured.</p>",
        "<h3>Definitions and what this log supports</h3><ul>",
    ]
    for name in METRICS:
        t = report["targets"][name]
        why = report["supported"].get(name)
        sup = "supported" if why is None else html.escape(why)
        parts.append(
            f"<li><b>{html.escape(t['label'])}</b>: {html.escape(t['definition'])}. "
            f"<i>{sup}</i></li>"
        )
    parts.append("</ul>")
    c = report["context_loss"]
    if c["measured"]:
        th = c["threshold"]
        parts.append(
            f"<p class='note'>Context loss: cosine similarity of MiniLM sentence embeddings, "
            f"threshold {th['value']:.3f} chosen as the F1-best on {th['pairs']} hand-labelled "
            f"sentence pairs ({th['positives']} repeats): precision {th['precision']:.2f}, "
            f"recall {th['recall']:.2f} on them; {c['handoffs_compared']:,} handoffs compared.</p>"
        )
    if c["measured"]:
        for key, title in (
            ("highest", "most similar"),
            ("just_above", "just above the threshold (counted as repeats)"),
            ("just_below", "just below it (not counted)"),
        ):
            trs = "".join(
                f"<tr><td>{r['context_similarity']:.3f}</td><td class='l'>"
                f"{html.escape(str(r['context_before']))}</td><td class='l'>"
                f"{html.escape(str(r['context_after']))}</td></tr>"
                for r in c["examples"][key]
            )
            parts.append(
                f"<p class='note'>Sentence pairs {title}:</p><table><tr><th>cosine"
                f"</th><th class='l'>before the handoff</th><th class='l'>after it</th>"
                f"</tr>{trs}</table>"
            )
    parts += ["<h2>Trends</h2>", img("trends"), img("handoff-delay"), img("context-loss")]
    months = [(m, v["metrics"]) for m, v in report["monthly"].items()]
    parts += ["<h3>By month</h3>", _metric_table(months, "month")]
    parts.append(f"<h2>Monthly review: {html.escape(report['review_month'])}</h2>")
    for view, title in VIEW_TITLES.items():
        rows = report["review"]["views"][view]
        parts += [f"<h3>{html.escape(title)}</h3>", img(f"view-{view}")]
        parts.append(
            _metric_table(
                [
                    (f"{r['group']} ({r['tickets']} t, {r.get('handoffs', 0)} h)", r["metrics"])
                    for r in rows
                ],
                view.replace("_", " "),
            )
        )
    parts.append(groups_html(report.get("groups")))
    d = report.get("drift")
    if d:
        parts += [
            "<h2>Drift and alert precision</h2>",
            f"<p>Reference: {html.escape(str(d['reference']['source']))}, "
            f"{d['reference']['rows']:,} snapshots {html.escape(str(d['reference']['start']))} .. "
            f"{html.escape(str(d['reference']['end']))}. Recent: "
            f"{html.escape(d['recent']['label'])}, {d['recent']['rows']:,} snapshots. Verdict: "
            f"<b>{html.escape(str(d['status']))}</b> (PSI &ge; 0.1 look, &ge; 0.25 retrain; "
            f"score PSI {d['score_psi']}).</p>",
            img("drift"),
            img("alert-precision"),
        ]
        trs = "".join(
            f"<tr><td class='l'>{html.escape(r['column'])}</td><td>{r['psi']}</td>"
            f"<td class='l'>{r['status']}</td></tr>"
            for r in d["columns"]
        )
        parts.append(
            f"<table><tr><th class='l'>column</th><th>PSI</th><th class='l'>status"
            f"</th></tr>{trs}</table>"
        )
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def groups_html(groups: dict[str, Any] | None) -> str:
    """The review month's similar-escalation groups as a table (text escaped)."""
    if groups is None:
        return "<h2>Similar escalations</h2><p class='note'>Not measured: no customer text.</p>"
    e = html.escape
    trs = "".join(
        f"<tr><td class='l'>{e(g['label'])}</td><td class='l'>{e(str(g['product_area']))}</td>"
        f"<td>{g['size']}</td><td>{len(g['accounts'])}</td><td>${g['arr_at_stake']:,.0f}</td>"
        f"<td class='l'>{e(g['first_seen'][:16])} .. {e(g['last_seen'][:16])}</td>"
        f"<td class='l'>{e(g['central_message'][:160])}</td></tr>"
        for g in groups["groups"]
    )
    return (
        f"<h2>Similar escalations</h2><p>{groups['escalations']} escalations in the month, "
        f"{groups['grouped']} of them in groups of three or more "
        f"({groups['without_text']} without text).</p>"
        "<table><tr><th class='l'>label</th><th class='l'>area</th><th>tickets</th>"
        "<th>accounts</th><th>ARR at stake</th><th class='l'>seen</th>"
        f"<th class='l'>most central message</th></tr>{trs}</table>"
    )


def write_report(report: dict[str, Any], out: str | Path) -> dict[str, str]:
    """Write report.html, report.json and the PNGs under ``out``; return the paths."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = plots(report)
    files = {}
    for stem, png in images.items():
        path = out / f"{stem}.png"
        path.write_bytes(png)
        files[stem] = str(path)
    (out / "report.html").write_text(render_html(report, images))
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    files["html"], files["json"] = str(out / "report.html"), str(out / "report.json")
    return files
