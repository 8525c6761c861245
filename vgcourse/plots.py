"""Plots the chapters share. Each function draws on ``ax`` (a new figure's axes when omitted),
labels its axes and returns the Axes; none calls ``plt.show()``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from vgcourse.plots import plot_gradient_norms
>>> ax = plot_gradient_norms({"sigmoid": [1e-5, 1e-3, 1e-1]})
>>> ax.get_yscale()
'log'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import nn

from ._nets import capture_activations, model_dtype, preserved
from ._palette import OKABE_ITO
from ._validation import as_float_tensor, check_choice, check_float, check_int, check_module
from .training import History

__all__ = [
    "plot_activation_histograms",
    "plot_decision_boundary",
    "plot_gradient_norms",
    "plot_history",
]

_HISTORY_KEYS: tuple[str, ...] = ("loss", "accuracy", "grad_norms", "update_ratio")
#: Overlaid lines differ in colour (Okabe-Ito, safe for colour-blind readers) and in line style.
_LINE_STYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)),
                                 (0, (1, 3)))


def _line_style(i: int) -> dict[str, Any]:
    """The colour and line style of the ``i``-th of several overlaid lines."""
    return {"color": OKABE_ITO[i % (len(OKABE_ITO) - 1)], "linestyle": _LINE_STYLES[i % 7]}


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, received {type(ax).__name__}.")
    return ax


def plot_gradient_norms(
    runs: Mapping[str, Sequence[float]] | Sequence[float],
    ax: Axes | None = None,
    *,
    title: str | None = None,
    marker: str = "o",
) -> Axes:
    """Plot gradient norm against layer (1 = input layer) on a log scale, several runs overlaid.

    Parameters
    ----------
    runs : dict of str to sequence of float, or sequence of float
        One list of per-layer norms (e.g. from :func:`vgcourse.diagnostics.gradient_norms`),
        or a dict mapping a legend label to such a list. Norms must be positive and finite
        (a log axis cannot show zero).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    title : str, optional
        The Axes title.
    marker : str, default "o"
        Marker of the points.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> ax = plot_gradient_norms({"sigmoid": [1e-4, 1e-3, 1e-2], "relu": [3.0, 2.0, 1.0]})
    >>> ax.get_yscale(), ax.get_xlabel()
    ('log', 'layer (1 = input)')
    """
    if isinstance(runs, Mapping):
        items = list(runs.items())
    else:
        items = [("", runs)]
    if not items:
        raise ValueError("runs must hold at least one run of gradient norms, received none.")
    ax = _axes(ax)
    for i, (label, norms) in enumerate(items):
        values = np.asarray(norms, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                f"runs[{label!r}] must be a non-empty 1-D list of norms, received shape "
                f"{values.shape}."
            )
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(
                f"runs[{label!r}] must hold positive finite norms for a log axis, "
                f"received {values.tolist()}."
            )
        ax.plot(np.arange(1, values.size + 1), values, marker=marker, label=label or None,
                **_line_style(i))
    ax.set_yscale("log")
    ax.set_xlabel("layer (1 = input)")
    ax.set_ylabel(r"$\|\partial L / \partial W\|_F$")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if title is not None:
        ax.set_title(title)
    if any(label for label, _ in items):
        ax.legend()
    return ax


def plot_history(
    history: History,
    key: str = "loss",
    ax: Axes | None = None,
    *,
    label: str | None = None,
    log: bool | None = None,
) -> Axes:
    """Plot a recorded quantity of a :class:`~vgcourse.training.History` against step.

    Parameters
    ----------
    history : History
        What :func:`vgcourse.training.train` returned.
    key : {"loss", "accuracy", "grad_norms", "update_ratio"}
        The quantity; the per-layer ones draw one line per layer.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    label : str, optional
        Legend label (a prefix for the per-layer lines).
    log : bool, optional
        Log y axis; by default on for ``grad_norms`` and ``update_ratio``.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> h = History(np.arange(3), np.array([1.0, 0.7, 0.5]), np.array([0.3, 0.6, 0.8]),
    ...             np.ones((3, 2)), np.full((3, 2), 1e-3), "cross_entropy")
    >>> ax = plot_history(h, "update_ratio")
    >>> len(ax.get_lines()), ax.get_yscale()
    (2, 'log')
    """
    if not isinstance(history, History):
        raise TypeError(
            f"history must be a vgcourse.training.History, received {type(history).__name__}."
        )
    key = check_choice(key, "key", _HISTORY_KEYS)
    ax = _axes(ax)
    values = getattr(history, key)
    if values.ndim == 1:
        ax.plot(history.step, values, label=label)
    else:
        for i in range(values.shape[1]):
            prefix = f"{label} " if label else ""
            ax.plot(history.step, values[:, i], label=f"{prefix}layer {i + 1}", **_line_style(i))
    if log if log is not None else key in ("grad_norms", "update_ratio"):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(
        {
            "loss": f"{history.loss_name} loss",
            "accuracy": "accuracy",
            "grad_norms": r"$\|\partial L / \partial W\|_F$",
            "update_ratio": r"$\|\Delta W\|_F / \|W\|_F$",
        }[key]
    )
    if values.ndim > 1 or label:
        ax.legend()
    return ax


def plot_activation_histograms(
    model: nn.Module,
    X: Any,
    ax: Axes | None = None,
    *,
    bins: int = 50,
) -> Axes:
    """Overlaid histograms of every hidden activation's outputs for inputs ``X``.

    One step histogram per activation module (input to output), from one forward pass
    under ``torch.no_grad()`` that leaves the model's mode and buffers unchanged.

    Parameters
    ----------
    model : torch.nn.Module
        Usually built by :func:`vgcourse.models.mlp`.
    X : torch.Tensor
        Inputs ``(N, D)``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    bins : int, default 50
        Number of bins (>= 1).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import torch
    >>> from vgcourse import mlp
    >>> net = mlp([2, 16, 16, 16, 1], "tanh", init="normal", std=1.0, seed=0)
    >>> ax = plot_activation_histograms(net, torch.randn(100, 2))
    >>> ax.get_legend_handles_labels()[1]
    ['layer 1 (tanh)', 'layer 2 (tanh)', 'layer 3 (tanh)']
    """
    check_module(model)
    bins = check_int(bins, "bins", minimum=1)
    X = as_float_tensor(X, "X", ndim=2)
    has_params = next(model.parameters(), None) is not None
    records = capture_activations(model, X.to(model_dtype(model)) if has_params else X)
    if records is None:
        raise ValueError("model has no activation module to plot.")
    outputs = [(act.name, out) for act, _, out in records]
    ax = _axes(ax)
    for i, (name, out) in enumerate(outputs, start=1):
        ax.hist(
            out.flatten().double().numpy(), bins=bins, histtype="step", label=f"layer {i} ({name})"
        )
    ax.set_xlabel("activation value")
    ax.set_ylabel("count")
    ax.legend()
    return ax


def _check_points(X: Any, y: Any) -> torch.Tensor:
    """``X`` as a float tensor of 2-D points, checked against integer labels ``y``."""
    X = as_float_tensor(X, "X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns (2-D inputs), received shape {tuple(X.shape)}.")
    if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.shape != (X.shape[0],):
        raise ValueError(
            f"y must be an integer tensor of shape ({X.shape[0]},), received "
            f"{type(y).__name__} of shape {tuple(getattr(y, 'shape', ()))}."
        )
    return X


def _eval_outputs(model: nn.Module, grid: torch.Tensor) -> torch.Tensor:
    """The model's outputs on ``grid`` in eval mode (restored afterwards), without grad."""
    dtype = model_dtype(model) if next(model.parameters(), None) is not None else torch.float32
    with preserved(model), torch.no_grad():
        model.eval()
        return model(grid.to(dtype))


def plot_decision_boundary(
    model: nn.Module,
    X: Any,
    y: Any,
    ax: Axes | None = None,
    *,
    resolution: int = 200,
    margin: float = 0.25,
    cmap: str = "Spectral",
) -> Axes:
    """Draw a 2-D classifier's decision regions with the data on top.

    The model is evaluated on a ``resolution x resolution`` grid covering ``X`` plus
    ``margin``, in eval mode (restored afterwards) under ``torch.no_grad()``. The predicted
    class is the argmax of the outputs, or ``output > 0`` for a model with one output logit.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier of 2-D inputs.
    X : torch.Tensor
        Inputs ``(N, 2)``.
    y : torch.Tensor
        Integer labels ``(N,)``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    resolution : int, default 200
        Grid points per axis (>= 2).
    margin : float, default 0.25
        Extra room around the data, in data units (>= 0).
    cmap : str, default "Spectral"
        Colormap of the regions and the points (seed 002's).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from vgcourse import make_spiral, mlp
    >>> X, y = make_spiral(n_per_class=20, seed=0)
    >>> ax = plot_decision_boundary(mlp([2, 8, 3], seed=0), X, y, resolution=50)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('$x_1$', '$x_2$')
    """
    check_module(model)
    X = _check_points(X, y)
    resolution = check_int(resolution, "resolution", minimum=2)
    margin = check_float(margin, "margin", minimum=0.0)
    x_np = X.double().numpy()
    lo = x_np.min(axis=0) - margin
    hi = x_np.max(axis=0) + margin
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    out = _eval_outputs(model, torch.from_numpy(np.c_[gx.ravel(), gy.ravel()]))
    pred = (out[:, 0] > 0).long() if out.shape[1] == 1 else out.argmax(dim=1)
    n_classes = int(max(int(y.max()) + 1, int(pred.max()) + 1, 2))
    levels = np.arange(n_classes + 1) - 0.5
    ax = _axes(ax)
    ax.contourf(
        gx,
        gy,
        pred.reshape(gx.shape).numpy(),
        levels=levels,
        cmap=cmap,
        alpha=0.6,
        vmin=-0.5,
        vmax=n_classes - 0.5,
    )
    ax.scatter(
        x_np[:, 0],
        x_np[:, 1],
        c=y.numpy(),
        cmap=cmap,
        vmin=-0.5,
        vmax=n_classes - 0.5,
        s=15,
        edgecolors="k",
        linewidths=0.3,
    )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax
