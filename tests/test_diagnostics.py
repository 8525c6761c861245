"""vgcourse.diagnostics against hand-written autograd computations."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from vgcourse import (
    LayerStats,
    accuracy,
    activation_stats,
    gradient_norms,
    linear_layers,
    make_circles,
    make_spiral,
    mlp,
)


def manual_norms(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str) -> list[float]:
    """The reference: a copy of the model, the loss written out by hand, .backward()."""
    model = copy.deepcopy(model)
    model.zero_grad(set_to_none=True)
    out = model(X)
    if loss == "cross_entropy":
        log_probs = out - torch.logsumexp(out, dim=1, keepdim=True)
        value = -log_probs[torch.arange(len(y)), y].mean()
    elif loss == "bce":
        p = torch.sigmoid(out[:, 0].double())
        value = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    else:
        pred = out[:, 0] if y.ndim == 1 else out
        value = ((pred - y) ** 2).mean()
    value.backward()
    return [float(layer.weight.grad.norm()) for layer in linear_layers(model)]


def test_cross_entropy_norms_match_manual_backward():
    X, y = make_spiral(seed=0)
    net = mlp([2, 50, 50, 3], "sigmoid", init="normal", std=1.0, seed=0)
    np.testing.assert_allclose(
        gradient_norms(net, X, y), manual_norms(net, X, y, "cross_entropy"), rtol=1e-5
    )


def test_bce_norms_match_manual_backward():
    X, y = make_circles(n_samples=300, seed=0)
    net = mlp([2, 5, 5, 5, 5, 1], "sigmoid", init="normal", std=1.0, seed=1)
    np.testing.assert_allclose(
        gradient_norms(net, X, y, loss="bce"),
        manual_norms(net, X, y.double(), "bce"),
        rtol=1e-4,
    )


@pytest.mark.parametrize("y_shape", [(64,), (64, 1)])
def test_mse_norms_match_manual_backward(y_shape):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=g)
    y = torch.randint(0, 5, y_shape, generator=g).float()
    net = mlp([4] * 10 + [1], "tanh", init="normal", std=1.0, bias=False, seed=2)
    np.testing.assert_allclose(
        gradient_norms(net, X, y, loss="mse"), manual_norms(net, X, y, "mse"), rtol=1e-5
    )


def test_mse_with_several_outputs():
    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(32, 3, generator=g), torch.randn(32, 2, generator=g)
    net = mlp([3, 8, 2], "relu", seed=0)
    np.testing.assert_allclose(
        gradient_norms(net, X, y, loss="mse"), manual_norms(net, X, y, "mse"), rtol=1e-5
    )


def test_norms_in_float64_are_exact():
    X, y = make_spiral(n_per_class=20, seed=1)
    net = mlp([2, 10, 10, 3], "tanh", init="xavier_normal", seed=0).double()
    np.testing.assert_allclose(
        gradient_norms(net, X.double(), y),
        manual_norms(net, X.double(), y, "cross_entropy"),
        rtol=1e-12,
    )


def test_leaves_weights_grads_mode_and_running_stats_untouched():
    X, y = make_spiral(n_per_class=30, seed=0)
    net = mlp([2, 16, 16, 3], "relu", batch_norm=True, seed=0)
    # some parameters carry a .grad from "earlier", others have none
    marker = torch.full_like(net[0].weight, 7.0)
    net[0].weight.grad = marker.clone()
    net[4].weight.grad = None
    net.eval()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    norms = gradient_norms(net, X, y)
    assert len(norms) == 3 and all(n > 0 for n in norms)
    assert torch.equal(net[0].weight.grad, marker)
    assert net[4].weight.grad is None
    assert net[0].bias.grad is None
    assert not net.training and not net[1].training
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k

    net.train()
    gradient_norms(net, X, y)  # training mode: BatchNorm would update running stats
    assert net.training and net[1].training
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_norms_are_python_floats_input_to_output():
    X, y = make_spiral(n_per_class=10, seed=0)
    norms = gradient_norms(mlp([2, 3, 4, 3], "relu", seed=0), X, y)
    assert isinstance(norms, list) and all(type(n) is float for n in norms)
    assert len(norms) == 3


def test_sigmoid_depth_shrinks_first_layer_gradient_seed_004():
    X, y = make_circles(n_samples=1000, seed=0)
    ratios = []
    for seed in range(10):
        net = mlp([2, 5, 5, 5, 5, 1], "sigmoid", init="normal", std=1.0, seed=seed)
        norms = gradient_norms(net, X, y, loss="bce")
        ratios.append(norms[0] / norms[-1])
    assert np.median(ratios) < 0.1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"loss": "hinge"}, ValueError, r"loss must be one of 'cross_entropy', 'bce', 'mse'"),
        (
            {"X": torch.zeros(10, 2), "y": torch.zeros(9, dtype=torch.long)},
            ValueError,
            r"X and y must have the same number of rows.* \(10, 2\) and y of shape \(9,\)",
        ),
        (
            {"X": torch.zeros(10)},
            ValueError,
            r"X must be a 2-D tensor, received a torch.Tensor of shape \(10,\)",
        ),
        (
            {"X": torch.full((10, 2), float("nan"))},
            ValueError,
            r"X must hold only finite numbers, .* with 20 NaN",
        ),
        (
            {"X": [[0.0, 1.0]] * 10},
            TypeError,
            r"X must be a torch.Tensor or numpy.ndarray, received \[\[",
        ),
        ({"y": torch.zeros(10)}, TypeError, r"y must be a 1-D tensor of integer class labels"),
        ({"y": torch.full((10,), 5)}, ValueError, r"y holds class 5 but the model has 3 outputs"),
        (
            {"y": torch.full((10,), -1)},
            ValueError,
            r"y must hold class labels >= 0, received a minimum of -1",
        ),
        ({"loss": "bce"}, ValueError, r"loss='bce' expects a model with one output .* 3 outputs"),
    ],
)
def test_gradient_norms_bad_arguments(kwargs, error, match):
    args = {
        "model": mlp([2, 4, 3], "relu", seed=0),
        "X": torch.zeros(10, 2),
        "y": torch.zeros(10, dtype=torch.long),
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        gradient_norms(args["model"], args["X"], args["y"], loss=args.get("loss", "cross_entropy"))


def test_bce_rejects_non_binary_labels_and_mse_rejects_nan_targets():
    net = mlp([2, 4, 1], "relu", seed=0)
    with pytest.raises(
        ValueError, match=r"y must hold 0/1 labels for loss='bce', received a value of 2.0"
    ):
        gradient_norms(net, torch.zeros(4, 2), torch.tensor([0, 1, 2, 1]), loss="bce")
    with pytest.raises(ValueError, match=r"y must hold only finite numbers"):
        gradient_norms(net, torch.zeros(2, 2), torch.tensor([0.0, float("nan")]), loss="mse")
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, received 'net'"):
        gradient_norms("net", torch.zeros(2, 2), torch.zeros(2), loss="mse")


# --- activation_stats -------------------------------------------------------------------


def hidden_pre_activations(net: nn.Sequential, X: torch.Tensor) -> list[torch.Tensor]:
    """Walk an mlp without BatchNorm by hand: the input of every activation module."""
    pre, h = [], X
    layers = linear_layers(net)
    for layer in layers[:-1]:
        z = layer(h)
        pre.append(z)
        h = net[2 * layers.index(layer) + 1](z)
    return pre


def test_sigmoid_stats_match_closed_form():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(500, 8, generator=g)
    net = mlp([8, 32, 32, 32, 1], "sigmoid", init="normal", std=3.0, seed=0)
    stats = activation_stats(net, X)
    with torch.no_grad():
        pre = hidden_pre_activations(net, X)
    assert [s.layer for s in stats] == [1, 2, 3]
    for s, z in zip(stats, pre, strict=True):
        a = 1 / (1 + torch.exp(-z.double()))
        assert isinstance(s, LayerStats) and s.name == "sigmoid"
        assert s.mean == pytest.approx(float(a.mean()), rel=1e-5)
        assert s.std == pytest.approx(float(a.std(unbiased=False)), rel=1e-5)
        # saturated: a(1-a) < 5% of the maximum 1/4
        assert s.saturated_fraction == pytest.approx(float((a * (1 - a) < 0.0125).double().mean()))
        assert s.dead_fraction == 0.0
    assert stats[0].saturated_fraction > 0.3  # std 3 weights saturate the sigmoid


def test_relu_dead_units_are_counted():
    net = mlp([4, 10, 10, 2], "relu", init="kaiming_normal", seed=0)
    with torch.no_grad():
        net[0].bias[:3] = -1e3  # three units of layer 1 can never fire
    X = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    stats = activation_stats(net, X)
    assert stats[0].dead_fraction == pytest.approx(0.3)
    with torch.no_grad():
        z = net[0](X)
    assert stats[0].saturated_fraction == pytest.approx(float((z <= 0).double().mean()))


def test_tanh_and_linear_stats():
    X = torch.randn(300, 5, generator=torch.Generator().manual_seed(2))
    net = mlp([5, 20, 20, 1], "tanh", init="xavier_normal", seed=0)
    with torch.no_grad():
        z = net[0](X)
    s = activation_stats(net, X)[0]
    assert s.saturated_fraction == pytest.approx(
        float((1 - torch.tanh(z) ** 2 < 0.05).double().mean())
    )
    lin = activation_stats(mlp([5, 20, 1], "linear", seed=0), X)
    assert lin[0].name == "linear" and lin[0].saturated_fraction == 0.0


def test_activation_stats_leaves_model_alone():
    net = mlp([2, 16, 16, 3], "elu", batch_norm=True, seed=0)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    stats = activation_stats(net, torch.randn(50, 2))
    assert [s.name for s in stats] == ["elu", "elu"]
    assert net.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert not net[0]._forward_hooks  # hooks removed


def test_activation_stats_bad_arguments():
    with pytest.raises(ValueError, match=r"model has no activation module"):
        activation_stats(nn.Sequential(nn.Linear(2, 2)), torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"X must be a 2-D tensor"):
        activation_stats(mlp([2, 3, 1]), torch.zeros(3))
    with pytest.raises(ValueError, match=r"X must hold only finite numbers"):
        activation_stats(mlp([2, 3, 1]), torch.tensor([[float("inf"), 0.0]]))


def test_accuracy_matches_a_manual_count_in_eval_mode():
    """accuracy() counts argmax / logit-sign hits itself, in eval mode, leaving the model as is."""
    X, y = make_spiral(n_per_class=30, seed=1)
    net = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    net.train()
    running = net[1].running_mean.clone()
    net.eval()
    with torch.no_grad():
        expected = sum(int(net(X[i : i + 1]).argmax()) == int(y[i]) for i in range(len(y))) / len(y)
    net.train()
    assert accuracy(net, X, y) == pytest.approx(expected)
    assert net.training and torch.equal(net[1].running_mean, running)

    Xc, yc = make_circles(n_samples=100, seed=0)
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        logits = lin(Xc)[:, 0].tolist()
    hits = sum((z > 0) == bool(t) for z, t in zip(logits, yc.tolist(), strict=True))
    assert accuracy(lin, Xc, yc, loss="bce") == pytest.approx(hits / 100)
    with pytest.raises(ValueError, match="loss must be one of"):
        accuracy(lin, Xc, yc, loss="hinge")
