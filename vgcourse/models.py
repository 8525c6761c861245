"""Multilayer perceptrons and their weight initializations.

:func:`mlp` builds ``Linear -> [BatchNorm1d] -> activation -> ... -> Linear`` (the output layer
has no activation: losses take logits) and initializes it with one of :data:`INIT_SCHEMES`;
:func:`init_weights` re-initializes a model in place; :func:`linear_layers` lists its
``nn.Linear`` layers from input to output.

Examples
--------
>>> from vgcourse.models import mlp, linear_layers
>>> net = mlp([2, 5, 5, 5, 5, 1], "sigmoid", init="normal", std=1.0, seed=0)  # seed 004's net
>>> len(linear_layers(net))
5
>>> net[0], net[1]
(Linear(in_features=2, out_features=5, bias=True), Sigmoid())
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ._nets import activation_of
from ._validation import check_choice, check_float, check_int, check_module, check_optional_seed
from .activations import Activation, get_activation

__all__ = ["INIT_SCHEMES", "init_weights", "linear_layers", "mlp"]

#: The initialization schemes :func:`mlp` and :func:`init_weights` accept.
INIT_SCHEMES: tuple[str, ...] = (
    "default",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of ``model``, from input to output.

    The order is the order in which the layers were registered, which for an
    ``nn.Sequential`` is the order of the forward pass.

    Examples
    --------
    >>> net = mlp([3, 4, 2], "tanh")
    >>> [tuple(layer.weight.shape) for layer in linear_layers(net)]
    [(4, 3), (2, 4)]
    """
    check_module(model)
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _model_activation(model: nn.Module) -> Activation:
    """The single hidden activation of ``model`` (``linear`` when it has none)."""
    found = {a.name: a for m in model.modules() if (a := activation_of(m)) is not None}
    if not found:
        return get_activation("linear")
    if len(found) > 1:
        raise ValueError(
            "model mixes several activations "
            f"({', '.join(sorted(found))}); pass activation= to choose the gain."
        )
    return next(iter(found.values()))


def _check_std(init: str, std: Any) -> float | None:
    if init == "normal":
        if std is None:
            raise ValueError(
                "std is required when init='normal' (the standard deviation of N(0, std^2)), "
                "received None."
            )
        return check_float(std, "std", strictly_positive=True)
    if std is not None:
        raise ValueError(
            f"std is only used by init='normal'; received std={std!r} with init={init!r}. "
            "Leave std=None: the other schemes compute their own scale from the fan-in, "
            "fan-out and the activation's gain."
        )
    return None


def _init_linear(
    layer: nn.Linear,
    init: str,
    gain: float,
    std: float | None,
    generator: torch.Generator | None,
) -> None:
    w = layer.weight
    fan_out, fan_in = w.shape
    if init == "normal":
        nn.init.normal_(w, 0.0, std, generator=generator)
    elif init == "xavier_uniform":
        nn.init.xavier_uniform_(w, gain=gain, generator=generator)
    elif init == "xavier_normal":
        nn.init.xavier_normal_(w, gain=gain, generator=generator)
    elif init == "kaiming_normal":
        # He et al. (2015), fan-in mode: std = gain / sqrt(fan_in).
        nn.init.normal_(w, 0.0, gain / math.sqrt(fan_in), generator=generator)
    elif init == "kaiming_uniform":
        bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)
        nn.init.uniform_(w, -bound, bound, generator=generator)
    elif init == "orthogonal":
        nn.init.orthogonal_(w, gain=gain, generator=generator)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def init_weights(
    model: nn.Module,
    init: str,
    *,
    std: float | None = None,
    seed: int | None = None,
    activation: str | Activation | None = None,
) -> nn.Module:
    """Re-initialize every ``nn.Linear`` (and reset every ``BatchNorm1d``) of ``model`` in place.

    Schemes (``W`` has shape ``(fan_out, fan_in)``; ``g`` is the activation's gain):

    ==================  =========================================================
    ``"default"``       PyTorch's own ``reset_parameters`` (uniform, bound
                        ``1/sqrt(fan_in)``; biases too)
    ``"normal"``        ``N(0, std^2)``; ``std`` is required
    ``"xavier_uniform"``  ``U(-a, a)``, ``a = g sqrt(6 / (fan_in + fan_out))``
    ``"xavier_normal"``   ``N(0, g^2 2 / (fan_in + fan_out))``
    ``"kaiming_uniform"`` ``U(-a, a)``, ``a = g sqrt(3 / fan_in)``
    ``"kaiming_normal"``  ``N(0, g^2 / fan_in)``
    ``"orthogonal"``    ``g`` times a (semi-)orthogonal matrix
    ==================  =========================================================

    Every scheme except ``"default"`` sets the biases to zero. All layers use the gain of
    the model's hidden activation (the convention of Glorot & Bengio and He et al., whose
    networks use one scheme throughout); the output layer therefore gets the same gain.

    Parameters
    ----------
    model : torch.nn.Module
        Usually built by :func:`mlp`.
    init : str
        One of :data:`INIT_SCHEMES`.
    std : float, optional
        Standard deviation for ``init="normal"``; rejected by the other schemes.
    seed : int, optional
        With a seed the result is deterministic and the global random state is left
        untouched (a local ``torch.Generator`` is used; for ``"default"``, PyTorch's
        ``reset_parameters`` runs under ``torch.random.fork_rng``). Without one, the global
        random state is used.
    activation : str or Activation, optional
        Whose gain to use. By default the model's hidden activation, found from its modules
        (``linear``, gain 1, when it has none).

    Returns
    -------
    torch.nn.Module
        ``model`` itself, for chaining.

    Examples
    --------
    >>> net = mlp([4, 8, 8, 2], "relu")
    >>> net = init_weights(net, "kaiming_normal", seed=0)
    >>> float(net[0].bias.detach().abs().sum())
    0.0
    """
    check_module(model)
    init = check_choice(init, "init", INIT_SCHEMES)
    std = _check_std(init, std)
    seed = check_optional_seed(seed)
    gain = (
        get_activation(activation).gain if activation is not None else _model_activation(model).gain
    )
    layers = linear_layers(model)
    with torch.no_grad():
        if init == "default":
            if seed is None:
                _reset_default(model)
            else:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    _reset_default(model)
        else:
            generator = None
            if seed is not None:
                generator = torch.Generator().manual_seed(seed)
            for layer in layers:
                _init_linear(layer, init, gain, std, generator)
            for m in model.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.reset_parameters()
    return model


def _reset_default(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.modules.batchnorm._BatchNorm)):
            m.reset_parameters()


def _build(sizes: list[int], act: Activation, batch_norm: bool, bias: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out, bias=bias))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(act.module())
    return nn.Sequential(*layers)


def mlp(
    widths: Sequence[int],
    activation: str | Activation = "relu",
    *,
    init: str = "default",
    std: float | None = None,
    batch_norm: bool = False,
    bias: bool = True,
    seed: int | None = None,
) -> nn.Sequential:
    """A multilayer perceptron as an ``nn.Sequential``.

    ``Linear(widths[0], widths[1]) -> [BatchNorm1d] -> activation -> ... ->
    Linear(widths[-2], widths[-1])``: the activation follows every hidden ``Linear``
    (after its ``BatchNorm1d`` when ``batch_norm``), the output layer has none.

    Parameters
    ----------
    widths : sequence of int
        Every layer size, input and output included (at least 2 entries, each >= 1).
        ``[2, 5, 5, 5, 5, 1]`` has 5 ``Linear`` layers.
    activation : str or Activation, default "relu"
        See :func:`vgcourse.activations.get_activation`.
    init : str, default "default"
        One of :data:`INIT_SCHEMES`; see :func:`init_weights`.
    std : float, optional
        Required for ``init="normal"``, rejected otherwise.
    batch_norm : bool, default False
        Insert ``nn.BatchNorm1d`` after every hidden ``Linear``.
    bias : bool, default True
        Give the ``Linear`` layers a bias.
    seed : int, optional
        Makes the initialization deterministic without touching the global random state.

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    Seed 000's network (depth 10, width 4, N(0, 1) weights, no biases):

    >>> net = mlp([4] * 10 + [1], "relu", init="normal", std=1.0, bias=False, seed=0)
    >>> len(linear_layers(net)), net[0].bias is None
    (10, True)
    >>> [type(m).__name__ for m in mlp([2, 3, 1], "tanh", batch_norm=True)]
    ['Linear', 'BatchNorm1d', 'Tanh', 'Linear']
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(
            f"widths must be a list of ints such as [2, 16, 16, 3], received {widths!r}."
        )
    if len(widths) < 2:
        raise ValueError(
            "widths must list at least 2 sizes (input and output), "
            f"received {list(widths)!r} with {len(widths)}."
        )
    sizes = [check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(widths)]
    act = get_activation(activation)
    init = check_choice(init, "init", INIT_SCHEMES)
    _check_std(init, std)
    if not isinstance(batch_norm, bool):
        raise TypeError(f"batch_norm must be a bool, received {batch_norm!r}.")
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be a bool, received {bias!r}.")
    seed = check_optional_seed(seed)

    if seed is None:
        model = _build(sizes, act, batch_norm, bias)
    else:
        # The constructors draw PyTorch's default initialization from the global generator:
        # run them on a fork of it so a seeded call leaves the global state untouched.
        with torch.random.fork_rng(devices=[]):
            model = _build(sizes, act, batch_norm, bias)
    if init != "default" or seed is not None:
        init_weights(model, init, std=std, seed=seed, activation=act)
    return model
