"""The seeds' observations, reproduced with vgcourse over many random seeds.

Seed 000 builds a depth-10, width-4 network with N(0, 1) weights and no biases, feeds it 100
standardized random inputs with integer targets 0..4 and an MSE loss, and prints every
layer's gradient: sigmoid's first-layer gradients vanish, while relu and tanh give large
("exploding") ones. Seed 002 trains a ReLU network on the spiral to ~99% training accuracy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgcourse import gradient_norms, make_spiral, mlp, train

N_SEEDS = 100


def seed_000_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed 000's sample data: integer inputs in [-10, 10), standardized; targets 0..4."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-10, 10, (100, 4), generator=g, dtype=torch.float32)
    y = torch.randint(0, 5, (100,), generator=g).float()
    return (x - x.mean(dim=0)) / x.std(dim=0), y


def seed_000_norms(activation: str, init: str = "normal") -> np.ndarray:
    """(N_SEEDS, 10) per-layer gradient norms of seed 000's network, one row per seed."""
    rows = []
    for seed in range(N_SEEDS):
        X, y = seed_000_data(seed)
        net = mlp(
            [4] * 10 + [1],
            activation,
            init=init,
            std=1.0 if init == "normal" else None,
            bias=False,
            seed=seed,
        )
        rows.append(gradient_norms(net, X, y, loss="mse"))
    return np.array(rows)


@pytest.fixture(scope="module")
def norms() -> dict[str, np.ndarray]:
    return {act: seed_000_norms(act) for act in ("sigmoid", "tanh", "relu")}


def test_sigmoid_first_layer_gradient_vanishes(norms):
    ratio = norms["sigmoid"][:, 0] / norms["sigmoid"][:, -1]
    # every one of the 100 networks: the first layer gets < 1/100 of the last layer's gradient
    assert np.all(ratio < 1e-2)
    assert np.median(ratio) < 1e-4
    # and the decay is layer by layer: the norms grow from input to output in most networks
    increasing = np.all(np.diff(np.log(norms["sigmoid"][:, 1:]), axis=1) > 0, axis=1)
    assert increasing.mean() > 0.5


def test_tanh_first_layer_gradient_does_not_vanish_but_grows(norms):
    first, last = norms["tanh"][:, 0], norms["tanh"][:, -1]
    # in mean square the gradient grows from the output to the input layer
    assert np.mean(first**2) > np.mean(last**2)
    # typical first/last ratios are order one: 10^4 times larger than with the sigmoid
    sig = norms["sigmoid"][:, 0] / norms["sigmoid"][:, -1]
    assert np.median(first / last) > 1e3 * np.median(sig)
    # and large in absolute terms: most first-layer gradients exceed 1
    assert np.median(first) > 1.0


def test_relu_first_layer_gradient_explodes(norms):
    first = norms["relu"][:, 0]
    alive = first > 0  # width 4: some networks have no active unit at all (zero gradient)
    assert alive.mean() > 0.7
    # heavy tail: some of the 100 networks have first-layer gradients in the thousands
    assert first.max() > 1e3
    assert np.mean(first > 10) > 0.15
    # compared with the variance-preserving (Kaiming) init of the same network, the mean
    # first-layer gradient is more than 100 times larger
    kaiming = seed_000_norms("relu", init="kaiming_normal")[:, 0]
    assert first.mean() > 100 * kaiming.mean()


def test_seed_002_spiral_is_learned_by_a_relu_network():
    X, y = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0)
    net = mlp([2, 50, 50, 3], "relu", init="kaiming_normal", seed=0)
    history = train(net, X, y, steps=300, lr=0.02, optimizer="adam", record_every=10)
    with torch.no_grad():
        accuracy = float((net(X).argmax(dim=1) == y).float().mean())
    assert accuracy >= 0.97
    assert history.loss[-1] < 0.2 * history.loss[0]
