"""Inline-SVG geometry for the ticket view's charts (no chart library, nothing loaded from
elsewhere): the reasons as diverging bars, the score's history as a line."""

from __future__ import annotations

from datetime import datetime

BAR_H, BAR_GAP, HALF_W = 22, 6, 120  # pixels
TEXT_W = 440  # the reasons' words, right of the bars


def reason_bars(raising: list[dict], lowering: list[dict]) -> dict:
    """Diverging bars: each reason's TreeSHAP contribution (log-odds), raising to the right of
    the axis, lowering to the left, widths to the largest absolute contribution."""
    items = [(r, "up") for r in raising] + [(r, "down") for r in lowering]
    top = max((abs(r["contribution"]) for r, _ in items), default=0.0) or 1.0
    bars = []
    for i, (r, side) in enumerate(items):
        w = max(1.0, HALF_W * abs(r["contribution"]) / top)
        bars.append(
            {
                "y": i * (BAR_H + BAR_GAP),
                "x": HALF_W if side == "up" else HALF_W - w,
                "w": round(w, 1),
                "side": side,
                "text": r["text"],
                "value": f"{r['contribution']:+.2f}",
            }
        )
    return {
        "bars": bars,
        "height": max(1, len(bars)) * (BAR_H + BAR_GAP),
        "axis": HALF_W,
        "bar_h": BAR_H,
        "width": 2 * HALF_W,
        "text_w": TEXT_W,
    }


def history_line(history: list[dict], width: int = 520, height: int = 140) -> dict | None:
    """The probability of each stored answer against its as_of (x spread by time)."""
    points = [(h["as_of"], float(h["probability"]), h["action"]) for h in history]
    if not points:
        return None
    pad = 24
    t0, t1 = points[0][0].timestamp(), max(p[0].timestamp() for p in points)
    span = (t1 - t0) or 1.0

    def x(t: datetime) -> float:
        if t1 == t0:
            return width / 2
        return round(pad + (width - 2 * pad) * (t.timestamp() - t0) / span, 1)

    def y(p: float) -> float:
        return round(height - pad - (height - 2 * pad) * p, 1)

    dots = [{"x": x(t), "y": y(p), "p": f"{p:.2f}", "action": a} for t, p, a in points]
    return {
        "width": width,
        "height": height,
        "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "grid": [{"y": y(v), "label": f"{v:.1f}"} for v in (0.0, 0.5, 1.0)],
        "pad": pad,
    }
