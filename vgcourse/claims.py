"""Claims a chapter makes about its own numbers, checked when the chapter runs.

A sentence such as "the backward signal grows about 100x over 50 layers" rests on figures the
chapter measures. :func:`claim` states that sentence next to those figures, with the condition
that makes it true written as a function of them: when the figures stop supporting it, the cell
raises :class:`ClaimError`, so the book build (which runs with ``-W``, where a failing cell fails
the build) stops and names the sentence.

A check is a claim only if it could fail: the condition receives the figures as a namespace, so
that the test suite can ask whether some plausible change of the figures (each scaled by 1/1000
to 1000, a sign flipped, two figures swapped) would make it false (:func:`falsifier`). What holds
whatever the measurement does not go through :func:`claim`:

- :func:`fact`: a fact of mathematics or of the construction (an identity, a theorem, a property
  that holds by definition), checked so that a wrong formula in the code is caught;
- :func:`agrees`: the course's code against a reference implementation (autograd,
  ``torch.nn``), a regression test rather than a statement about what the chapter measures.

When the environment variable ``VGCOURSE_CLAIMS_LOG`` names a file, every call appends one JSON
line to it (kind, statement, figures and, for a claim, the change that would falsify it); the
book-build tests read it (``tests/test_claims.py``).

Examples
--------
>>> first, last = 2.5e-4, 1.0
>>> claim("the first layer's gradient is over 100 times smaller than the last's",
...       lambda f: f.last > 100 * f.first, first=first, last=last)
>>> fact("sigma'(0) = 1/4", abs(0.25 - 0.5 * (1 - 0.5)) == 0)
>>> agrees("the scratch sigmoid matches torch.sigmoid", [0.5, 0.731], [0.5, 0.7311], atol=1e-3)
"""

from __future__ import annotations

import itertools
import json
import os
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["ClaimError", "agrees", "claim", "fact", "falsifier"]

#: The factors by which :func:`falsifier` scales a figure (1/1000 to 1000).
SCALES = (1e-3, 1e-2, 0.1, 0.5, 0.9, 1.1, 2.0, 10.0, 100.0, 1e3)
#: The environment variable naming the file every call is logged to (one JSON line each).
LOG_VARIABLE = "VGCOURSE_CLAIMS_LOG"


class ClaimError(AssertionError):
    """A sentence of the prose that the chapter's own numbers no longer support."""


def _show(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return repr(bool(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    try:  # NumPy scalars and 0-d tensors
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        pass
    try:  # arrays, tensors and sequences of numbers
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return repr(value)
    return np.array2string(array, precision=4, threshold=8)


def _check_statement(statement: Any) -> None:
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError(f"statement must be a non-empty str, got {statement!r}")


def _fail(statement: str, figures: Mapping[str, Any], what: str = "its numbers") -> ClaimError:
    shown = ", ".join(f"{k}={_show(v)}" for k, v in figures.items())
    return ClaimError(f'the chapter says "{statement}", but {what} do not support it'
                      + (f" ({shown})" if shown else ""))


def _log(kind: str, statement: str, figures: Mapping[str, Any], **extra: Any) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if not path:
        return
    record = {"kind": kind, "statement": statement,
              "figures": {k: _show(v) for k, v in figures.items()}, **extra}
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool | np.bool_ | str | bytes):
        return False
    if isinstance(value, int | float | np.integer | np.floating):
        return True
    return getattr(value, "ndim", None) == 0 and getattr(value, "dtype", None) is not None


def _scalar_changes(value: Any) -> list[tuple[str, Any]]:
    """Plausible other values of one number: scaled, negated, and one up or down if whole."""
    if isinstance(value, bool | np.bool_):
        return [("negated", not bool(value))]
    x = float(value)
    whole = isinstance(value, int | np.integer) or (
        getattr(value, "dtype", None) is not None and "int" in str(value.dtype))
    out: list[tuple[str, Any]] = []
    if x == 0:
        candidates = [("set to 1", 1.0), ("set to -1", -1.0), ("set to 1e-3", 1e-3),
                      ("set to -1e-3", -1e-3)]
    else:
        candidates = [(f"scaled by {s:g}", x * s) for s in SCALES] + [("sign flipped", -x)]
    if whole:
        candidates += [("plus 1", x + 1), ("minus 1", x - 1)]
    for how, y in candidates:
        out.append((how, int(round(y)) if whole else y))
    return out


def _array_changes(value: Any) -> list[tuple[str, Any]]:
    """Other values of an array: scaled whole, negated, reversed, or one entry changed."""
    is_tensor = type(value).__module__.startswith("torch")
    try:
        array = np.array(value.detach().cpu().numpy() if is_tensor else value, dtype=float)
    except (TypeError, ValueError, AttributeError):
        return []
    if array.ndim == 0 or array.size == 0:
        return []

    def back(a: np.ndarray) -> Any:
        if is_tensor:
            import torch

            return torch.as_tensor(a, dtype=value.dtype)
        return a

    if array.dtype == bool or np.asarray(value).dtype == bool:
        truth = np.asarray(value, dtype=bool)
        return [("all true", back(np.ones_like(truth))), ("all false", back(np.zeros_like(truth))),
                ("negated", back(~truth))]
    out: list[tuple[str, Any]] = [(f"scaled by {s:g}", back(array * s)) for s in SCALES]
    out += [("negated", back(-array)), ("reversed", back(array[::-1].copy()))]
    flat = array.reshape(-1)
    for index in sorted({0, flat.size - 1, int(np.argmax(flat)), int(np.argmin(flat))}):
        for how, y in _scalar_changes(flat[index]):
            changed = flat.copy()
            changed[index] = y
            out.append((f"entry {index} {how}", back(changed.reshape(array.shape))))
    return out


def _changes(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, bool | np.bool_) or _is_scalar(value):
        return _scalar_changes(value)
    if isinstance(value, Mapping):
        out = []
        for key, item in value.items():
            for how, y in _changes(item):
                out.append((f"[{key!r}] {how}", {**value, key: y}))
        return out
    if isinstance(value, str | bytes):
        return []
    return _array_changes(value)


def falsifier(holds: Callable[[types.SimpleNamespace], Any],
              figures: Mapping[str, Any]) -> str | None:
    """Find a plausible change of ``figures`` that makes ``holds`` false.

    Tries every figure alone scaled by each of :data:`SCALES` (1/1000 to 1000), with its sign
    flipped, one up or down if it is a whole number, set to +-1 if it is zero, flipped if it is a
    boolean; for an array, the same for the whole array and for its first, last, largest and
    smallest entries, and the array reversed; for a dict, the same for each value; then every
    pair of numeric figures swapped, and all figures scaled together.

    Parameters
    ----------
    holds : callable
        The claim's condition, a function of a namespace of the figures.
    figures : mapping
        The figures, by name.

    Returns
    -------
    str or None
        A description of the first change found that makes the condition false (or makes it
        raise), or None when no such change exists: then the check cannot fail and is not a
        claim about the figures.

    Examples
    --------
    >>> falsifier(lambda f: f.ratio > 10, {"ratio": 120.0})
    'ratio scaled by 0.001'
    >>> falsifier(lambda f: f.ratio > 10 or True, {"ratio": 120.0}) is None
    True
    """
    if not callable(holds):
        raise TypeError(f"holds must be a function of the figures, got {type(holds).__name__}")

    def fails(changed: Mapping[str, Any]) -> bool:
        try:
            return not bool(holds(types.SimpleNamespace(**changed)))
        except Exception:  # a change the condition cannot take counts as a failure
            return True

    for name, value in figures.items():
        for how, y in _changes(value):
            if fails({**figures, name: y}):
                return f"{name}{how}" if how.startswith("[") else f"{name} {how}"
    numeric = [k for k, v in figures.items() if _is_scalar(v)]
    for a, b in itertools.combinations(numeric, 2):
        if figures[a] != figures[b] and fails({**figures, a: figures[b], b: figures[a]}):
            return f"{a} and {b} swapped"
    for s in SCALES:
        together = {k: (v * s if _is_scalar(v) else v) for k, v in figures.items()}
        if numeric and fails(together):
            return f"every figure scaled by {s:g}"
    return None


def claim(statement: str, holds: Callable[[types.SimpleNamespace], Any], /,
          **figures: Any) -> None:
    """Raise :class:`ClaimError` unless the measured ``figures`` satisfy ``holds``.

    Parameters
    ----------
    statement : str
        The sentence of the prose, as the reader sees it (or its gist).
    holds : callable
        The condition that makes the sentence true, as a function of a namespace of the
        figures: ``lambda f: f.ratio > 10``. It must use the figures (and nothing measured
        outside them), so that other figures could make it false; NumPy and torch booleans
        are accepted as its result.
    **figures
        The measured numbers the condition uses (at least one), shown in the failure message.

    Raises
    ------
    TypeError
        If ``statement`` is not a non-empty string, or ``holds`` is not callable (the boolean
        form ``claim("...", a > b)`` is not a claim: it cannot be re-evaluated on other figures).
    ValueError
        If no figure is given.
    ClaimError
        If the figures do not satisfy ``holds``.

    Examples
    --------
    >>> claim("the sigmoid net learns faster", lambda f: f.acc > 0.9, acc=0.51)
    Traceback (most recent call last):
    ...
    vgcourse.claims.ClaimError: the chapter says "the sigmoid net learns faster", but its \
numbers do not support it (acc=0.51)
    """
    _check_statement(statement)
    if not callable(holds):
        raise TypeError("holds must be a function of the figures, such as lambda f: f.ratio > 10,"
                        f" got {type(holds).__name__}")
    if not figures:
        raise ValueError(f"claim {statement!r} got no figures; expected the measured numbers "
                         "its condition uses, as keyword arguments")
    if not bool(holds(types.SimpleNamespace(**figures))):
        raise _fail(statement, figures)
    if os.environ.get(LOG_VARIABLE):
        _log("claim", statement, figures, falsified_by=falsifier(holds, figures))


def fact(statement: str, holds: Any, /, **figures: Any) -> None:
    """Raise :class:`ClaimError` unless a fact of mathematics or construction holds.

    For what is true whatever the chapter measures (an identity, a theorem, a property that
    holds by definition): the check catches a wrong formula in the code, but it is not counted
    as a claim about the measured numbers.

    Parameters
    ----------
    statement : str
        The fact, in words.
    holds : bool or callable
        Its check, or a function of a namespace of the figures.
    **figures
        The numbers involved, shown in the failure message.

    Raises
    ------
    TypeError
        If ``statement`` is not a non-empty string.
    ClaimError
        If the check is false.

    Examples
    --------
    >>> import math
    >>> fact("tanh'(0) = 4 sigma'(0)", abs(1.0 - 4 * 0.25) < 1e-12)
    """
    _check_statement(statement)
    ok = holds(types.SimpleNamespace(**figures)) if callable(holds) else holds
    if not bool(ok):
        raise _fail(statement, figures, "the numbers of the construction")
    _log("fact", statement, figures)


def agrees(statement: str, ours: Any, reference: Any, /, *, rtol: float = 1e-5,
           atol: float = 1e-8) -> None:
    """Raise :class:`ClaimError` unless the course's result matches a reference implementation.

    Parameters
    ----------
    statement : str
        What is compared with what ("the scratch LayerNorm matches nn.LayerNorm").
    ours, reference : array_like or tensor
        The course's result and the reference's (autograd, ``torch.nn``, a closed form), of the
        same shape.
    rtol, atol : float
        The tolerances of :func:`numpy.allclose`, non-negative.

    Raises
    ------
    TypeError
        If ``statement`` is not a non-empty string.
    ValueError
        If the shapes differ or a tolerance is negative.
    ClaimError
        If the two differ by more than the tolerances.

    Examples
    --------
    >>> agrees("1/4 is sigma'(0)", 0.25, 0.5 * (1 - 0.5))
    """
    _check_statement(statement)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not isinstance(tol, int | float) or tol < 0:
            raise ValueError(f"{name} must be a non-negative number, got {tol!r}")

    def as_array(value: Any) -> np.ndarray:
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        return np.asarray(value, dtype=float)

    a, b = as_array(ours), as_array(reference)
    if a.shape != b.shape:
        raise ValueError(f"ours and reference must have the same shape, got {a.shape} and "
                         f"{b.shape}")
    gap = float(np.max(np.abs(a - b))) if a.size else 0.0
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        raise _fail(statement, {"max_abs_difference": gap, "rtol": rtol, "atol": atol},
                    "the two implementations")
    _log("agrees", statement, {"max_abs_difference": gap})
