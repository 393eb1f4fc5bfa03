"""A feature's declaration refuses a direction it cannot carry."""

from __future__ import annotations

import numpy as np
import pytest

from features.catalogue.feature import Feature


def _f(**kw) -> Feature:
    return Feature(
        "x_y", "process", kw.pop("dtype", "int"), "a thing", lambda x: np.zeros(1), **kw
    )


def test_defaults_are_unconstrained_and_shown():
    f = _f()
    assert f.direction == 0 and f.direction_reason == "" and f.explain and f.topic == ""


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"direction": 2, "direction_reason": "why"}, "must be -1, 0 or \\+1"),
        ({"direction": 1}, "needs a one-line direction_reason"),
        ({"direction": -1, "direction_reason": "  "}, "needs a one-line direction_reason"),
        ({"direction": 1, "direction_reason": "two\nlines"}, "needs a one-line"),
        ({"direction_reason": "why"}, "unconstrained"),
        ({"dtype": "category", "direction": 1, "direction_reason": "why"}, "category"),
    ],
)
def test_bad_directions_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        _f(**kw)
