"""Tone bands and the surface damage of upset customers."""

from __future__ import annotations

import math
import random

import pytest

from sources.synthetic.tone import add_anger, clamp_frustration, tone_band


def test_band_rises_with_frustration():
    rng = random.Random(0)
    mean_band = [
        sum(tone_band(rng, f) for _ in range(2000)) / 2000 for f in (0.0, 0.3, 0.5, 0.8, 1.0)
    ]
    assert mean_band == sorted(mean_band)
    assert mean_band[0] == 0 and mean_band[-1] == 3


def test_frustration_is_clamped_and_nan_refused():
    assert clamp_frustration(-0.2) == 0.0 and clamp_frustration(1.7) == 1.0
    assert clamp_frustration(0.25) == 0.25
    with pytest.raises(ValueError, match="frustration"):
        clamp_frustration(math.nan)


def test_calm_bands_are_never_shouted():
    rng = random.Random(3)
    text = "The export is slow. Could you take a look."
    assert all(add_anger(rng, text, band, 1.0) == text for band in (0, 1) for _ in range(200))
