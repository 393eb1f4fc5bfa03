"""Code fingerprints: code counts; comments, docstrings, layout and names do not."""

from __future__ import annotations

import types

import numpy as np
import pytest

from features.version import digest, function_code, module_code, source_code


def test_source_code_ignores_comments_docstrings_and_layout():
    plain = "def f(x):\n    return x + 1\n"
    noisy = '"""A module."""\n\n\ndef f(x):  # f\n    """Adds one."""\n    return (x +\n  1)\n'
    assert source_code(plain) == source_code(noisy)
    assert source_code(plain) != source_code("def f(x):\n    return x + 2\n")
    assert source_code("    x = 1\n") == source_code("x = 1")  # dedented


def test_module_code_is_the_source_code_of_the_module():
    assert module_code(types) == source_code(open(types.__file__).read())


def _double(x):
    return 2 * x


def _double_documented(x):
    """Twice x."""
    return 2 * x  # the same code


def test_function_code_ignores_the_name_and_the_docstring():
    assert function_code(_double) == function_code(_double_documented)
    assert function_code(_double) != function_code(lambda x: 2 * x)


def test_lambdas_on_one_line_are_told_apart():
    pair = (lambda x: x + 1, lambda x: x - 1)
    assert function_code(pair[0]) != function_code(pair[1])
    assert function_code(pair[0]) == function_code(lambda x: x + 1)


_SCALE = 3
_TABLE = np.array([1, 2])


def _scaled(x):
    return _helper(x) * _SCALE + _TABLE


def _helper(x):
    return x + 1


def test_helpers_and_constants_the_function_reads_count():
    def rebound(**names):
        return types.FunctionType(_scaled.__code__, {**_scaled.__globals__, **names})

    base = function_code(_scaled)
    assert function_code(rebound()) == base
    assert function_code(rebound(_SCALE=4)) != base
    assert function_code(rebound(_TABLE=np.array([1, 3]))) != base
    assert function_code(rebound(_helper=lambda x: x + 2)) != base
    assert function_code(rebound(_helper=_double_documented)) == function_code(
        rebound(_helper=_double)
    )


def test_a_function_without_source_is_an_error():
    made = eval("lambda x: x")  # noqa: S307 - a function with no source file
    with pytest.raises(ValueError, match="source"):
        function_code(made)


def test_digest_is_eight_hex_digits_of_the_parts_in_order():
    assert len(digest(["a", "b"])) == 8
    assert digest(["a", "b"]) != digest(["b", "a"])
    int(digest(["a"]), 16)
