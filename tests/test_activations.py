"""vgcourse.activations against PyTorch: values, autograd derivatives, modules and gains."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vgcourse import ACTIVATION_NAMES, Activation, get_activation

# Independent references: PyTorch's own functional forms.
REFERENCE = {
    "linear": lambda x: x,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "elu": lambda x: F.elu(x, 1.0),
}

# Points that include the kinks (0) and large magnitudes.
POINTS = np.concatenate(
    [
        np.array([-50.0, -10.0, -3.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 3.0, 10.0, 50.0]),
        np.random.default_rng(0).normal(scale=4.0, size=200),
    ]
)


def autograd_derivative(name: str, x: np.ndarray) -> np.ndarray:
    """d f(x) / dx elementwise by PyTorch autograd (the reference for every derivative)."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(REFERENCE[name](t).sum(), t)
    return grad.numpy()


def test_names_are_the_contracts():
    assert ACTIVATION_NAMES == ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu")


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_fn_matches_torch_functional(name):
    act = get_activation(name)
    expected = REFERENCE[name](torch.tensor(POINTS, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(act.fn(POINTS), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        act.fn(torch.tensor(POINTS)).numpy(), expected, rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_derivative_matches_autograd_numpy_and_torch(name):
    act = get_activation(name)
    expected = autograd_derivative(name, POINTS)
    np.testing.assert_allclose(act.derivative(POINTS), expected, rtol=1e-12, atol=1e-15)
    got = act.derivative(torch.tensor(POINTS, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_derivative_at_zero_is_pytorchs(name):
    expected = autograd_derivative(name, np.array([0.0]))
    assert get_activation(name).derivative(np.array([0.0]))[0] == expected[0]


def test_relu_derivative_at_zero_is_zero():
    assert get_activation("relu").derivative(np.array([0.0]))[0] == 0.0


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_in_numpy_out_same_dtype_and_shape(name, dtype):
    act = get_activation(name)
    x = np.linspace(-2, 2, 12, dtype=dtype).reshape(3, 4)
    for out in (act.fn(x), act.derivative(x)):
        assert isinstance(out, np.ndarray)
        assert out.shape == (3, 4)
        assert out.dtype == dtype


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tensor_in_tensor_out_same_dtype_and_shape(name, dtype):
    act = get_activation(name)
    x = torch.linspace(-2, 2, 12, dtype=dtype).reshape(3, 4)
    for out in (act.fn(x), act.derivative(x)):
        assert isinstance(out, torch.Tensor)
        assert out.shape == (3, 4)
        assert out.dtype == dtype


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_fn_on_tensors_is_differentiable(name):
    # fn must keep the autograd graph so chapters can differentiate through it.
    x = torch.tensor(POINTS, requires_grad=True)
    (grad,) = torch.autograd.grad(get_activation(name).fn(x).sum(), x)
    np.testing.assert_allclose(grad.numpy(), autograd_derivative(name, POINTS), rtol=1e-12)


def test_numpy_integer_input_is_computed_in_float():
    out = get_activation("sigmoid").fn(np.array([0, 1, 2]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-np.array([0.0, 1.0, 2.0]))))


def test_sigmoid_does_not_overflow_at_1000():
    sigmoid = get_activation("sigmoid")
    x = np.array([-1000.0, -710.0, 0.0, 710.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        s = sigmoid.fn(x)
        d = sigmoid.derivative(x)
    np.testing.assert_array_equal(s[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(d))
    np.testing.assert_array_equal(d[[0, 4]], [0.0, 0.0])


def test_sigmoid_no_warning_at_1000(recwarn):
    get_activation("sigmoid").fn(np.array([-1000.0, 1000.0], dtype=np.float32))
    get_activation("elu").fn(np.array([1000.0]))
    assert len(recwarn) == 0


def test_sigmoid_maximum_derivative_is_quarter_at_zero():
    sigmoid = get_activation("sigmoid")
    x = np.linspace(-10, 10, 20001)
    d = sigmoid.derivative(x)
    assert d.max() == pytest.approx(0.25, abs=1e-15)
    assert x[d.argmax()] == pytest.approx(0.0, abs=1e-12)
    assert sigmoid.max_derivative == 0.25


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_max_derivative_is_the_supremum(name):
    act = get_activation(name)
    d = act.derivative(np.linspace(-20, 20, 40001))
    assert np.abs(d).max() == pytest.approx(act.max_derivative, rel=1e-6)


@pytest.mark.parametrize("name", ["linear", "sigmoid", "tanh", "relu", "leaky_relu"])
def test_gain_equals_calculate_gain(name):
    expected = torch.nn.init.calculate_gain(name, 0.01 if name == "leaky_relu" else None)
    assert get_activation(name).gain == pytest.approx(expected, rel=1e-15)


def test_elu_gain_is_documented_choice_because_torch_has_none():
    with pytest.raises(ValueError, match="Unsupported nonlinearity elu"):
        torch.nn.init.calculate_gain("elu")
    assert get_activation("elu").gain == 1.0


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_module_computes_fn_and_is_fresh(name):
    act = get_activation(name)
    m1, m2 = act.module(), act.module()
    assert isinstance(m1, torch.nn.Module) and m1 is not m2
    x = torch.tensor(POINTS)
    torch.testing.assert_close(m1(x), act.fn(x))


def test_module_types():
    types = {n: type(get_activation(n).module()).__name__ for n in ACTIVATION_NAMES}
    assert types == {
        "linear": "Identity",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "relu": "ReLU",
        "leaky_relu": "LeakyReLU",
        "elu": "ELU",
    }
    assert get_activation("leaky_relu").module().negative_slope == 0.01
    assert get_activation("elu").module().alpha == 1.0


def test_activation_is_frozen_and_passes_through():
    act = get_activation("tanh")
    assert isinstance(act, Activation)
    assert get_activation(act) is act
    with pytest.raises(AttributeError):
        act.name = "relu"  # type: ignore[misc]


def test_tanh_gain_closed_form():
    assert get_activation("tanh").gain == 5 / 3
    assert get_activation("relu").gain == math.sqrt(2)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"activation must be one of 'linear', 'sigmoid'.*'swish'"):
        get_activation("swish")


def test_non_string_name_is_type_error():
    with pytest.raises(TypeError, match=r"activation must be one of .*received 3"):
        get_activation(3)  # type: ignore[arg-type]


def test_bad_input_types():
    relu = get_activation("relu")
    with pytest.raises(TypeError, match=r"x must be a numpy.ndarray or a torch.Tensor"):
        relu.fn("1.0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"x must hold real numbers"):
        relu.derivative(np.array([1 + 2j]))
