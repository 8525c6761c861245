"""Helpers for the course on vanishing and exploding gradients.

The package holds what two or more chapters or assignments share: activations and their
derivatives (:mod:`vgcourse.activations`), toy data sets (:mod:`vgcourse.data`), multilayer
perceptrons and their initializations (:mod:`vgcourse.models`), gradient and activation
diagnostics (:mod:`vgcourse.diagnostics`), a small training loop (:mod:`vgcourse.training`),
plots (:mod:`vgcourse.plots`) and the checks of the autograded exercises
(:mod:`vgcourse.grading`), each student's variant of an assignment (:mod:`vgcourse.variants`),
the claims a chapter checks
against its own numbers (:mod:`vgcourse.claims`) and the online book's interactive figures
(:mod:`vgcourse.interactive`).

Examples
--------
>>> import vgcourse
>>> X, y = vgcourse.make_spiral(seed=0)
>>> net = vgcourse.mlp([2, 50, 50, 3], "relu", init="kaiming_normal", seed=0)
>>> len(vgcourse.linear_layers(net))
3
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

#: Where each name of the package lives. A name is imported on first use, so
#: ``import vgcourse.grading`` (run by every autograded submission and by the grader, which
#: compares decoded values and needs neither PyTorch nor Matplotlib) pays only for its own
#: module; the plots (Matplotlib) and the networks (PyTorch) load when a chapter uses them.
_HOMES = {
    "activations": ("ACTIVATION_NAMES", "Activation", "get_activation"),
    "claims": ("ClaimError", "agrees", "claim", "fact", "falsifier"),
    "data": ("make_circles", "make_spiral"),
    "diagnostics": ("LayerStats", "accuracy", "activation_stats", "gradient_norms"),
    "grading": ("check_close", "check_equal", "check_finite", "check_shape", "check_type",
                "compare", "decode_value", "encode_value", "observe", "observe_raises"),
    "interactive": ("InteractiveFigure", "interactive_figure"),
    "meanfield": ("tanh_fixed_point",),
    "models": ("INIT_SCHEMES", "init_weights", "linear_layers", "mlp"),
    "plots": ("plot_activation_histograms", "plot_decision_boundary", "plot_gradient_norms",
              "plot_history"),
    "training": ("OPTIMIZERS", "History", "train"),
    "variants": ("variant_index", "variant_params"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

if TYPE_CHECKING:
    from .activations import ACTIVATION_NAMES, Activation, get_activation
    from .claims import ClaimError, agrees, claim, fact, falsifier
    from .data import make_circles, make_spiral
    from .diagnostics import LayerStats, accuracy, activation_stats, gradient_norms
    from .grading import (
        check_close,
        check_equal,
        check_finite,
        check_shape,
        check_type,
        compare,
        decode_value,
        encode_value,
        observe,
        observe_raises,
    )
    from .interactive import InteractiveFigure, interactive_figure
    from .meanfield import tanh_fixed_point
    from .models import INIT_SCHEMES, init_weights, linear_layers, mlp
    from .plots import (
        plot_activation_histograms,
        plot_decision_boundary,
        plot_gradient_norms,
        plot_history,
    )
    from .training import OPTIMIZERS, History, train
    from .variants import variant_index, variant_params

__version__ = "0.1.0"

__all__ = [
    "ACTIVATION_NAMES",
    "INIT_SCHEMES",
    "OPTIMIZERS",
    "Activation",
    "ClaimError",
    "History",
    "InteractiveFigure",
    "LayerStats",
    "__version__",
    "accuracy",
    "activation_stats",
    "agrees",
    "check_close",
    "check_equal",
    "check_finite",
    "check_shape",
    "check_type",
    "claim",
    "compare",
    "decode_value",
    "encode_value",
    "fact",
    "falsifier",
    "get_activation",
    "gradient_norms",
    "init_weights",
    "interactive_figure",
    "linear_layers",
    "make_circles",
    "make_spiral",
    "mlp",
    "observe",
    "observe_raises",
    "plot_activation_histograms",
    "plot_decision_boundary",
    "plot_gradient_norms",
    "plot_history",
    "tanh_fixed_point",
    "train",
    "variant_index",
    "variant_params",
]


def __getattr__(name: str) -> Any:
    if name in _HOME_OF:
        value = getattr(import_module(f".{_HOME_OF[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vgcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
