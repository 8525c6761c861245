"""vgcourse.plots: each function draws the right data, labels its axes, returns its Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vgcourse import (  # noqa: E402
    make_spiral,
    mlp,
    plot_activation_histograms,
    plot_decision_boundary,
    plot_gradient_norms,
    plot_history,
    train,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def no_show(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a vgcourse plot called plt.show()")

    monkeypatch.setattr(plt, "show", fail)


def test_plot_gradient_norms_overlays_runs_on_log_axis():
    runs = {"sigmoid": [1e-5, 1e-3, 1e-1], "relu": [10.0, 3.0, 1.0]}
    ax = plot_gradient_norms(runs, title="depth 3")
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "depth 3"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["sigmoid", "relu"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), runs["relu"])
    assert "layer" in ax.get_xlabel()


def test_plot_gradient_norms_single_run_and_errors():
    ax = plot_gradient_norms([0.1, 0.2])
    assert len(ax.get_lines()) == 1 and ax.get_legend() is None
    with pytest.raises(
        ValueError, match=r"runs\['a'\] must hold positive finite norms .* \[0.0, 1.0\]"
    ):
        plot_gradient_norms({"a": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"runs must hold at least one run"):
        plot_gradient_norms({})
    with pytest.raises(TypeError, match=r"ax must be a matplotlib Axes or None, received str"):
        plot_gradient_norms([1.0], ax="left")


def test_plot_history_scalar_and_per_layer():
    X, y = make_spiral(n_per_class=10, seed=0)
    h = train(mlp([2, 4, 4, 3], seed=0), X, y, steps=6, lr=0.1, record_every=2)
    ax = plot_history(h, "loss")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), h.step)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), h.loss)
    assert ax.get_xlabel() == "step" and "loss" in ax.get_ylabel()
    ax = plot_history(h, "grad_norms", label="relu")
    assert [line.get_label() for line in ax.get_lines()] == [
        "relu layer 1",
        "relu layer 2",
        "relu layer 3",
    ]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match=r"key must be one of 'loss', 'accuracy'.*'lr'"):
        plot_history(h, "lr")
    with pytest.raises(TypeError, match=r"history must be a vgcourse.training.History"):
        plot_history({"loss": [1.0]})


def test_plot_activation_histograms_one_per_hidden_layer():
    net = mlp([3, 8, 8, 8, 2], "tanh", batch_norm=True, init="normal", std=1.0, seed=0)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    X = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    ax = plot_activation_histograms(net, X, bins=10)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["layer 1 (tanh)", "layer 2 (tanh)", "layer 3 (tanh)"]
    assert ax.get_xlabel() and ax.get_ylabel() == "count"
    for k, v in net.state_dict().items():  # running statistics untouched
        assert torch.equal(v, state[k])


def _drawn_regions(monkeypatch, ax) -> list[dict]:
    """Record what ``ax.contourf`` is asked to fill (the region grid and its levels)."""
    calls = []
    original = ax.contourf

    def contourf(gx, gy, z, *args, **kwargs):
        calls.append({"gx": np.asarray(gx), "gy": np.asarray(gy), "z": np.asarray(z), **kwargs})
        return original(gx, gy, z, *args, **kwargs)

    monkeypatch.setattr(ax, "contourf", contourf)
    return calls


def _grid(X: torch.Tensor, resolution: int, margin: float = 0.25):
    """The plot's grid, written out: ``resolution`` points per axis over the data +- margin."""
    x = X.double().numpy()
    xs = np.linspace(x[:, 0].min() - margin, x[:, 0].max() + margin, resolution)
    ys = np.linspace(x[:, 1].min() - margin, x[:, 1].max() + margin, resolution)
    return np.meshgrid(xs, ys)


def test_plot_decision_boundary_regions_match_predictions(monkeypatch):
    X, y = make_spiral(n_per_class=20, seed=0)
    net = mlp([2, 16, 3], "relu", seed=0)
    train(net, X, y, steps=200, lr=0.05, optimizer="adam", seed=0)  # so every class has a region
    net.train()
    _, ax = plt.subplots()
    drawn = _drawn_regions(monkeypatch, ax)
    assert plot_decision_boundary(net, X, y, ax=ax, resolution=30) is ax
    assert net.training  # mode restored
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    lo, hi = ax.get_xlim()
    assert lo == pytest.approx(float(X[:, 0].min()) - 0.25, rel=1e-5)
    assert hi == pytest.approx(float(X[:, 0].max()) + 0.25, rel=1e-5)
    # the regions are the model's own class at every grid point (its argmax, in eval mode)
    gx, gy = _grid(X, 30)
    net.eval()
    with torch.no_grad():
        logits = net(torch.tensor(np.c_[gx.ravel(), gy.ravel()], dtype=torch.float32))
    want = logits.argmax(dim=1).numpy().reshape(gx.shape)
    assert len(drawn) == 1
    np.testing.assert_allclose(drawn[0]["gx"], gx)
    np.testing.assert_allclose(drawn[0]["gy"], gy)
    np.testing.assert_array_equal(drawn[0]["z"], want)
    assert len(np.unique(want)) == 3  # every class has a region, so a swap would show
    # class k fills the band (k - 1/2, k + 1/2)
    np.testing.assert_array_equal(drawn[0]["levels"], [-0.5, 0.5, 1.5, 2.5])
    with pytest.raises(ValueError, match=r"X must have 2 columns .* \(5, 3\)"):
        plot_decision_boundary(net, torch.zeros(5, 3), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"y must be an integer tensor of shape \(60,\)"):
        plot_decision_boundary(net, X, y.float())


def test_plot_decision_boundary_binary_logit(monkeypatch):
    """One logit: class 1 where the logit is positive (here, right of x1 = 0)."""
    X = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([0, 1])
    net = torch.nn.Sequential(torch.nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        net[0].bias.zero_()
    _, ax = plt.subplots()
    drawn = _drawn_regions(monkeypatch, ax)
    plot_decision_boundary(net, X, y, ax=ax, resolution=10)
    assert len(ax.collections) >= 2  # filled regions + scattered points
    gx, _ = _grid(X, 10)
    np.testing.assert_array_equal(drawn[0]["z"], (gx > 0).astype(int))
    np.testing.assert_array_equal(drawn[0]["levels"], [-0.5, 0.5, 1.5])
