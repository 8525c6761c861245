"""Activation functions, their derivatives, their PyTorch modules and their init gains.

:func:`get_activation` returns an :class:`Activation`, one object per name, whose
:meth:`~Activation.fn` and :meth:`~Activation.derivative` accept a NumPy array or a torch
tensor and return the same type. The derivative is taken with respect to the
pre-activation ``x`` and agrees with PyTorch's autograd everywhere, including the kinks:
``relu'(0) = 0``, ``leaky_relu'(0) = 0.01`` and ``elu'(0) = 1``.

Examples
--------
>>> import numpy as np
>>> from vgcourse.activations import get_activation
>>> sigmoid = get_activation("sigmoid")
>>> float(sigmoid.derivative(np.array(0.0)))
0.25
>>> sigmoid.fn(np.array([-1000.0, 1000.0]))  # no overflow warning
array([0., 1.])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from ._validation import check_choice, describe

__all__ = ["ACTIVATION_NAMES", "Activation", "get_activation"]

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)

#: The activation names :func:`get_activation` accepts.
ACTIVATION_NAMES: tuple[str, ...] = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu")

#: Negative slope of ``leaky_relu`` (PyTorch's default for ``nn.LeakyReLU``).
LEAKY_SLOPE = 0.01
#: ``alpha`` of ``elu`` (PyTorch's default for ``nn.ELU``).
ELU_ALPHA = 1.0


# --- NumPy implementations -------------------------------------------------------------


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a non-positive number never overflows: sigmoid(x) = 1/(1+e^-x) for x >= 0 and
    # e^x/(1+e^x) for x < 0, both written with e = exp(-|x|) <= 1.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_sigmoid_derivative(x: np.ndarray) -> np.ndarray:
    s = _np_sigmoid(x)
    return s * (1.0 - s)


def _np_elu(x: np.ndarray) -> np.ndarray:
    # np.minimum keeps expm1 away from large positive inputs (no overflow).
    return np.where(x > 0, x, ELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def _np_elu_derivative(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(x, 0.0)))


_NUMPY: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "linear": (lambda x: x.copy(), np.ones_like),
    "sigmoid": (_np_sigmoid, _np_sigmoid_derivative),
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(x.dtype)),
    "leaky_relu": (
        lambda x: np.where(x > 0, x, LEAKY_SLOPE * x),
        lambda x: np.where(x > 0, 1.0, LEAKY_SLOPE).astype(x.dtype),
    ),
    "elu": (_np_elu, _np_elu_derivative),
}

# --- torch implementations (differentiable: built from torch ops) ----------------------

_TORCH: dict[
    str, tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]
] = {
    "linear": (lambda x: x.clone(), torch.ones_like),
    "sigmoid": (torch.sigmoid, lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    "tanh": (torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
    "relu": (torch.relu, lambda x: (x > 0).to(x.dtype)),
    "leaky_relu": (
        lambda x: torch.nn.functional.leaky_relu(x, LEAKY_SLOPE),
        lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, LEAKY_SLOPE)),
    ),
    "elu": (
        lambda x: torch.nn.functional.elu(x, ELU_ALPHA),
        lambda x: torch.where(x > 0, torch.ones_like(x), ELU_ALPHA * torch.exp(x.clamp(max=0))),
    ),
}

_MODULES: dict[str, Callable[[], nn.Module]] = {
    "linear": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE),
    "elu": lambda: nn.ELU(ELU_ALPHA),
}

# torch.nn.init.calculate_gain has no entry for "elu" (it raises ValueError in torch 2.13);
# we use gain 1, the gain of the identity that ELU equals for x > 0. The other five are
# exactly what calculate_gain returns.
_GAINS: dict[str, float] = {
    "linear": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1 + LEAKY_SLOPE**2)),
    "elu": 1.0,
}

# The largest value of |f'(x)|: 1/4 for the sigmoid (at x = 0), 1 for the others.
_MAX_DERIVATIVES: dict[str, float] = {
    "linear": 1.0,
    "sigmoid": 0.25,
    "tanh": 1.0,
    "relu": 1.0,
    "leaky_relu": 1.0,
    "elu": 1.0,
}


@dataclass(frozen=True)
class Activation:
    """An activation function with its derivative, module and initialization gain.

    Create one with :func:`get_activation`.

    Attributes
    ----------
    name : str
        One of :data:`ACTIVATION_NAMES`.
    gain : float
        The gain of :func:`torch.nn.init.calculate_gain` (``leaky_relu`` with slope 0.01).
        PyTorch defines no gain for ``elu``; we use 1.0.
    max_derivative : float
        The largest value the derivative takes (0.25 for the sigmoid, 1 otherwise); used to
        define a saturated unit in :func:`vgcourse.diagnostics.activation_stats`.

    Examples
    --------
    >>> import torch
    >>> relu = get_activation("relu")
    >>> relu.fn(torch.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    >>> relu.derivative(torch.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 1.])
    >>> relu.module()
    ReLU()
    """

    name: str
    gain: float = field(repr=False)
    max_derivative: float = field(repr=False)

    def fn(self, x: ArrayOrTensor) -> ArrayOrTensor:
        """Apply the activation elementwise.

        Parameters
        ----------
        x : numpy.ndarray or torch.Tensor
            Pre-activations. NumPy integer arrays are computed in float64; a torch tensor
            keeps its dtype and its autograd graph.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            Same type and shape as ``x``.

        Examples
        --------
        >>> import numpy as np
        >>> get_activation("tanh").fn(np.array([0.0]))
        array([0.])
        """
        if isinstance(x, torch.Tensor):
            return _TORCH[self.name][0](_torch_input(x))
        return _NUMPY[self.name][0](_numpy_input(x))

    def derivative(self, x: ArrayOrTensor) -> ArrayOrTensor:
        """The derivative ``f'(x)`` with respect to the pre-activation ``x``, elementwise.

        At a kink it takes PyTorch's autograd value: ``relu'(0) = 0``,
        ``leaky_relu'(0) = 0.01``, ``elu'(0) = 1``.

        Examples
        --------
        >>> import numpy as np
        >>> get_activation("sigmoid").derivative(np.array([0.0, 1000.0]))
        array([0.25, 0.  ])
        """
        if isinstance(x, torch.Tensor):
            return _TORCH[self.name][1](_torch_input(x))
        return _NUMPY[self.name][1](_numpy_input(x))

    def module(self) -> nn.Module:
        """A fresh ``torch.nn.Module`` computing the activation.

        ``nn.Identity`` for ``linear``, ``nn.LeakyReLU(0.01)`` and ``nn.ELU(1.0)`` for the
        parametrized ones.

        Examples
        --------
        >>> get_activation("leaky_relu").module()
        LeakyReLU(negative_slope=0.01)
        """
        return _MODULES[self.name]()


def _numpy_input(x: object) -> np.ndarray:
    if isinstance(x, (list, tuple, int, float, np.number)) and not isinstance(x, bool):
        x = np.asarray(x, dtype=np.float64)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray or a torch.Tensor, received {describe(x)}.")
    if not np.issubdtype(x.dtype, np.floating):
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"x must hold real numbers, received {describe(x)}.")
        x = x.astype(np.float64)
    return x


def _torch_input(x: torch.Tensor) -> torch.Tensor:
    if x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"x must hold real numbers, received {describe(x)}.")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    return x


_ACTIVATIONS: dict[str, Activation] = {
    name: Activation(name, _GAINS[name], _MAX_DERIVATIVES[name]) for name in ACTIVATION_NAMES
}


def get_activation(name: str | Activation) -> Activation:
    """Look up an activation by name.

    Parameters
    ----------
    name : str or Activation
        One of ``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``,
        ``"elu"``. An :class:`Activation` is returned unchanged.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    TypeError
        When ``name`` is not a string.

    Examples
    --------
    >>> get_activation("tanh").gain
    1.6666666666666667
    >>> get_activation("relu").name
    'relu'
    """
    if isinstance(name, Activation):
        return name
    return _ACTIVATIONS[check_choice(name, "activation", ACTIVATION_NAMES)]
