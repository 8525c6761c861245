"""Checks and observations for autograded test cells.

A test cell hands its verdict to a trusted grader by **observing** values: ``observe(name,
value, expected=..., rtol=..., atol=...)``. In a student's own notebook (and under plain
nbgrader) it asserts, like :func:`check_close`, so visible tests give immediate feedback. While
the course's grader runs a submission (``$VGCOURSE_OBSERVE`` is ``record``), it only hands the
value out as plain JSON data and compares nothing: the grader removes every ``expected=``
argument and every ``### BEGIN REFERENCE`` ... ``### END REFERENCE`` block from the test cell
before the student's process sees it, and a trusted process compares the values with those of a
reference run of the instructor's solution (``$VGCOURSE_OBSERVE`` is ``reference`` there). One
comparison, :func:`compare`, decides in all three places.

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

import json
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._validation import is_tensor

__all__ = [
    "MODE_ENV",
    "OBSERVATION_MIME",
    "check_close",
    "check_equal",
    "check_finite",
    "check_shape",
    "check_type",
    "compare",
    "decode_value",
    "encode_value",
    "observe",
    "observe_raises",
]

#: The MIME type of an observation's display message (the grader takes it out of the outputs).
OBSERVATION_MIME = "application/vnd.vgcourse.observation+json"
#: Environment variable that the grader sets in the process it runs: ``record`` (a student's
#: submission) or ``reference`` (the instructor's solution, with the references). Unset: assert.
MODE_ENV = "VGCOURSE_OBSERVE"
#: The most bytes one encoded observation may take; a larger value is recorded as too large.
MAX_OBSERVATION_BYTES = 2 * 1024 * 1024


def _describe(value: Any) -> str:
    """A short description of a value's type, shape and dtype for error messages."""
    if is_tensor(value):
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
    if is_tensor(value):
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
    if isinstance(expected, np.ndarray | list | tuple) or is_tensor(expected):
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
        isinstance(e, np.ndarray | list | tuple) or is_tensor(e) for e in expected
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
    difference = _numeric_difference(got, want, rtol, atol)
    if difference is not None:
        raise AssertionError(f"{name}: {difference}")


def _numeric_difference(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    """None when ``got`` is within ``atol + rtol * |want|`` of ``want`` everywhere (NaN where NaN
    is expected), else a sentence naming the first differing entry (shapes already agree)."""
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    wrong = np.argwhere(~close)
    if got.ndim == 0:
        first = "the value"
        a_val, e_val = got.item(), want.item()
    else:
        index = tuple(int(i) for i in wrong[0])
        first = f"the first at index {index}"
        a_val, e_val = got[index], want[index]
    return (
        f"{len(wrong)} of {max(want.size, 1)} entries differ from the expected values.\n"
        f"  {first}: received {a_val:.8g}, expected {e_val:.8g} "
        f"(difference {abs(a_val - e_val):.3g}; allowed {atol + rtol * abs(e_val):.3g})."
    )


# ---------------------------------------------------------------------------------------------
# Observations: values as plain JSON data, and the one comparison of a value with its expected
# ---------------------------------------------------------------------------------------------
def _float(x: float) -> float | str:
    """A float as JSON allows it (NaN and the infinities as strings)."""
    return x if math.isfinite(x) else repr(float(x))


def _unfloat(x: Any) -> float:
    if isinstance(x, str):
        if x not in ("nan", "inf", "-inf"):
            raise ValueError(f"value: expected a number or 'nan', 'inf', '-inf', received {x!r}")
        return float(x)
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError(f"value: expected a number, received {type(x).__name__}")
    return float(x)


def encode_value(value: Any, _depth: int = 0) -> dict:
    """``value`` as plain JSON data: numbers, strings, booleans, None, NumPy arrays and torch
    tensors (their dtype kind, shape and entries), and lists, tuples and dicts of them. Anything
    else is described by its type's name only.

    Examples
    --------
    >>> encode_value(np.array([1.0, np.inf]))
    {'type': 'array', 'kind': 'f', 'shape': [2], 'data': [1.0, 'inf']}
    """
    if _depth > 8:
        return {"type": "object", "class": "nested too deeply"}
    if value is None:
        return {"type": "none"}
    if isinstance(value, bool | np.bool_):
        return {"type": "bool", "value": bool(value)}
    if isinstance(value, int | np.integer):
        return {"type": "int", "value": int(value)} if abs(int(value)) < 2**63 else {
            "type": "float", "value": _float(float(value))}
    if isinstance(value, float | np.floating):
        return {"type": "float", "value": _float(float(value))}
    if isinstance(value, str):
        return {"type": "str", "value": value[:100_000]}
    if is_tensor(value):
        value = value.detach().cpu()
        value = value.double().numpy() if value.is_floating_point() else value.numpy()
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind in "iu":
            data = value.astype(np.int64).ravel().tolist()
            kind = "i"
        elif kind == "b":
            data = value.ravel().tolist()
        elif kind == "f":
            data = [_float(x) for x in value.astype(np.float64).ravel().tolist()]
        else:
            return {"type": "object", "class": f"numpy.ndarray of dtype {value.dtype}"}
        return {"type": "array", "kind": kind, "shape": list(value.shape), "data": data}
    if isinstance(value, list | tuple):
        return {"type": "list", "items": [encode_value(v, _depth + 1) for v in value[:10_000]]}
    if isinstance(value, dict):
        return {"type": "dict", "items": {str(k): encode_value(v, _depth + 1)
                                          for k, v in list(value.items())[:10_000]}}
    return {"type": "object", "class": type(value).__name__[:200]}


def decode_value(data: Any) -> Any:
    """The value that :func:`encode_value` encoded: Python numbers, strings, booleans, None,
    NumPy arrays, lists and dicts. Raises ``ValueError`` on anything not of that schema (the
    data may come from an untrusted process).

    Examples
    --------
    >>> decode_value({"type": "array", "kind": "f", "shape": [2], "data": [1.0, "inf"]})
    array([ 1., inf])
    """
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError(f"value: expected an encoded value (a dict with a 'type'), "
                         f"received {type(data).__name__}")
    kind = data["type"]
    if kind == "none":
        return None
    if kind == "bool" and isinstance(data.get("value"), bool):
        return data["value"]
    if kind == "int" and isinstance(data.get("value"), int) and not isinstance(data["value"], bool):
        return int(data["value"])
    if kind == "float":
        return _unfloat(data.get("value"))
    if kind == "str" and isinstance(data.get("value"), str):
        return data["value"]
    if kind == "array":
        shape, entries = data.get("shape"), data.get("data")
        if (not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape)
                or not isinstance(entries, list) or len(entries) != math.prod(shape)):
            raise ValueError("value: an array's shape and entries do not agree")
        if data.get("kind") == "f":
            return np.array([_unfloat(x) for x in entries], dtype=np.float64).reshape(shape)
        if data.get("kind") == "i" and all(type(x) is int for x in entries):
            return np.array(entries, dtype=np.int64).reshape(shape)
        if data.get("kind") == "b" and all(type(x) is bool for x in entries):
            return np.array(entries, dtype=bool).reshape(shape)
        raise ValueError(f"value: an array of unknown kind {data.get('kind')!r}")
    if kind == "list" and isinstance(data.get("items"), list):
        return [decode_value(v) for v in data["items"]]
    if kind == "dict" and isinstance(data.get("items"), dict):
        return {str(k): decode_value(v) for k, v in data["items"].items()}
    if kind == "object" and isinstance(data.get("class"), str):
        return _Opaque(data["class"])
    raise ValueError(f"value: not an encoded value of type {kind!r}")


class _Opaque:
    """A value that had no plain-data form; equal only to another of the same class name."""

    def __init__(self, cls: str) -> None:
        self.cls = cls

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Opaque) and other.cls == self.cls

    def __repr__(self) -> str:
        return f"<a {self.cls}>"


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array when it is a number, an array or a (nested) list of
    numbers; else None."""
    if isinstance(value, bool | int | float | np.number | np.bool_ | np.ndarray) or (
            isinstance(value, list) and all(
                isinstance(v, bool | int | float | np.ndarray | list) for v in value)):
        try:
            return np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
    return None


def compare(received: Any, expected: Any, *, rtol: float = 1e-7, atol: float = 0.0) -> str | None:
    """None when ``received`` matches ``expected``, else why not (a sentence for the student).

    Numbers and arrays (and lists of numbers) match within ``atol + rtol * |expected|`` entry
    by entry, NaN where NaN is expected; lists of arrays match entry by entry; dicts key by key;
    strings, booleans and None exactly. Both values are decoded observations (plain data).

    Examples
    --------
    >>> compare(np.array([0.5, 0.25]), [0.5, 0.25]) is None
    True
    >>> compare(3, 4, rtol=0)
    'expected 4, received int 3.'
    """
    nested = (list, np.ndarray, dict)
    rectangular = not isinstance(expected, list) or _numbers(expected) is not None
    if isinstance(expected, list) and any(isinstance(e, nested) for e in expected) and (
            not rectangular or any(isinstance(e, dict) for e in expected)):
        if not isinstance(received, list):
            return f"expected a list of {len(expected)} entries, received {_describe(received)}."
        if len(received) != len(expected):
            return f"expected a list of {len(expected)} entries, received {len(received)}."
        for i, (r, e) in enumerate(zip(received, expected, strict=True)):
            why = compare(r, e, rtol=rtol, atol=atol)
            if why is not None:
                return f"[{i}]: {why}"
        return None
    if isinstance(expected, dict):
        if not isinstance(received, dict) or set(received) != set(expected):
            return f"expected a dict with keys {sorted(expected)}, received {_describe(received)}."
        for key in expected:
            why = compare(received[key], expected[key], rtol=rtol, atol=atol)
            if why is not None:
                return f"[{key!r}]: {why}"
        return None
    want = _numbers(expected) if not isinstance(expected, bool) else None
    if want is not None:
        if received is None:
            return "received None; did the function forget to `return` its result?"
        got = _numbers(received)
        if got is None or isinstance(received, str):
            return f"expected numbers, received {_describe(received)}."
        if got.shape != want.shape:
            return f"expected shape {want.shape}, received shape {got.shape}."
        why = _numeric_difference(got, want, rtol, atol)
        if why is not None and isinstance(expected, int) and not isinstance(received, list):
            return f"expected {expected}, received {_describe(received)}."
        return why
    if isinstance(received, np.ndarray) and received.shape == () and isinstance(expected, bool):
        received = bool(received)
    if type(received) is not type(expected) or received != expected:
        return f"expected {expected!r}, received {_describe(received)}."
    return None


def _mode() -> str:
    return os.environ.get(MODE_ENV, "")


def _publish(payload: dict) -> None:
    """Hand an observation to the grader: a display message of its own MIME type."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    if get_ipython() is None:
        raise RuntimeError(f"${MODE_ENV} is set but no IPython kernel is running")
    text = json.dumps(payload)
    if len(text) > MAX_OBSERVATION_BYTES:
        payload = {**payload, "value": {"type": "object", "class": "value too large"}}
        payload.pop("expected", None)
    publish_display_data({OBSERVATION_MIME: payload})


def observe(name: str, value: Any, expected: Any = None, *, rtol: float = 1e-7,
            atol: float = 0.0) -> None:
    """Observe ``value`` for the grader; in a student's own notebook, check it.

    Parameters
    ----------
    name : str
        What was observed, as the feedback names it, e.g. ``"sigmoid(x) for x ~ N(0, 6^2)"``.
        Unique within its test cell.
    value : object
        The student's value (a number, array, tensor, string, bool, None, or a list or dict
        of them).
    expected : object, optional
        The independent reference (a closed form, autograd, ``torch.nn.init``). Written in a
        test cell only; the grader removes it before a submission runs and takes the expected
        value from its trusted reference run instead. Without it, nothing is checked here.
    rtol, atol : float
        Tolerances of :func:`compare`. The grader uses those of its reference run.

    Raises
    ------
    AssertionError
        Outside the grader, when ``value`` does not match ``expected``.

    Examples
    --------
    >>> observe("sigmoid(0)", 0.5, expected=0.5)
    >>> try:
    ...     observe("layers", 3, expected=4, rtol=0)
    ... except AssertionError as err:
    ...     print(err)
    layers: expected 4, received int 3.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty str, received {_describe(name)}")
    mode = _mode()
    if mode == "record":
        _publish({"name": name[:500], "value": encode_value(value)})
        return
    if mode == "reference":
        payload = {"name": name[:500], "value": encode_value(value), "rtol": float(rtol),
                   "atol": float(atol)}
        if expected is not None:
            payload["expected"] = encode_value(expected)
        _publish(payload)
        return
    if expected is None:
        return
    why = compare(decode_value(encode_value(value)), decode_value(encode_value(expected)),
                  rtol=rtol, atol=atol)
    if why is not None:
        raise AssertionError(f"{name}: {why}")


def _raised(function: Callable, args: tuple, kwargs: dict) -> list[str]:
    """The names of the classes of what ``function(*args, **kwargs)`` raised (most derived
    first), or an empty list when it returned."""
    try:
        function(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 (what was raised is the observation)
        return [cls.__name__ for cls in type(err).__mro__]
    return []


def observe_raises(name: str, expected: type[BaseException], function: Callable, *args: Any,
                   **kwargs: Any) -> None:
    """Observe whether ``function(*args, **kwargs)`` raises ``expected`` (or a subclass).

    Examples
    --------
    >>> observe_raises("int('x')", ValueError, int, "x")
    """
    if not (isinstance(expected, type) and issubclass(expected, BaseException)):
        raise TypeError(f"expected: expected an exception class, received {_describe(expected)}")
    raised = _raised(function, args, kwargs)
    mode = _mode()
    if mode in ("record", "reference"):
        payload = {"name": name[:500], "value": encode_value(raised), "raises": expected.__name__}
        _publish(payload)
        return
    if expected.__name__ not in raised:
        if raised and raised[0] == "NotImplementedError":  # a stub: say so, as a call would
            raise NotImplementedError(f"{name}: the function is not written yet")
        got = f"it raised {raised[0]}" if raised else "it returned without raising"
        raise AssertionError(f"{name}: expected {expected.__name__} to be raised; {got}.")
