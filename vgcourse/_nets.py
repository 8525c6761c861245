"""Model inspection shared by ``models``, ``diagnostics``, ``training`` and ``plots``.

Private: what a module computes, a network's dtype, its weights and data, and running a model
without leaving a trace (training mode and buffers restored, activations captured). The
public ``linear_layers`` stays in ``models``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from .activations import LEAKY_SLOPE, Activation, get_activation


def activation_of(module: nn.Module) -> Activation | None:
    """The course activation a module computes, or None for a module that is not one."""
    if isinstance(module, nn.Identity):
        return get_activation("linear")
    if isinstance(module, nn.Sigmoid):
        return get_activation("sigmoid")
    if isinstance(module, nn.Tanh):
        return get_activation("tanh")
    if isinstance(module, nn.ReLU):
        return get_activation("relu")
    if isinstance(module, nn.LeakyReLU) and math.isclose(module.negative_slope, LEAKY_SLOPE):
        return get_activation("leaky_relu")
    if isinstance(module, nn.ELU) and module.alpha == 1.0:
        return get_activation("elu")
    return None


def model_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating-point parameter (PyTorch's default if none)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


@contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Restore the training mode of every submodule and every buffer on exit."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)


def weights_and_data(
    layers: list[nn.Linear], model: nn.Module, X: torch.Tensor, y: torch.Tensor
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """The weights of ``layers`` (the model's ``nn.Linear`` layers, input to output), and
    ``X`` and a floating-point ``y`` cast to the model's dtype."""
    if not layers:
        raise ValueError("model must contain at least one torch.nn.Linear layer, found none.")
    dtype = model_dtype(model)
    if y.is_floating_point():
        y = y.to(dtype)
    return [layer.weight for layer in layers], X.to(dtype), y


def capture_activations(
    model: nn.Module, X: torch.Tensor
) -> list[tuple[Activation, torch.Tensor, torch.Tensor]] | None:
    """(activation, its input, its output) of every activation module, input to output, in one
    forward pass of ``X`` under ``torch.no_grad()`` in the model's current mode (mode and
    buffers restored); None when the model has no activation module."""
    found = [(m, a) for m in model.modules() if (a := activation_of(m)) is not None]
    if not found:
        return None
    records: list[tuple[Activation, torch.Tensor, torch.Tensor]] = []
    handles = []
    for module, act in found:

        def hook(_m: nn.Module, inputs: tuple[Any, ...], output: Any, act: Activation = act):
            records.append((act, inputs[0].detach(), output.detach()))

        handles.append(module.register_forward_hook(hook))
    try:
        with preserved(model), torch.no_grad():
            model(X)
    finally:
        for h in handles:
            h.remove()
    return records
