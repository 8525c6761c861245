"""Per-student variants of an assignment: which numbers a student works with.

An assignment may declare a finite list of variants, each a dict of parameters (a width, a
depth, an input, a threshold), and a course key, in a locked cell of its notebook. A student's
variant is

    ``HMAC-SHA256(key, assignment + "/" + student_id)`` read as a big-endian integer, ``mod n``

(:func:`variant_index`): a keyed hash, so the mapping is stable, spreads evenly over the
variants, and needs no database. The same function runs in the student's notebook (after the
student types their id) and in the course's grader (:mod:`coursekit.variants`), which derives
the variant from the submission's folder and hands its parameters to the kernel in
``$VGCOURSE_VARIANT`` (:data:`VARIANT_ENV`); :func:`variant_params` then prefers them to
whatever id the notebook was given. The key is not a secret: knowing it only tells a student
which variant a classmate has, which the classmate could tell them too; what matters is that
the grader never takes the variant from the notebook.

Examples
--------
>>> variants = [{"x": 0.5}, {"x": 1.0}, {"x": 1.5}]
>>> variant_params("ps1", "jdoe", variants, key="course key")
{'x': 1.0}
>>> variant_index("course key", "ps1", "jdoe", 3)
1
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._validation import describe

__all__ = ["VARIANT_ENV", "variant_index", "variant_params"]

#: Environment variable in which the grader hands a kernel its variant: a JSON object
#: ``{"assignment": ..., "index": ..., "params": {...}}``.
VARIANT_ENV = "VGCOURSE_VARIANT"


def _check_text(value: Any, name: str, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a str, received {describe(value)}.")
    if not empty and not value.strip():
        raise ValueError(f"{name}: expected a non-empty str, received {value!r}.")
    return value.strip()


def variant_index(key: str, assignment: str, student_id: str, n: int) -> int:
    """The variant (0 to ``n - 1``) of ``student_id`` in ``assignment``.

    ``HMAC-SHA256(key, assignment + "/" + student_id)``, read as a big-endian integer,
    ``mod n``. Surrounding whitespace of the id is ignored.

    Parameters
    ----------
    key : str
        The course key (any non-empty text).
    assignment : str
        The assignment's name, e.g. ``"ps1_sigmoid_decay"``.
    student_id : str
        The student's id: the name of their folder in the course's ``submitted/``.
    n : int
        How many variants the assignment has (at least 1).

    Returns
    -------
    int
        The index of the student's variant.

    Examples
    --------
    >>> variant_index("course key", "ps1", "jdoe", 3)
    1
    """
    key = _check_text(key, "key")
    assignment = _check_text(assignment, "assignment")
    student_id = _check_text(student_id, "student_id")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n: expected an int, received {describe(n)}.")
    if n < 1:
        raise ValueError(f"n: expected an int >= 1 (the number of variants), received {n}.")
    message = f"{assignment}/{student_id}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return int.from_bytes(digest, "big") % n


def _check_variants(variants: Any) -> list[dict]:
    if isinstance(variants, str | bytes) or not isinstance(variants, Sequence):
        raise TypeError(f"variants: expected a list of dicts, received {describe(variants)}.")
    if not variants:
        raise ValueError("variants: expected at least one variant, received an empty list.")
    for i, v in enumerate(variants):
        if not isinstance(v, Mapping) or not all(isinstance(k, str) for k in v):
            raise TypeError(f"variants[{i}]: expected a dict with str keys, received "
                            f"{describe(v)}.")
    return [dict(v) for v in variants]


def _from_grader(assignment: str) -> dict | None:
    """The parameters the grader handed this process, or None when it handed none."""
    text = os.environ.get(VARIANT_ENV, "")
    if not text:
        return None
    try:
        given = json.loads(text)
        params, named = given["params"], given["assignment"]
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"${VARIANT_ENV}: expected a JSON object with 'assignment' and "
                         f"'params', received {text[:200]!r}.") from err
    if named != assignment or not isinstance(params, dict):
        raise ValueError(f"${VARIANT_ENV}: it holds the variant of {named!r}, not of "
                         f"{assignment!r} (the notebook of another assignment?).")
    return params


def variant_params(assignment: str, student_id: str, variants: Sequence[Mapping[str, Any]],
                   *, key: str) -> dict[str, Any]:
    """The parameters of a student's variant of ``assignment``.

    While the course's grader runs the notebook, the variant it derived from the submission's
    folder (``$VGCOURSE_VARIANT``); otherwise ``variants[variant_index(key, assignment,
    student_id, len(variants))]``. An empty ``student_id`` (not typed in yet) gives the first
    variant, the example every student sees before typing their id.

    Parameters
    ----------
    assignment : str
        The assignment's name.
    student_id : str
        The id the student typed (``""`` if none yet).
    variants : list of dict
        The assignment's variants, each a dict of parameters.
    key : str
        The course key.

    Returns
    -------
    dict
        A copy of the variant's parameters.

    Examples
    --------
    >>> variant_params("ps1", "", [{"x": 0.5}, {"x": 1.0}], key="course key")
    {'x': 0.5}
    """
    assignment = _check_text(assignment, "assignment")
    student_id = _check_text(student_id, "student_id", empty=True)
    variants = _check_variants(variants)
    key = _check_text(key, "key")
    given = _from_grader(assignment)
    if given is not None:
        return dict(given)
    if not student_id:
        return variants[0]
    return variants[variant_index(key, assignment, student_id, len(variants))]
