"""Toy classification data sets: the CS231n spiral and two concentric circles.

Both return ``(X, y)`` with ``X`` a float32 tensor of shape ``(n, 2)`` and ``y`` an int64
tensor of shape ``(n,)``, and both are deterministic for a given ``seed``: they draw from
their own ``numpy.random.RandomState(seed)`` and never touch NumPy's or PyTorch's global
random state.

Examples
--------
>>> from vgcourse.data import make_spiral
>>> X, y = make_spiral(n_per_class=100, n_classes=3, seed=0)
>>> tuple(X.shape), X.dtype, tuple(y.shape), y.dtype
((300, 2), torch.float32, (300,), torch.int64)
"""

from __future__ import annotations

import numpy as np
import torch

from ._validation import check_float, check_int

__all__ = ["make_circles", "make_spiral"]


def make_spiral(
    n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The spiral of the CS231n neural-network case study (seed 002).

    Class ``j`` has ``n_per_class`` points with radius ``r = linspace(0, 1, n_per_class)``
    and angle ``t = linspace(4j, 4(j + 1), n_per_class) + noise * randn(n_per_class)``, at
    ``(r sin t, r cos t)``. The points are ordered by class, as in the seed. The Gaussian
    draws come from ``numpy.random.RandomState(seed)`` in the seed's order, so
    ``make_spiral(seed=0)`` is exactly the seed's data set (which called
    ``np.random.seed(0)``).

    Parameters
    ----------
    n_per_class : int, default 100
        Points per class (>= 1).
    n_classes : int, default 3
        Number of arms, one per class (>= 1).
    noise : float, default 0.2
        Standard deviation of the angular noise, in radians (>= 0).
    seed : int, default 0
        Seed of the random state (>= 0).

    Returns
    -------
    X : torch.Tensor
        float32, shape ``(n_per_class * n_classes, 2)``.
    y : torch.Tensor
        int64 class labels ``0 .. n_classes - 1``, shape ``(n_per_class * n_classes,)``.

    Examples
    --------
    >>> X, y = make_spiral(n_per_class=50, n_classes=2, seed=1)
    >>> y.bincount().tolist()
    [50, 50]
    >>> bool((X.norm(dim=1) <= 1.0 + 1e-6).all())
    True
    """
    n_per_class = check_int(n_per_class, "n_per_class", minimum=1)
    n_classes = check_int(n_classes, "n_classes", minimum=1)
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_int(seed, "seed", minimum=0)

    rng = np.random.RandomState(seed)
    X = np.zeros((n_per_class * n_classes, 2))
    y = np.zeros(n_per_class * n_classes, dtype=np.int64)
    for j in range(n_classes):
        ix = slice(n_per_class * j, n_per_class * (j + 1))
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(j * 4, (j + 1) * 4, n_per_class) + rng.randn(n_per_class) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y)


def make_circles(
    n_samples: int = 1000,
    factor: float = 0.5,
    noise: float = 0.1,
    seed: int = 0,
    *,
    shuffle: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two concentric circles, as scikit-learn's ``make_circles`` (seed 004).

    ``n_samples // 2`` points lie evenly spaced on the outer circle of radius 1 (label 0)
    and the other ``n_samples - n_samples // 2`` on the inner circle of radius ``factor``
    (label 1); the points are shuffled (when ``shuffle``) and then moved by Gaussian noise
    of standard deviation ``noise`` in each coordinate. This follows scikit-learn's
    algorithm step by step (``RandomState(seed)`` shuffles an index array, then draws the
    noise) without depending on scikit-learn.

    Parameters
    ----------
    n_samples : int, default 1000
        Total number of points (>= 2).
    factor : float, default 0.5
        Radius of the inner circle relative to the outer one, in ``[0, 1)``.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to each coordinate (>= 0).
    seed : int, default 0
        Seed of the random state (>= 0).
    shuffle : bool, default True
        Shuffle the points; otherwise the outer circle comes first.

    Returns
    -------
    X : torch.Tensor
        float32, shape ``(n_samples, 2)``.
    y : torch.Tensor
        int64 labels, 0 for the outer circle and 1 for the inner one.

    Examples
    --------
    >>> X, y = make_circles(n_samples=10, factor=0.5, noise=0.0, seed=0)
    >>> y.bincount().tolist()
    [5, 5]
    >>> [round(float(X[y == k].norm(dim=1).mean()), 3) for k in (0, 1)]
    [1.0, 0.5]
    """
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    factor = check_float(factor, "factor", minimum=0.0, maximum=1.0, maximum_inclusive=False)
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_int(seed, "seed", minimum=0)
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be a bool, received {shuffle!r}.")

    rng = np.random.RandomState(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    angle_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angle_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack(
        [
            np.append(np.cos(angle_out), factor * np.cos(angle_in)),
            np.append(np.sin(angle_out), factor * np.sin(angle_in)),
        ]
    ).T
    y = np.hstack([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    if shuffle:
        order = np.arange(n_samples)
        rng.shuffle(order)
        X, y = X[order], y[order]
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y)
