"""vgcourse.data: the seed-002 spiral and scikit-learn-style circles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgcourse import make_circles, make_spiral


def seed_002_spiral() -> tuple[np.ndarray, np.ndarray]:
    """Seed 002's data cell, ported to Python 3 (xrange -> range), verbatim otherwise."""
    np.random.seed(0)  # noqa: NPY002 (the seed verbatim)
    N, D, K = 100, 2, 3
    X = np.zeros((N * K, D))
    y = np.zeros(N * K, dtype="uint8")
    for j in range(K):
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1, N)
        t = np.linspace(j * 4, (j + 1) * 4, N) + np.random.randn(N) * 0.2  # noqa: NPY002
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return X, y


def test_spiral_is_seed_002s_data_set():
    state = np.random.get_state()  # noqa: NPY002
    try:
        X_ref, y_ref = seed_002_spiral()
    finally:
        np.random.set_state(state)  # noqa: NPY002
    X, y = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0)
    np.testing.assert_allclose(X.numpy(), X_ref.astype(np.float32), rtol=0, atol=0)
    np.testing.assert_array_equal(y.numpy(), y_ref)


def test_spiral_types_and_shapes():
    X, y = make_spiral(n_per_class=7, n_classes=4, seed=3)
    assert X.dtype == torch.float32 and X.shape == (28, 2)
    assert y.dtype == torch.int64 and y.shape == (28,)
    assert y.bincount().tolist() == [7, 7, 7, 7]


def test_spiral_is_deterministic_per_seed_and_leaves_global_state():
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = make_spiral(seed=5)
    b = make_spiral(seed=5)
    c = make_spiral(seed=6)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_spiral_radii_are_linspace_and_noise_free_angles():
    X, y = make_spiral(n_per_class=50, n_classes=2, noise=0.0, seed=0)
    r = X.double().norm(dim=1).numpy()
    np.testing.assert_allclose(r[:50], np.linspace(0, 1, 50), atol=1e-6)
    t = np.arctan2(X[:50, 0].double().numpy(), X[:50, 1].double().numpy())
    expected = np.linspace(0, 4, 50)
    # compare angles modulo 2 pi (skip r = 0, whose angle is undefined)
    diff = np.angle(np.exp(1j * (t[1:] - expected[1:])))
    np.testing.assert_allclose(diff, 0, atol=1e-5)


def test_circles_radii_class_balance_and_labels():
    X, y = make_circles(n_samples=1001, factor=0.3, noise=0.0, seed=0)
    assert X.dtype == torch.float32 and X.shape == (1001, 2)
    assert y.dtype == torch.int64
    # sklearn's split: n_out = n // 2 on the outer circle (label 0), the rest inside (label 1)
    assert int((y == 0).sum()) == 500 and int((y == 1).sum()) == 501
    r = X.double().norm(dim=1)
    torch.testing.assert_close(r[y == 0], torch.ones(500, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(
        r[y == 1], torch.full((501,), 0.3, dtype=torch.float64), atol=1e-6, rtol=0
    )


def test_circles_points_are_evenly_spaced_without_shuffle():
    X, y = make_circles(n_samples=8, factor=0.5, noise=0.0, seed=0, shuffle=False)
    angles = np.arange(4) * np.pi / 2
    expected = np.r_[
        np.c_[np.cos(angles), np.sin(angles)], 0.5 * np.c_[np.cos(angles), np.sin(angles)]
    ]
    np.testing.assert_allclose(X.numpy(), expected, atol=1e-7)
    assert y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_circles_noise_has_the_requested_std():
    X0, y0 = make_circles(n_samples=20000, factor=0.5, noise=0.0, seed=1)
    X, y = make_circles(n_samples=20000, factor=0.5, noise=0.1, seed=1)
    assert torch.equal(y, y0)  # the same shuffle, then noise
    residual = (X - X0).double().numpy()
    assert residual.mean() == pytest.approx(0.0, abs=3e-3)
    assert residual.std() == pytest.approx(0.1, rel=0.02)


def test_circles_shuffled_and_deterministic():
    a = make_circles(n_samples=200, seed=2)
    b = make_circles(n_samples=200, seed=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], torch.sort(a[1]).values)  # shuffled
    assert not torch.equal(a[0], make_circles(n_samples=200, seed=3)[0])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: make_spiral(n_per_class=0),
            ValueError,
            r"n_per_class must be an int >= 1, received 0",
        ),
        (
            lambda: make_spiral(n_per_class=2.5),
            TypeError,
            r"n_per_class must be an int, received 2.5",
        ),
        (
            lambda: make_spiral(n_classes=-1),
            ValueError,
            r"n_classes must be an int >= 1, received -1",
        ),
        (lambda: make_spiral(noise=-0.1), ValueError, r"noise must be >= 0.0, received -0.1"),
        (lambda: make_spiral(noise=float("nan")), ValueError, r"noise must be a finite number"),
        (lambda: make_spiral(seed=-1), ValueError, r"seed must be an int >= 0, received -1"),
        (
            lambda: make_circles(n_samples=1),
            ValueError,
            r"n_samples must be an int >= 2, received 1",
        ),
        (lambda: make_circles(factor=1.0), ValueError, r"factor must be < 1.0, received 1.0"),
        (lambda: make_circles(factor=-0.5), ValueError, r"factor must be >= 0.0, received -0.5"),
        (
            lambda: make_circles(noise="0.1"),
            TypeError,
            r"noise must be a real number, received '0.1'",
        ),
        (lambda: make_circles(shuffle=1), TypeError, r"shuffle must be a bool, received 1"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
