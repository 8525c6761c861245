"""vgcourse.models: MLP structure; every init scheme against torch.nn.init and closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vgcourse import INIT_SCHEMES, get_activation, init_weights, linear_layers, mlp

WIDE = [400, 300, 300, 200]  # large layers: sample statistics are close to their expectations


def weights_of(model: nn.Module) -> list[torch.Tensor]:
    return [layer.weight.detach().double() for layer in linear_layers(model)]


def test_init_schemes_are_the_contracts():
    assert INIT_SCHEMES == (
        "default",
        "normal",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "orthogonal",
    )


def test_structure_seed_004_network():
    net = mlp([2, 5, 5, 5, 5, 1], "sigmoid", init="normal", std=1.0)
    assert [type(m).__name__ for m in net] == ["Linear", "Sigmoid"] * 4 + ["Linear"]
    shapes = [tuple(layer.weight.shape) for layer in linear_layers(net)]
    assert shapes == [(5, 2), (5, 5), (5, 5), (5, 5), (1, 5)]
    assert all(layer.bias is not None for layer in linear_layers(net))


def test_structure_seed_000_network():
    net = mlp([4] * 10 + [1], "relu", init="normal", std=1.0, bias=False, seed=0)
    layers = linear_layers(net)
    assert len(layers) == 10
    assert all(layer.bias is None for layer in layers)
    assert [type(m).__name__ for m in net][-3:] == ["Linear", "ReLU", "Linear"]
    assert tuple(layers[-1].weight.shape) == (1, 4)


def test_batch_norm_sits_between_linear_and_activation():
    net = mlp([3, 8, 8, 2], "tanh", batch_norm=True)
    assert [type(m).__name__ for m in net] == [
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Linear",
    ]
    assert net[1].num_features == 8


def test_two_widths_is_a_single_linear_layer():
    net = mlp([3, 2], "relu")
    assert [type(m).__name__ for m in net] == ["Linear"]


def test_output_is_logits_of_the_right_shape():
    net = mlp([2, 16, 3], "relu", seed=0)
    assert net(torch.zeros(5, 2)).shape == (5, 3)


def test_linear_layers_is_input_to_output_order():
    net = mlp([2, 3, 4, 5, 6], "relu", batch_norm=True)
    assert [layer.in_features for layer in linear_layers(net)] == [2, 3, 4, 5]


@pytest.mark.parametrize("std", [0.01, 1.0, 3.0])
def test_normal_std_and_mean(std):
    for w in weights_of(mlp(WIDE, "relu", init="normal", std=std, seed=0)):
        assert float(w.std()) == pytest.approx(std, rel=0.03)
        assert float(w.mean()) == pytest.approx(0.0, abs=4 * std / math.sqrt(w.numel()))


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "tanh", "relu", "leaky_relu"])
def test_xavier_uniform_bound_and_std(activation):
    gain = torch.nn.init.calculate_gain(activation, 0.01 if activation == "leaky_relu" else None)
    for w in weights_of(mlp(WIDE, activation, init="xavier_uniform", seed=1)):
        fan_out, fan_in = w.shape
        bound = gain * math.sqrt(6 / (fan_in + fan_out))  # Glorot & Bengio (2010), eq. 16
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.99 * bound
        assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.03)
        # and the same statistics as torch.nn.init's own
        ref = torch.nn.init.xavier_uniform_(
            torch.empty(fan_out, fan_in, dtype=torch.float64),
            gain=gain,
            generator=torch.Generator().manual_seed(99),
        )
        assert float(w.std()) == pytest.approx(float(ref.std()), rel=0.04)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_xavier_normal_std(activation):
    gain = torch.nn.init.calculate_gain(activation)
    for w in weights_of(mlp(WIDE, activation, init="xavier_normal", seed=2)):
        fan_out, fan_in = w.shape
        assert float(w.std()) == pytest.approx(gain * math.sqrt(2 / (fan_in + fan_out)), rel=0.03)


@pytest.mark.parametrize("activation", ["linear", "tanh", "relu", "leaky_relu"])
def test_kaiming_normal_std_matches_torch(activation):
    for w in weights_of(mlp(WIDE, activation, init="kaiming_normal", seed=3)):
        fan_out, fan_in = w.shape
        gain = torch.nn.init.calculate_gain(
            activation, 0.01 if activation == "leaky_relu" else None
        )
        assert float(w.std()) == pytest.approx(gain / math.sqrt(fan_in), rel=0.03)
        ref = torch.nn.init.kaiming_normal_(
            torch.empty(fan_out, fan_in, dtype=torch.float64),
            a=0.01 if activation == "leaky_relu" else 0,
            mode="fan_in",
            nonlinearity=activation,
            generator=torch.Generator().manual_seed(7),
        )
        assert float(w.std()) == pytest.approx(float(ref.std()), rel=0.04)


@pytest.mark.parametrize("activation", ["linear", "tanh", "relu", "leaky_relu"])
def test_kaiming_uniform_bound_matches_torch(activation):
    for w in weights_of(mlp(WIDE, activation, init="kaiming_uniform", seed=4)):
        fan_out, fan_in = w.shape
        ref = torch.nn.init.kaiming_uniform_(
            torch.empty(fan_out, fan_in, dtype=torch.float64),
            a=0.01 if activation == "leaky_relu" else 0,
            nonlinearity=activation,
            generator=torch.Generator().manual_seed(8),
        )
        gain = get_activation(activation).gain
        bound = gain * math.sqrt(3 / fan_in)
        assert float(ref.abs().max()) <= bound  # the closed form agrees with torch
        assert 0.99 * bound < float(w.abs().max()) <= bound
        assert float(w.std()) == pytest.approx(float(ref.std()), rel=0.04)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("widths", [[10, 10, 10], [6, 12, 4], [3, 50, 50, 2]])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(activation, widths):
    gain = get_activation(activation).gain
    for w in weights_of(mlp(widths, activation, init="orthogonal", seed=5)):
        fan_out, fan_in = w.shape
        if fan_out <= fan_in:
            product, n = w @ w.T, fan_out
        else:
            product, n = w.T @ w, fan_in
        torch.testing.assert_close(
            product, gain**2 * torch.eye(n, dtype=torch.float64), atol=1e-5, rtol=0
        )


def test_orthogonal_square_preserves_norms():
    net = mlp([32, 32, 32], "linear", init="orthogonal", seed=0)
    x = torch.randn(10, 32, generator=torch.Generator().manual_seed(0))
    y = net(x)
    torch.testing.assert_close(y.norm(dim=1), x.norm(dim=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("init", [s for s in INIT_SCHEMES if s != "default"])
def test_biases_are_zero_except_default(init):
    std = 0.5 if init == "normal" else None
    for layer in linear_layers(mlp([3, 4, 2], "tanh", init=init, std=std, seed=0)):
        assert torch.count_nonzero(layer.bias) == 0


def test_default_is_pytorchs_own_initialization_under_the_seed():
    torch.manual_seed(123)
    reference = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    ours = mlp([2, 8, 3], "relu", init="default", seed=123)
    for a, b in zip(linear_layers(ours), linear_layers(reference), strict=True):
        assert torch.equal(a.weight, b.weight)
        assert torch.equal(a.bias, b.bias)
        assert torch.count_nonzero(a.bias) > 0  # PyTorch's default bias is not zero


@pytest.mark.parametrize("init", INIT_SCHEMES)
def test_seeded_init_is_deterministic_and_leaves_global_rng(init):
    std = 1.0 if init == "normal" else None
    state = torch.get_rng_state()
    a = mlp([3, 6, 6, 2], "tanh", init=init, std=std, seed=11)
    b = mlp([3, 6, 6, 2], "tanh", init=init, std=std, seed=11)
    c = mlp([3, 6, 6, 2], "tanh", init=init, std=std, seed=12)
    assert torch.equal(torch.get_rng_state(), state)
    for la, lb, lc in zip(linear_layers(a), linear_layers(b), linear_layers(c), strict=True):
        assert torch.equal(la.weight, lb.weight)
        assert not torch.equal(la.weight, lc.weight)


def test_unseeded_init_uses_the_global_rng():
    torch.manual_seed(0)
    a = mlp([3, 6, 2], "relu", init="kaiming_normal")
    torch.manual_seed(0)
    b = mlp([3, 6, 2], "relu", init="kaiming_normal")
    c = mlp([3, 6, 2], "relu", init="kaiming_normal")
    assert torch.equal(a[0].weight, b[0].weight)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_init_weights_reinitializes_in_place_and_resets_batch_norm():
    net = mlp([20, 30, 30, 5], "relu", batch_norm=True, seed=0)
    with torch.no_grad():
        net[1].weight.fill_(3.0)
        net[1].running_mean.fill_(2.0)
    before = net[0].weight.detach().clone()
    out = init_weights(net, "kaiming_normal", seed=1)
    assert out is net
    assert not torch.equal(net[0].weight, before)
    assert torch.equal(net[1].weight, torch.ones(30))
    assert torch.equal(net[1].running_mean, torch.zeros(30))


def test_init_weights_gain_comes_from_the_models_activation_or_the_argument():
    net = mlp([500, 500, 500], "tanh")
    init_weights(net, "kaiming_normal", seed=0)
    assert float(net[0].weight.detach().std()) == pytest.approx((5 / 3) / math.sqrt(500), rel=0.02)
    init_weights(net, "kaiming_normal", seed=0, activation="relu")
    assert float(net[0].weight.detach().std()) == pytest.approx(math.sqrt(2 / 500), rel=0.02)


def test_init_weights_refuses_to_guess_with_mixed_activations():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"model mixes several activations \(relu, tanh\)"):
        init_weights(net, "xavier_normal")
    init_weights(net, "xavier_normal", activation="tanh", seed=0)  # explicit choice works


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: mlp([3]), ValueError, r"widths must list at least 2 sizes .* received \[3\]"),
        (lambda: mlp([]), ValueError, r"widths must list at least 2 sizes"),
        (lambda: mlp(5), TypeError, r"widths must be a list of ints .* received 5"),
        (lambda: mlp("25"), TypeError, r"widths must be a list of ints"),
        (lambda: mlp([2, 0, 1]), ValueError, r"widths\[1\] must be an int >= 1, received 0"),
        (lambda: mlp([2, 4.0, 1]), TypeError, r"widths\[1\] must be an int, received 4.0"),
        (lambda: mlp([2, 1], "swish"), ValueError, r"activation must be one of .* 'swish'"),
        (lambda: mlp([2, 1], init="he"), ValueError, r"init must be one of 'default'.*'he'"),
        (lambda: mlp([2, 1], init="normal"), ValueError, r"std is required when init='normal'"),
        (
            lambda: mlp([2, 1], init="normal", std=-1.0),
            ValueError,
            r"std must be > 0, received -1.0",
        ),
        (
            lambda: mlp([2, 1], init="xavier_normal", std=1.0),
            ValueError,
            r"std is only used by init='normal'; received std=1.0 with init='xavier_normal'",
        ),
        (lambda: mlp([2, 1], batch_norm="yes"), TypeError, r"batch_norm must be a bool"),
        (lambda: mlp([2, 1], bias=None), TypeError, r"bias must be a bool, received None"),
        (lambda: mlp([2, 1], seed=-3), ValueError, r"seed must be an int >= 0, received -3"),
        (lambda: mlp([2, 1], seed=1.5), TypeError, r"seed must be an int, received 1.5"),
        (
            lambda: init_weights("net", "normal", std=1.0),
            TypeError,
            r"model must be a torch.nn.Module",
        ),
        (lambda: linear_layers([nn.Linear(2, 2)]), TypeError, r"model must be a torch.nn.Module"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
