"""Diagnostics of a network at one point of its life: gradient norms and activation statistics.

Both functions leave the model as they found it: weights, ``.grad`` of every parameter
(``None`` included), buffers such as BatchNorm's running statistics, and the training mode.

Examples
--------
>>> import torch
>>> from vgcourse import make_spiral, mlp
>>> from vgcourse.diagnostics import gradient_norms
>>> X, y = make_spiral(seed=0)
>>> net = mlp([2, 50, 50, 3], "sigmoid", init="normal", std=1.0, seed=0)
>>> norms = gradient_norms(net, X, y)
>>> len(norms)
3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ._losses import accuracy as _batch_accuracy
from ._losses import check_output, compute_loss, prepare_data
from ._nets import capture_activations, model_dtype, preserved, weights_and_data
from ._validation import as_float_tensor, check_module
from .models import linear_layers

__all__ = ["LayerStats", "accuracy", "activation_stats", "gradient_norms"]


def gradient_norms(model: nn.Module, X: Any, y: Any, loss: str = "cross_entropy") -> list[float]:
    """The Frobenius norm of ``dL/dW`` for every ``nn.Linear`` weight, input to output.

    One forward and one backward pass over all of ``X`` in the model's current mode (the
    training mode, for a fresh model: BatchNorm uses batch statistics), with the mean loss.
    The gradients come from :func:`torch.autograd.grad`, so the ``.grad`` fields are not
    touched; BatchNorm's running statistics are restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        A network with at least one ``nn.Linear`` (e.g. from :func:`vgcourse.models.mlp`).
    X : torch.Tensor
        Inputs, shape ``(N, D)``, finite.
    y : torch.Tensor
        Targets: int64 classes ``(N,)`` for ``"cross_entropy"``; 0/1 labels ``(N,)`` or
        ``(N, 1)`` for ``"bce"`` (one output logit); float targets ``(N,)`` or ``(N, K)`` for
        ``"mse"`` (a ``(N,)`` target is compared with the single output column).
    loss : {"cross_entropy", "bce", "mse"}
        The mean loss to differentiate.

    Returns
    -------
    list of float
        One norm per ``nn.Linear`` layer, from the input layer to the output layer.

    Examples
    --------
    >>> from vgcourse import make_circles, mlp
    >>> X, y = make_circles(n_samples=200, seed=0)
    >>> net = mlp([2, 5, 5, 5, 5, 1], "sigmoid", init="normal", std=1.0, seed=0)
    >>> norms = gradient_norms(net, X, y, loss="bce")
    >>> norms[0] < norms[-1]  # the first layer's gradient is smaller than the last one's
    True
    """
    check_module(model)
    X, y, loss = prepare_data(X, y, loss)
    weights, X, y = weights_and_data(linear_layers(model), model, X, y)
    # preserved restores the train/eval mode and BatchNorm's running statistics afterwards.
    with preserved(model), torch.enable_grad():
        output = model(X)
        check_output(output, y, loss)
        value = compute_loss(output, y, loss)
        # autograd.grad returns dL/dW without accumulating into any parameter's .grad
        grads = torch.autograd.grad(value, weights, allow_unused=True)
    # a layer the loss does not depend on (allow_unused) has a zero gradient
    norms = [
        torch.zeros((), dtype=X.dtype) if g is None else torch.linalg.vector_norm(g) for g in grads
    ]
    return torch.stack(norms).tolist()


def accuracy(model: nn.Module, X: Any, y: Any, loss: str = "cross_entropy") -> float:
    """The fraction of ``X`` the model classifies correctly, in evaluation mode.

    One forward pass under ``torch.no_grad()`` with the model in eval mode (BatchNorm uses its
    running statistics); the mode and the buffers are restored afterwards. A prediction is
    correct when the argmax of the outputs equals the label (``"cross_entropy"``), when
    ``logit > 0`` equals the 0/1 label (``"bce"``), or when it lies within 0.5 of its target
    (``"mse"``), as in :class:`vgcourse.training.History`.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier (or regressor, for ``"mse"``).
    X : torch.Tensor
        Inputs ``(N, D)``, finite.
    y : torch.Tensor
        Targets, as for :func:`gradient_norms`.
    loss : {"cross_entropy", "bce", "mse"}
        What the outputs are.

    Returns
    -------
    float
        In ``[0, 1]``.

    Examples
    --------
    >>> from vgcourse import make_spiral, mlp, train
    >>> X, y = make_spiral(seed=0)
    >>> net = mlp([2, 50, 50, 3], "relu", init="kaiming_normal", seed=0)
    >>> before = accuracy(net, X, y)
    >>> _ = train(net, X, y, steps=200, lr=0.5)
    >>> accuracy(net, X, y) > before
    True
    """
    check_module(model)
    X, y, loss = prepare_data(X, y, loss)
    dtype = model_dtype(model)
    with preserved(model), torch.no_grad():
        model.eval()
        output = model(X.to(dtype))
        check_output(output, y, loss)
        return float(_batch_accuracy(output, y.to(dtype) if y.is_floating_point() else y, loss))


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one hidden activation over a batch.

    Attributes
    ----------
    layer : int
        1 for the first hidden layer's activation, 2 for the second, ...
    name : str
        The activation's name (``"sigmoid"``, ``"relu"``, ...).
    mean, std : float
        Mean and standard deviation of the activation's outputs over examples and units.
    saturated_fraction : float
        Fraction of (example, unit) entries whose local derivative ``|f'(x)|`` is below 5% of
        the activation's maximum derivative (0.25 for the sigmoid, 1 for the others); for
        ReLU this is the fraction of inactive entries (``x <= 0``).
    dead_fraction : float
        Fraction of units that output exactly zero for every example (a "dead" ReLU);
        0 for activations that never output zero on real inputs.
    """

    layer: int
    name: str
    mean: float
    std: float
    saturated_fraction: float
    dead_fraction: float


def activation_stats(model: nn.Module, X: Any) -> list[LayerStats]:
    """Mean, spread, saturation and dead units of every hidden activation for inputs ``X``.

    Forward hooks on the activation modules (``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``,
    ``nn.LeakyReLU(0.01)``, ``nn.ELU(1.0)``, and ``nn.Identity`` for ``"linear"``) record
    their inputs and outputs during one forward pass under ``torch.no_grad()``, in the
    model's current mode; the mode and BatchNorm's running statistics are left unchanged.

    Parameters
    ----------
    model : torch.nn.Module
        Usually built by :func:`vgcourse.models.mlp`.
    X : torch.Tensor
        Inputs, shape ``(N, D)``, finite.

    Returns
    -------
    list of LayerStats
        One entry per activation module, input to output.

    Examples
    --------
    >>> import torch
    >>> from vgcourse import mlp
    >>> net = mlp([10, 64, 64, 1], "sigmoid", init="normal", std=5.0, seed=0)
    >>> X = torch.randn(256, 10, generator=torch.Generator().manual_seed(0))
    >>> stats = activation_stats(net, X)
    >>> [s.layer for s in stats], stats[0].saturated_fraction > 0.5
    ([1, 2], True)
    """
    check_module(model)
    X = as_float_tensor(X, "X", ndim=2).to(model_dtype(model))
    records = capture_activations(model, X)
    if records is None:
        raise ValueError(
            "model has no activation module to measure (expected nn.Sigmoid, nn.Tanh, "
            "nn.ReLU, nn.LeakyReLU(0.01), nn.ELU(1.0) or nn.Identity)."
        )
    stats = []
    for i, (act, pre, out) in enumerate(records, start=1):
        flat_out = out.reshape(out.shape[0], -1)
        derivative = act.derivative(pre).abs()
        stats.append(
            LayerStats(
                layer=i,
                name=act.name,
                mean=float(out.mean()),
                std=float(out.std(unbiased=False)),
                saturated_fraction=float(
                    (derivative < 0.05 * act.max_derivative).to(torch.float32).mean()
                ),
                dead_fraction=float((flat_out == 0).all(dim=0).to(torch.float32).mean()),
            )
        )
    return stats
