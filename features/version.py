"""Code fingerprints for the feature-set version: what a formula computes, not how it reads.

A fingerprint is ``ast.dump`` of the parsed source with docstrings removed, so comments,
docstrings, formatting and line numbers do not count and any change of code does. A function's
fingerprint also covers the functions and constants it reads from its module's globals (those
of its own top-level package; library code is versioned by the pinned dependencies). It reads
the ``.py`` sources (present in the editable install and in any wheel); Python is pinned to
3.11, whose ``ast.dump`` is the fingerprint's format.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import inspect
import linecache
import textwrap
import types
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_CONSTANTS = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset, list, dict)


def source_code(source: str) -> str:
    """The fingerprint of Python source text (a module, or a dedented function)."""
    return ast.dump(_without_docstrings(ast.parse(textwrap.dedent(source))))


def module_code(module: types.ModuleType) -> str:
    """The fingerprint of a module's source."""
    return source_code(inspect.getsource(module))


def function_code(fn: types.FunctionType) -> str:
    """The fingerprint of a function or lambda, with what it reads from its globals.

    The function's own name does not count (renaming a formula changes nothing it computes).

    Raises:
        ValueError: when the source of ``fn`` cannot be found (built in Python source only).
    """
    return "\n".join(_function_parts(fn, set()))


def digest(parts: Iterable[str]) -> str:
    """Eight hex digits of the SHA-256 of the parts, in order."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8]


def _function_parts(fn: types.FunctionType, seen: set[types.CodeType]) -> list[str]:
    code = fn.__code__
    if code in seen:
        return []
    seen.add(code)
    node = copy.deepcopy(_definition(fn))
    if not isinstance(node, ast.Lambda):
        node.name = "_"
    parts = [ast.dump(_without_docstrings(node))]
    root = fn.__module__.split(".")[0] if fn.__module__ else None
    used = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)})
    for name in used:
        if name not in fn.__globals__:
            continue  # a local, an argument or a builtin
        value = fn.__globals__[name]
        if isinstance(value, types.FunctionType):
            if root and (value.__module__ or "").split(".")[0] == root:
                parts.extend(_function_parts(value, seen))
        elif (text := _constant(value)) is not None:
            parts.append(f"{name}={text}")
    for i, cell in enumerate(fn.__closure__ or ()):
        parts.append(f"<cell {i}>={_constant(cell.cell_contents)}")
    parts.append(f"<defaults>={_constant(fn.__defaults__)}")
    return parts


def _constant(value: object) -> str | None:
    """A stable text for plain data (None for anything else: modules, classes, objects)."""
    if isinstance(value, np.ndarray):
        return f"ndarray({value.dtype.str}, {value.tolist()!r})"
    if isinstance(value, _CONSTANTS):
        return repr(value)
    return None


def _definition(fn: types.FunctionType) -> _Def:
    """The AST node that defines ``fn``, found in its source file by line and column."""
    code = fn.__code__
    lines = linecache.getlines(code.co_filename, fn.__globals__)
    if not lines:
        raise ValueError(f"no source for {fn.__qualname__} ({code.co_filename})")
    found = _definitions("".join(lines)).get((code.co_name, code.co_firstlineno), [])
    if len(found) > 1:  # several lambdas on one line: the one spanning the code's positions
        spots = [
            (line, col)
            for line, end_line, col, end_col in code.co_positions()
            if line is not None and col is not None and (line, col) != (end_line, end_col)
        ]

        def spans(n: _Def) -> bool:
            start, end = (n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)
            return all(start <= s <= end for s in spots)

        found = sorted(
            (n for n in found if spans(n)),
            key=lambda n: (n.end_lineno - n.lineno, n.end_col_offset - n.col_offset),
        )[:1]
    if not found:
        raise ValueError(f"cannot find the source of {fn.__qualname__} in {code.co_filename}")
    return found[0]


@lru_cache(maxsize=64)
def _definitions(source: str) -> dict[tuple[str, int], list[_Def]]:
    """The functions and lambdas of a module's source by (name, first line); a decorated
    function's first line is its first decorator's, as in its code object."""
    out: dict[tuple[str, int], list[_Def]] = {}
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.Lambda):
            out.setdefault(("<lambda>", n.lineno), []).append(n)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([n.lineno, *(d.lineno for d in n.decorator_list)])
            out.setdefault((n.name, first), []).append(n)
    return out


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` with the docstrings of its module, classes and functions removed (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree
