"""Claims a chapter makes about its own numbers, checked when the chapter runs.

A sentence such as "the backward signal grows about 100x over 50 layers" rests on a figure the
chapter computes. :func:`claim` states that sentence next to the figures it describes: when the
figures stop supporting it, the cell raises :class:`ClaimError`, so the book build (which runs
with ``-W``, where a failing cell fails the build) stops and names the sentence.

Examples
--------
>>> first, last = 2.5e-4, 1.0
>>> claim("the first layer's gradient is over 100 times smaller than the last's",
...       last > 100 * first, first=first, last=last)
"""

from __future__ import annotations

import types
from typing import Any

__all__ = ["ClaimError", "claim"]


class ClaimError(AssertionError):
    """A sentence of the prose that the chapter's own numbers no longer support."""


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    try:  # NumPy scalars and 0-d tensors
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return repr(value)


def claim(statement: str, holds: Any, **figures: Any) -> None:
    """Raise :class:`ClaimError` unless ``holds`` is true.

    Parameters
    ----------
    statement : str
        The sentence of the prose, as the reader sees it (or its gist).
    holds : bool
        The comparison that makes it true, computed from the chapter's own numbers. NumPy and
        torch booleans are accepted.
    **figures
        The numbers the comparison uses, shown in the failure message.

    Raises
    ------
    TypeError
        If ``statement`` is not a non-empty string.
    ClaimError
        If ``holds`` is false.

    Examples
    --------
    >>> claim("the sigmoid net learns faster", 0.51 > 0.9, acc=0.51)
    Traceback (most recent call last):
    ...
    vgcourse.claims.ClaimError: the chapter says "the sigmoid net learns faster", but its \
numbers do not support it (acc=0.51)
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError(f"statement must be a non-empty str, got {statement!r}")
    if callable(holds):
        holds = holds(types.SimpleNamespace(**figures))
    if not bool(holds):
        shown = ", ".join(f"{k}={_show(v)}" for k, v in figures.items())
        raise ClaimError(
            f'the chapter says "{statement}", but its numbers do not support it'
            + (f" ({shown})" if shown else "")
        )
