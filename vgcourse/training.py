"""A small, fast training loop that records what the course looks at.

:func:`train` runs SGD, Adam or RMSprop, full-batch or mini-batch, and returns a
:class:`History` holding, for every recorded step, the loss, the accuracy, the gradient norm
of every ``nn.Linear`` weight and its update:data ratio ``|ΔW| / |W|`` (the quantity of
Karpathy's "Building makemore" lecture, here with Frobenius norms).

Examples
--------
>>> from vgcourse import make_spiral, mlp
>>> from vgcourse.training import train
>>> X, y = make_spiral(seed=0)
>>> net = mlp([2, 50, 50, 3], "relu", init="kaiming_normal", seed=0)
>>> history = train(net, X, y, steps=50, lr=0.5)
>>> history.grad_norms.shape
(50, 3)
>>> bool(history.loss[-1] < history.loss[0])
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ._losses import accuracy, check_output, compute_loss, prepare_data
from ._nets import weights_and_data
from ._validation import check_choice, check_float, check_int, check_module
from .models import linear_layers

__all__ = ["OPTIMIZERS", "History", "train"]

#: The optimizers :func:`train` accepts.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "rmsprop")


@dataclass
class History:
    """What :func:`train` recorded, one row per recorded step.

    Attributes
    ----------
    step : numpy.ndarray
        ``(n,)`` int64: the 0-based index of each recorded optimizer step.
    loss : numpy.ndarray
        ``(n,)`` float64: the mean data loss of the batch that step used, before the update
        (the weight-decay penalty is not included).
    accuracy : numpy.ndarray
        ``(n,)`` float64 in ``[0, 1]`` on the same batch: argmax equals the label for
        ``"cross_entropy"``, ``logit > 0`` equals the label for ``"bce"``, and the
        prediction lies within 0.5 of its target for ``"mse"`` (rounding recovers an integer
        target).
    grad_norms : numpy.ndarray
        ``(n, n_layers)``: Frobenius norm of the data-loss gradient of each ``nn.Linear``
        weight, input to output.
    update_ratio : numpy.ndarray
        ``(n, n_layers)``: ``|W_after - W_before| / |W_before|`` of each weight for that step
        (infinite for a weight that was exactly zero).
    loss_name : str
        ``"cross_entropy"``, ``"bce"`` or ``"mse"``.
    diverged_at : int or None
        The step whose loss was not finite when ``on_nonfinite="stop"`` stopped the run
        (its row is not recorded); ``None`` otherwise.

    Examples
    --------
    >>> h = History(np.arange(2), np.array([1.0, 0.5]), np.array([0.4, 0.9]),
    ...             np.ones((2, 3)), np.full((2, 3), 1e-3), "cross_entropy")
    >>> len(h), h.final_loss, h.final_accuracy
    (2, 0.5, 0.9)
    """

    step: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    grad_norms: np.ndarray
    update_ratio: np.ndarray
    loss_name: str
    diverged_at: int | None = None

    def __len__(self) -> int:
        return len(self.step)

    @property
    def n_layers(self) -> int:
        """Number of ``nn.Linear`` layers recorded."""
        return int(self.grad_norms.shape[1])

    @property
    def final_loss(self) -> float:
        """The last recorded loss."""
        return float(self.loss[-1])

    @property
    def final_accuracy(self) -> float:
        """The last recorded accuracy."""
        return float(self.accuracy[-1])


def _make_optimizer(
    name: str, model: nn.Module, weights: list[torch.Tensor], lr: float, weight_decay: float,
    momentum: float,
) -> torch.optim.Optimizer:
    """The optimizer, with weight decay on the ``nn.Linear`` ``weights`` only."""
    weight_ids = {id(w) for w in weights}
    params = [p for p in model.parameters() if p.requires_grad]
    decayed = [p for p in params if id(p) in weight_ids]
    others = [p for p in params if id(p) not in weight_ids]
    groups = [{"params": decayed, "weight_decay": weight_decay}]
    if others:
        groups.append({"params": others, "weight_decay": 0.0})
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    return torch.optim.RMSprop(groups, lr=lr, momentum=momentum)


def _check_train_args(model: nn.Module, X: Any, y: Any, loss: str, **kw: Any) -> dict[str, Any]:
    """The checked arguments of :func:`train` (``X``, ``y`` and ``loss`` prepared), by name."""
    check_module(model)
    X, y, loss = prepare_data(X, y, loss)
    a = {"X": X, "y": y, "loss": loss}
    a["steps"] = check_int(kw["steps"], "steps", minimum=1)
    a["lr"] = check_float(kw["lr"], "lr", strictly_positive=True)
    a["optimizer"] = check_choice(kw["optimizer"], "optimizer", OPTIMIZERS)
    batch_size = kw["batch_size"]
    a["batch_size"] = None if batch_size is None else check_int(batch_size, "batch_size",
                                                                minimum=1)
    a["weight_decay"] = check_float(kw["weight_decay"], "weight_decay", minimum=0.0)
    a["momentum"] = check_float(kw["momentum"], "momentum", minimum=0.0, maximum=1.0,
                                maximum_inclusive=False)
    if a["optimizer"] == "adam" and a["momentum"] != 0.0:
        raise ValueError(
            "momentum must be 0 with optimizer='adam' (Adam has its own betas), "
            f"received {a['momentum']}."
        )
    a["record_every"] = check_int(kw["record_every"], "record_every", minimum=1)
    a["seed"] = check_int(kw["seed"], "seed", minimum=0)
    a["on_nonfinite"] = check_choice(kw["on_nonfinite"], "on_nonfinite", ("raise", "stop"))
    return a


def _batches(X: torch.Tensor, y: torch.Tensor, batch_size: int | None,
             generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches: all of ``(X, y)`` each time for ``batch_size=None`` (or >= N);
    otherwise consecutive slices of a random permutation, drawn anew once all are used."""
    n = X.shape[0]
    if batch_size is None or batch_size >= n:
        while True:
            yield X, y
    while True:
        order = torch.randperm(n, generator=generator)
        for position in range(0, n, batch_size):
            index = order[position : position + batch_size]
            yield X[index], y[index]


class _Recorder:
    """The rows of a :class:`History`, kept as tensors and stacked once at the end.

    The only conversion in the loop is ``loss.item()`` (for the finiteness check, in
    :func:`train`). ``torch._foreach_norm`` computes the norms of a list of tensors in one call
    (``torch.nn.utils.clip_grad_norm_`` uses it).
    """

    def __init__(self, weights: list[torch.Tensor], record_every: int, loss: str) -> None:
        self.weights, self.record_every, self.loss = weights, record_every, loss
        self.params = [w.detach() for w in weights]  # views: they follow the in-place updates
        self.zeros = [torch.zeros_like(w) for w in self.params]
        self.rows: dict[str, list[torch.Tensor]] = {k: [] for k in ("loss", "acc", "grad", "ratio")}
        self.before: list[torch.Tensor] | None = None

    @torch.no_grad()
    def before_update(self, step: int, value: torch.Tensor, output: torch.Tensor,
                      yb: torch.Tensor) -> None:
        """Record the loss, accuracy and gradient norms of a step that is recorded."""
        self.before = None
        if step % self.record_every:
            return
        self.rows["loss"].append(value.detach())
        self.rows["acc"].append(accuracy(output.detach(), yb, self.loss))
        grads = [z if w.grad is None else w.grad
                 for w, z in zip(self.weights, self.zeros, strict=True)]
        self.rows["grad"].append(torch.stack(torch._foreach_norm(grads)))
        self.before = [w.clone() for w in self.params]

    @torch.no_grad()
    def after_update(self) -> None:
        """Record the update:data ratio of the step recorded by :meth:`before_update`."""
        if self.before is not None:
            change = torch.stack(torch._foreach_norm(torch._foreach_sub(self.params, self.before)))
            self.rows["ratio"].append(change / torch.stack(torch._foreach_norm(self.before)))

    def history(self, steps: int, diverged_at: int | None) -> History:
        n_layers = len(self.weights)

        def as_array(rows: list[torch.Tensor], shape: tuple[int, ...]) -> np.ndarray:
            return torch.stack(rows).to(torch.float64).numpy() if rows else np.zeros(shape)

        recorded = len(self.rows["loss"])
        return History(
            step=np.arange(0, steps, self.record_every, dtype=np.int64)[:recorded],
            loss=as_array(self.rows["loss"], (0,)),
            accuracy=as_array(self.rows["acc"], (0,)),
            grad_norms=as_array(self.rows["grad"], (0, n_layers)),
            update_ratio=as_array(self.rows["ratio"], (0, n_layers)),
            loss_name=self.loss,
            diverged_at=diverged_at,
        )


def _diverged(loss_value: float, step: int, a: dict[str, Any]) -> FloatingPointError:
    return FloatingPointError(
        f"the loss became {loss_value} at step {step} of {a['steps']} "
        f"(optimizer={a['optimizer']!r}, lr={a['lr']}); the gradients exploded or the "
        "learning rate is too large. Lower lr, or pass on_nonfinite='stop' to "
        "keep the history up to that step."
    )


def train(
    model: nn.Module,
    X: Any,
    y: Any,
    *,
    steps: int,
    lr: float,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    loss: str = "cross_entropy",
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    record_every: int = 1,
    seed: int = 0,
    on_nonfinite: str = "raise",
) -> History:
    """Train ``model`` in place on ``(X, y)`` and record its loss, accuracy and gradients.

    Each step draws a batch, computes the mean loss, backpropagates and updates the
    parameters. With ``batch_size=None`` every step uses all of ``X`` (full-batch gradient
    descent, as in seed 002); otherwise batches are consecutive slices of a random
    permutation of the examples, reshuffled once every example has been used (the last
    batch of a pass may be smaller). The permutation comes from a local
    ``torch.Generator`` seeded with ``seed``, so the same call gives the same numbers.
    The model is put in training mode.

    Parameters
    ----------
    model : torch.nn.Module
        The network; its output is logits for ``"cross_entropy"`` (one per class) and
        ``"bce"`` (one column), or predictions for ``"mse"``.
    X : torch.Tensor
        Inputs ``(N, D)``, finite.
    y : torch.Tensor
        Targets, as for :func:`vgcourse.diagnostics.gradient_norms`.
    steps : int
        Number of optimizer steps (>= 1).
    lr : float
        Learning rate (> 0).
    optimizer : {"sgd", "adam", "rmsprop"}
        ``torch.optim.SGD``, ``Adam`` or ``RMSprop`` with their default settings.
    batch_size : int, optional
        Examples per step (>= 1); ``None`` for the full batch.
    loss : {"cross_entropy", "bce", "mse"}
        Mean loss. ``"bce"`` expects one output logit and 0/1 labels.
    weight_decay : float, default 0
        L2 penalty ``weight_decay / 2 * |W|^2`` on the ``nn.Linear`` weights only (biases and
        BatchNorm parameters are not decayed), added to the gradient as
        ``weight_decay * W`` like seed 002's ``reg``.
    momentum : float, default 0
        Momentum for SGD and RMSprop, in ``[0, 1)``; must be 0 with Adam.
    record_every : int, default 1
        Record steps ``0, record_every, 2 * record_every, ...``.
    seed : int, default 0
        Seed of the batch order (unused for full-batch training).
    on_nonfinite : {"raise", "stop"}, default "raise"
        When the loss becomes NaN or infinite: raise :class:`FloatingPointError` naming the
        step, or stop and return the history so far with ``diverged_at`` set.

    Returns
    -------
    History

    Examples
    --------
    >>> from vgcourse import make_circles, mlp
    >>> X, y = make_circles(n_samples=400, seed=0)
    >>> net = mlp([2, 16, 16, 1], "tanh", init="xavier_normal", seed=0)
    >>> h = train(net, X, y, steps=100, lr=0.01, optimizer="adam", batch_size=64,
    ...           loss="bce", record_every=10)
    >>> len(h), h.step[:3].tolist()
    (10, [0, 10, 20])
    """
    a = _check_train_args(model, X, y, loss, steps=steps, lr=lr, optimizer=optimizer,
                          batch_size=batch_size, weight_decay=weight_decay, momentum=momentum,
                          record_every=record_every, seed=seed, on_nonfinite=on_nonfinite)
    weights, X, y = weights_and_data(linear_layers(model), model, a["X"], a["y"])
    opt = _make_optimizer(a["optimizer"], model, weights, a["lr"], a["weight_decay"],
                          a["momentum"])
    model.train()
    recorder = _Recorder(weights, a["record_every"], a["loss"])
    batches = _batches(X, y, a["batch_size"], torch.Generator().manual_seed(a["seed"]))
    diverged_at: int | None = None
    for step, (xb, yb) in zip(range(a["steps"]), batches, strict=False):  # batches is endless
        output = model(xb)
        if step == 0:
            check_output(output, yb, a["loss"])
        value = compute_loss(output, yb, a["loss"])
        loss_value = value.item()
        if not math.isfinite(loss_value):
            if a["on_nonfinite"] == "raise":
                raise _diverged(loss_value, step, a)
            diverged_at = step
            break
        opt.zero_grad(set_to_none=True)
        value.backward()
        recorder.before_update(step, value, output, yb)
        opt.step()
        recorder.after_update()
    return recorder.history(a["steps"], diverged_at)
