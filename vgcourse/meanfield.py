"""Mean-field theory of a deep tanh network at initialization (Poole et al. 2016).

With weights of variance ``gain**2 / n`` and biases of variance ``bias_std**2``, the
pre-activation variance q of a wide tanh layer settles at the fixed point
q* = gain^2 E[tanh(sqrt(q*) z)^2] + bias_std^2, z ~ N(0, 1), and at q* every layer multiplies
the gradient's variance by chi_1 = gain^2 E[tanh'(sqrt(q*) z)^2]: chi_1 < 1 is the ordered
phase (gradients vanish), chi_1 > 1 the chaotic phase (they explode), chi_1 = 1 the edge of
chaos. Chapters 4 and 7 use it.

Examples
--------
>>> from vgcourse.meanfield import tanh_fixed_point
>>> q_star, chi_1 = tanh_fixed_point(5 / 3)
>>> round(chi_1, 2)
1.21
"""

from __future__ import annotations

import numpy as np

from ._validation import check_float, check_int

__all__ = ["tanh_fixed_point"]


def tanh_fixed_point(gain: float, bias_std: float = 0.0,
                     iterations: int = 500) -> tuple[float, float]:
    """The fixed point q* of a tanh layer's pre-activation variance, and chi_1 there.

    Gaussian quadrature (101 Hermite nodes) computes the expectations over z ~ N(0, 1); q* is
    found by iterating the variance map from q = 1.

    Parameters
    ----------
    gain : float
        The weight scale g (weights of variance g^2 / fan-in), positive.
    bias_std : float, default 0.0
        The standard deviation of the biases, non-negative.
    iterations : int, default 500
        How many times to apply the variance map, at least 1.

    Returns
    -------
    (float, float)
        q* and chi_1 = g^2 E[tanh'(sqrt(q*) z)^2].

    Raises
    ------
    TypeError
        If an argument is not a number (``iterations``: not an int).
    ValueError
        If ``gain`` is not positive, ``bias_std`` is negative or ``iterations`` is below 1.

    Examples
    --------
    >>> q_star, chi_1 = tanh_fixed_point(1.0)
    >>> q_star < 0.01 and 0.98 < chi_1 <= 1
    True
    """
    gain = check_float(gain, "gain", strictly_positive=True)
    bias_std = check_float(bias_std, "bias_std", minimum=0.0)
    iterations = check_int(iterations, "iterations", minimum=1)
    z, weight = np.polynomial.hermite_e.hermegauss(101)  # nodes and weights for N(0, 1)
    weight = weight / weight.sum()
    q = 1.0
    for _ in range(iterations):
        q = float(gain**2 * np.sum(weight * np.tanh(np.sqrt(q) * z) ** 2) + bias_std**2)
    chi = float(gain**2 * np.sum(weight * (1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2))
    return q, chi
