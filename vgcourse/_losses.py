"""Loss functions and target checks shared by diagnostics and training (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ._validation import as_float_tensor, check_choice, describe

LOSSES: tuple[str, ...] = ("cross_entropy", "bce", "mse")


def prepare_data(X: Any, y: Any, loss: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Check ``X`` and ``y`` for ``loss`` and return them as tensors.

    ``X``: 2-D finite floats ``(N, D)``. ``y``: for ``"cross_entropy"`` integer classes
    ``(N,)``; for ``"bce"`` 0/1 labels ``(N,)`` or ``(N, 1)``; for ``"mse"`` finite float
    targets ``(N,)`` or ``(N, K)``.
    """
    loss = check_choice(loss, "loss", LOSSES)
    X = as_float_tensor(X, "X", ndim=2)
    if isinstance(y, np.ndarray):
        y = torch.from_numpy(np.ascontiguousarray(y))
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor or numpy.ndarray, received {describe(y)}.")
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must have the same number of rows (examples); received X of shape "
            f"{tuple(X.shape)} and y of shape {tuple(y.shape)}."
        )
    if loss == "cross_entropy":
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool or y.ndim != 1:
            raise TypeError(
                "y must be a 1-D tensor of integer class labels (int64) for "
                f"loss='cross_entropy', received {describe(y)}."
            )
        y = y.to(torch.int64)
        if len(y) and int(y.min()) < 0:
            raise ValueError(
                f"y must hold class labels >= 0, received a minimum of {int(y.min())}."
            )
    elif loss == "bce":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"y must have shape (N,) or (N, 1) for loss='bce', received {describe(y)}."
            )
        y = y.to(X.dtype)
        bad = (y != 0) & (y != 1)
        if bad.any():
            raise ValueError(
                f"y must hold 0/1 labels for loss='bce', received a value of {float(y[bad][0])}."
            )
    else:
        y = as_float_tensor(y, "y").to(X.dtype)
        if y.ndim not in (1, 2):
            raise ValueError(
                f"y must have shape (N,) or (N, K) for loss='mse', received {describe(y)}."
            )
    return X, y, loss


def check_output(output: torch.Tensor, y: torch.Tensor, loss: str) -> None:
    """Check that the model's output fits the targets (once, on the first forward pass)."""
    if output.ndim != 2:
        raise ValueError(
            f"model must return a 2-D output (N, outputs); it returned shape {tuple(output.shape)}."
        )
    if loss == "cross_entropy":
        if len(y) and int(y.max()) >= output.shape[1]:
            raise ValueError(
                f"y holds class {int(y.max())} but the model has {output.shape[1]} outputs; "
                f"expected labels 0 .. {output.shape[1] - 1}."
            )
    elif loss == "bce":
        if output.shape[1] != 1:
            raise ValueError(
                "loss='bce' expects a model with one output (a logit), received a model "
                f"with {output.shape[1]} outputs."
            )
    else:
        expected = 1 if y.ndim == 1 else y.shape[1]
        if output.shape[1] != expected:
            raise ValueError(
                f"loss='mse' with y of shape {tuple(y.shape)} expects a model with "
                f"{expected} outputs, received {output.shape[1]}."
            )


def compute_loss(output: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean loss of a batch: ``output`` are logits (cross-entropy, bce) or predictions (mse)."""
    if loss == "cross_entropy":
        return F.cross_entropy(output, y)
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(output[:, 0], y)
    if y.ndim == 1:
        return F.mse_loss(output[:, 0], y)
    return F.mse_loss(output, y)


def accuracy(output: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Fraction of correct predictions as a 0-D tensor.

    cross_entropy: argmax equals the label; bce: ``(logit > 0)`` equals the label; mse: the
    prediction is within 0.5 of its target (rounding recovers an integer target).
    """
    if loss == "cross_entropy":
        return (output.argmax(dim=1) == y).to(torch.float64).mean()
    if loss == "bce":
        return ((output[:, 0] > 0).to(y.dtype) == y).to(torch.float64).mean()
    pred = output[:, 0] if y.ndim == 1 else output
    return ((pred - y).abs() < 0.5).to(torch.float64).mean()
