"""vgcourse.grading: the checks pass on correct values, fail with actionable messages, and
never write to stdout or stderr (nbgrader scores a test cell with stderr output as zero)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from vgcourse.grading import check_close, check_equal, check_finite, check_shape, check_type


@pytest.fixture(autouse=True)
def silent(capfd):
    """Every test in this module must leave stdout and stderr empty, and raise no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_check_close_passes_within_tolerance():
    check_close(np.array([0.5, 0.25]), [0.5, 0.25], "sigmoid(x)")
    check_close(torch.tensor([1.0, 2.0], requires_grad=True), np.array([1.0, 2.0]), "y")
    check_close(1.0 + 1e-9, 1.0, "x")
    check_close([np.ones(2), np.zeros((2, 2))], [np.ones(2), np.zeros((2, 2))], "grads")
    check_close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), "nan where expected")


def test_check_close_reports_first_difference_received_expected_and_tolerance():
    with pytest.raises(AssertionError) as info:
        check_close(np.array([0.5, 0.3, 0.1]), [0.5, 0.25, 0.1], "sigmoid(x)")
    message = str(info.value)
    assert message.startswith("sigmoid(x): 1 of 3 entries differ from the expected values.")
    assert "the first at index (1,): received 0.3, expected 0.25" in message
    assert "difference 0.05" in message and "allowed" in message


def test_check_close_scalar_shape_and_none_messages():
    with pytest.raises(
        AssertionError, match=r"(?s)^x: 1 of 1 entries differ.*the value: received 2, expected 1"
    ):
        check_close(2.0, 1.0, "x")
    with pytest.raises(
        AssertionError, match=r"dW: expected shape \(2, 3\), received shape \(3, 2\)"
    ):
        check_close(np.zeros((3, 2)), np.zeros((2, 3)), "dW")
    with pytest.raises(AssertionError, match=r"did the function forget to `return`"):
        check_close(None, 1.0, "f(x)")
    with pytest.raises(AssertionError, match=r"expected numbers .* received str 'abc'"):
        check_close("abc", 1.0, "f(x)")


def test_check_close_non_finite_points_at_overflow():
    with pytest.raises(
        AssertionError, match=r"sigmoid\(x\): 1 of 2 entries are not finite.*overflow"
    ):
        check_close(np.array([np.inf, 0.5]), [1.0, 0.5], "sigmoid(x)")


def test_check_close_lists_of_arrays():
    with pytest.raises(AssertionError, match=r"grads\[1\]: 1 of 2 entries differ"):
        check_close([np.ones(2), np.array([0.0, 1.0])], [np.ones(2), np.zeros(2)], "grads")
    with pytest.raises(AssertionError, match=r"grads: expected a list of 2 entries, received 1"):
        check_close([np.ones(2)], [np.ones(2), np.zeros(2)], "grads")
    with pytest.raises(AssertionError, match=r"grads: expected a list of 2 arrays"):
        check_close(np.ones(2), [np.ones(2), np.zeros(2)], "grads")


def test_check_close_tolerances():
    check_close(1.001, 1.0, "x", rtol=1e-2)
    with pytest.raises(AssertionError):
        check_close(1.001, 1.0, "x")


# The documented tolerance: |actual - expected| <= atol + rtol * |expected|, with the defaults
# rtol=1e-6, atol=1e-8: for an expected 1.0 the allowed difference is 1.01e-6.
@pytest.mark.parametrize("expected", [1.0, -1.0, 250.0])
def test_check_close_default_tolerance_at_its_boundary(expected):
    allowed = 1e-8 + 1e-6 * abs(expected)
    check_close(expected + 0.97 * allowed, expected, "x")
    check_close(expected - 0.97 * allowed, expected, "x")
    with pytest.raises(AssertionError, match="^x: 1 of 1 entries differ"):
        check_close(expected + 1.03 * allowed, expected, "x")
    with pytest.raises(AssertionError, match="^x: 1 of 1 entries differ"):
        check_close(expected - 1.03 * allowed, expected, "x")


def test_check_close_tolerance_is_relative_to_the_expected_value_not_the_received():
    # expected 1.0, rtol 0.6, atol 0: at most 0.6 away. Relative to the received 2.0 (1.2)
    # the first would pass; relative to the received 0.45 (0.27) the second would fail.
    with pytest.raises(AssertionError, match="^x: 1 of 1 entries differ"):
        check_close(2.0, 1.0, "x", rtol=0.6, atol=0.0)
    check_close(0.45, 1.0, "x", rtol=0.6, atol=0.0)
    # arrays: each entry against its own expected value
    with pytest.raises(AssertionError, match=r"the first at index \(1,\)"):
        check_close(np.array([1.5, 3.0]), np.array([1.0, 1.0]), "v", rtol=0.6, atol=0.0)
    check_close(np.array([1.5, 1.55]), np.array([1.0, 1.0]), "v", rtol=0.6, atol=0.0)


def test_check_close_atol_alone_is_absolute():
    check_close(0.0 + 0.97e-3, 0.0, "x", rtol=0.0, atol=1e-3)
    with pytest.raises(AssertionError, match="^x: 1 of 1 entries differ"):
        check_close(0.0 + 1.03e-3, 0.0, "x", rtol=0.0, atol=1e-3)


def test_check_equal():
    check_equal(7, 7, "n")
    check_equal(np.array([1, 2]), [1, 2], "labels")
    with pytest.raises(AssertionError, match=r"^n: expected 7, received 6\.$"):
        check_equal(6, 7, "n")
    with pytest.raises(
        AssertionError, match=r"labels: 1 of 2 entries differ; first at index \(1,\)"
    ):
        check_equal(np.array([1, 3]), [1, 2], "labels")
    with pytest.raises(
        AssertionError, match=r"labels: expected shape \(2,\), received shape \(3,\)"
    ):
        check_equal(np.array([1, 2, 3]), [1, 2], "labels")


def test_check_shape():
    check_shape(torch.zeros(2, 3), (2, 3), "h")
    with pytest.raises(
        AssertionError, match=r"h: expected shape \(2, 3\), received shape \(3, 2\)"
    ):
        check_shape(np.zeros((3, 2)), (2, 3), "h")
    with pytest.raises(
        AssertionError, match=r"h: expected an array of shape \(2, 3\), received list"
    ):
        check_shape([1, 2], (2, 3), "h")


def test_check_type():
    check_type(np.zeros(2), np.ndarray, "out")
    check_type(torch.zeros(2), (np.ndarray, torch.Tensor), "out")
    with pytest.raises(AssertionError, match=r"out: expected a ndarray or Tensor, received list"):
        check_type([1.0], (np.ndarray, torch.Tensor), "out")
    with pytest.raises(AssertionError, match=r"out: expected a float, received int 3"):
        check_type(3, float, "out")


def test_check_finite():
    check_finite(np.array([1.0, -2.0]), "loss")
    with pytest.raises(AssertionError, match=r"loss: 1 of 1 entries are not finite"):
        check_finite(float("nan"), "loss")
    with pytest.raises(
        AssertionError, match=r"loss: 2 of 3 entries are not finite \(first at index \(1,\)"
    ):
        check_finite(np.array([1.0, np.nan, np.inf]), "loss")
