"""Checks for autograded test cells.

Every check raises :class:`AssertionError` with a message a student can act on: what was
received, what was expected, and where the two differ. Checks never print and never write to
stderr (nbgrader scores a test cell that writes to stderr as zero).

Examples
--------
>>> import numpy as np
>>> from vgcourse.grading import check_close
>>> check_close(np.array([0.5, 0.25]), [0.5, 0.25], "sigmoid(x)")
>>> try:
...     check_close(np.array([0.5, 0.3]), [0.5, 0.25], "sigmoid(x)")
... except AssertionError as err:
...     print(str(err).splitlines()[0])
sigmoid(x): 1 of 2 entries differ from the expected values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "check_close",
    "check_equal",
    "check_finite",
    "check_shape",
    "check_type",
]


def _describe(value: Any) -> str:
    """A short description of a value's type, shape and dtype for error messages."""
    if isinstance(value, torch.Tensor):
        return f"torch.Tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def _to_numpy(value: Any, name: str) -> np.ndarray:
    """Convert numbers, arrays, tensors and (nested) lists of numbers to a float64 array."""
    if value is None:
        raise AssertionError(
            f"{name}: received None; did the function forget to `return` its result?"
        )
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise AssertionError(
            f"{name}: expected numbers (a number, list, NumPy array or torch tensor), "
            f"received {_describe(value)}."
        ) from err
    return array


def check_type(actual: Any, expected_type: type | tuple[type, ...], name: str) -> None:
    """Check that ``actual`` is an instance of ``expected_type``.

    Parameters
    ----------
    actual : object
        The student's value.
    expected_type : type or tuple of types
        What ``actual`` should be.
    name : str
        How the message refers to the value, e.g. ``"sigmoid(x)"``.

    Examples
    --------
    >>> import numpy as np
    >>> check_type(np.zeros(3), np.ndarray, "sigmoid(x)")
    """
    if not isinstance(actual, expected_type):
        if isinstance(expected_type, tuple):
            wanted = " or ".join(t.__name__ for t in expected_type)
        else:
            wanted = expected_type.__name__
        raise AssertionError(f"{name}: expected a {wanted}, received {_describe(actual)}.")


def check_shape(actual: Any, shape: Sequence[int], name: str) -> None:
    """Check that an array or tensor has exactly the given shape.

    Examples
    --------
    >>> import numpy as np
    >>> check_shape(np.zeros((2, 3)), (2, 3), "dW")
    """
    received = getattr(actual, "shape", None)
    if received is None:
        raise AssertionError(
            f"{name}: expected an array of shape {tuple(shape)}, received {_describe(actual)}."
        )
    if tuple(received) != tuple(shape):
        raise AssertionError(
            f"{name}: expected shape {tuple(shape)}, received shape {tuple(received)}."
        )


def check_finite(actual: Any, name: str) -> None:
    """Check that every entry is finite (no NaN, no infinity).

    Examples
    --------
    >>> check_finite([1.0, 2.0], "loss")
    """
    array = _to_numpy(actual, name)
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0]) if array.ndim else ()
        where = f" at index {index}" if index else ""
        raise AssertionError(
            f"{name}: {int(bad.sum())} of {array.size} entries are not finite "
            f"(first{where}: {array[index] if index else array.item()}). Look for an overflow "
            "(exp of a large number), a division by zero or a log of zero."
        )


def check_equal(actual: Any, expected: Any, name: str) -> None:
    """Check exact equality, for integers, strings, booleans and integer arrays.

    Examples
    --------
    >>> check_equal(7, 7, "layers_until_vanished(0.0, 1e-4)")
    """
    if isinstance(expected, (np.ndarray, torch.Tensor, list, tuple)):
        got = _to_numpy(actual, name)
        want = _to_numpy(expected, name)
        if got.shape != want.shape:
            raise AssertionError(
                f"{name}: expected shape {want.shape}, received shape {got.shape}."
            )
        differ = got != want
        if differ.any():
            index = tuple(int(i) for i in np.argwhere(differ)[0])
            raise AssertionError(
                f"{name}: {int(differ.sum())} of {want.size} entries differ; first at index "
                f"{index}: received {got[index]!r}, expected {want[index]!r}."
            )
        return
    if actual != expected:
        raise AssertionError(f"{name}: expected {expected!r}, received {actual!r}.")


def check_close(
    actual: Any,
    expected: Any,
    name: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> None:
    """Check that ``actual`` matches ``expected`` to within ``atol + rtol * |expected|``.

    Numbers, NumPy arrays, torch tensors and lists or tuples of them are accepted; a list of
    arrays (one gradient per layer, say) is compared entry by entry.

    Parameters
    ----------
    actual : number, array, tensor, or sequence of them
        The student's value.
    expected : number, array, tensor, or sequence of them
        The reference value.
    name : str
        How the message refers to the value, e.g. ``"sigmoid_derivative(x)"``.
    rtol, atol : float
        Relative and absolute tolerance, as in :func:`numpy.allclose`.

    Raises
    ------
    AssertionError
        Naming the first differing entry, the received and the expected value.

    Examples
    --------
    >>> check_close(0.25000001, 0.25, "sigmoid_derivative(0)")
    """
    if isinstance(expected, (list, tuple)) and any(
        isinstance(e, (np.ndarray, torch.Tensor, list, tuple)) for e in expected
    ):
        if not isinstance(actual, (list, tuple)):
            raise AssertionError(
                f"{name}: expected a list of {len(expected)} arrays, received {_describe(actual)}."
            )
        if len(actual) != len(expected):
            raise AssertionError(
                f"{name}: expected a list of {len(expected)} entries, received {len(actual)}."
            )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            check_close(a, e, f"{name}[{i}]", rtol=rtol, atol=atol)
        return

    got = _to_numpy(actual, name)
    want = _to_numpy(expected, name)
    if got.shape != want.shape:
        raise AssertionError(
            f"{name}: expected shape {want.shape}, received shape {got.shape} "
            f"({_describe(actual)})."
        )
    check_finite_expected = np.isfinite(want)
    if not np.isfinite(got[check_finite_expected]).all():
        check_finite(got, name)
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    wrong = np.argwhere(~close)
    if got.ndim == 0:
        first = "the value"
        a_val, e_val = got.item(), want.item()
    else:
        index = tuple(int(i) for i in wrong[0])
        first = f"the first at index {index}"
        a_val, e_val = got[index], want[index]
    raise AssertionError(
        f"{name}: {len(wrong)} of {max(want.size, 1)} entries differ from the expected values.\n"
        f"  {first}: received {a_val:.8g}, expected {e_val:.8g} "
        f"(difference {abs(a_val - e_val):.3g}; allowed {atol + rtol * abs(e_val):.3g})."
    )
