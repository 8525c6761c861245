"""Shared argument checks (private).

Every check raises :class:`TypeError` (wrong kind of value) or :class:`ValueError` (right kind,
wrong value) whose message names the argument, what was received and what was expected.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor. One exists only once PyTorch is imported, so the
    modules that need nothing else of it (:mod:`vgcourse.grading`, :mod:`vgcourse.variants`,
    which the grader imports) never import it."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def describe(value: Any) -> str:
    """A short description of a value for error messages."""
    if is_tensor(value):
        return f"a torch.Tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"a numpy.ndarray of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (type {type(value).__name__})"


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, rejecting bools, floats and values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, received {describe(value)}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, received {value}.")
    return value


def check_optional_seed(value: Any, name: str = "seed") -> int | None:
    """A seed is ``None`` or a non-negative int."""
    if value is None:
        return None
    return check_int(value, name, minimum=0)


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    strictly_positive: bool = False,
    maximum: float | None = None,
    maximum_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, received {describe(value)}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, received {value}.")
    if strictly_positive and value <= 0:
        raise ValueError(f"{name} must be > 0, received {value}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, received {value}.")
    if maximum is not None:
        if maximum_inclusive and value > maximum:
            raise ValueError(f"{name} must be <= {maximum}, received {value}.")
        if not maximum_inclusive and value >= maximum:
            raise ValueError(f"{name} must be < {maximum}, received {value}.")
    return value


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (strings)."""
    listed = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed}, received {describe(value)}.")
    if value not in choices:
        raise ValueError(f"{name} must be one of {listed}, received {value!r}.")
    return value


def check_module(value: Any, name: str = "model") -> torch.nn.Module:
    """Accept any ``torch.nn.Module``."""
    import torch

    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, received {describe(value)}.")
    return value


def as_float_tensor(value: Any, name: str, *, ndim: int | None = None) -> torch.Tensor:
    """Convert a tensor or array of real numbers to a float32 tensor and check it is finite.

    A float64 tensor keeps its dtype (so gradient checks in double precision stay exact);
    integer and boolean inputs become float32.
    """
    import torch

    if isinstance(value, np.ndarray):
        if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
            raise TypeError(f"{name} must hold numbers, received {describe(value)}.")
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy.ndarray, received {describe(value)}."
        )
    if value.is_complex():
        raise TypeError(f"{name} must hold real numbers, received {describe(value)}.")
    if not value.is_floating_point():
        value = value.to(torch.float32)
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D tensor, received {describe(value)}.")
    if not torch.isfinite(value).all():
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(
            f"{name} must hold only finite numbers, received {describe(value)} with "
            f"{bad} NaN or infinite entries."
        )
    return value
