"""Known-wrong answers for ps2_multiplicative_chains (format: CONTRIBUTING.md)."""

MUTANTS = [
    # ---------------------------------------------------------------- backprop_chain
    {
        "name": "backprop_transposed_weight",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_relu", "test_backprop_chain_tanh_sigmoid"],
        "replace": [
            (
                'g = (g @ weights[layer].T) * dphi(pre[layer - 1])',
                'g = (g @ weights[layer]) * dphi(pre[layer - 1])  # Mistake: W_l instead of W_l^T',
            ),
        ],
    },
    {
        "name": "backprop_derivative_wrong_layer",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_relu", "test_backprop_chain_tanh_sigmoid"],
        "replace": [
            (
                'g = (g @ weights[layer].T) * dphi(pre[layer - 1])',
                "# Mistake: phi' at this layer's pre-activation z_l instead of the one below, "
                'z_{l-1}.\n'
                '            g = (g @ weights[layer].T) * dphi(pre[layer])',
            ),
        ],
    },
    {
        "name": "backprop_missing_factor_two",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_linear_layer", "test_backprop_chain_relu",
                  "test_backprop_chain_tanh_sigmoid"],
        "replace": [
            (
                'g = 2.0 * (h - np.asarray(y, dtype=float))',
                'g = h - y  # Mistake: d/dyhat of (yhat - y)**2 is 2 (yhat - y)',
            ),
        ],
    },
    {
        "name": "backprop_derivative_from_output",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_tanh_sigmoid"],
        "replace": [
            (
                'g = (g @ weights[layer].T) * dphi(pre[layer - 1])',
                "# Mistake: phi' evaluated at the activation's output h_l = phi(z_{l-1}), not at "
                'z.\n'
                '            g = (g @ weights[layer].T) * dphi(inputs[layer])',
            ),
        ],
    },
    {
        "name": "backprop_mean_not_sum",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_linear_layer", "test_backprop_chain_relu",
                  "test_backprop_chain_tanh_sigmoid"],
        "replace": [
            (
                'g = 2.0 * (h - np.asarray(y, dtype=float))',
                'g = 2.0 * (h - y) / h.shape[0]  # Mistake: the gradient of the mean, not of the '
                'sum',
            ),
        ],
    },
    {
        "name": "backprop_subtracts_into_y",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_linear_layer"],
        "replace": [
            (
                'g = 2.0 * (h - np.asarray(y, dtype=float))',
                'g = 2.0 * np.subtract(h, y, out=y)  # Mistake: saves memory by overwriting y',
            ),
        ],
    },
    # ---------------------------------------------------------------- input_output_jacobian
    {
        "name": "jacobian_transposed",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_shape", "test_input_output_jacobian_autograd"],
        "replace": [
            (
                "jac = dphi(z)[:, None] * jac  # diag(phi'(z_l)) d z_l / d x",
                'jac = jac * dphi(z)[None, :]',
            ),
            ('jac = w.T @ jac  # d z_l / d x', 'jac = jac @ w'),
        ],
    },
    {
        "name": "jacobian_derivative_wrong_layer",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_autograd"],
        "replace": [
            (
                'if layer < len(weights) - 1:\n'
                "            jac = dphi(z)[:, None] * jac  # diag(phi'(z_l)) d z_l / d x\n"
                '            h = phi(z)',
                'if layer > 0:  # Mistake: every layer but the first, not every layer but the '
                'last\n'
                '            jac = dphi(z)[:, None] * jac\n'
                '        h = phi(z)',
            ),
        ],
    },
    {
        "name": "jacobian_derivative_from_output",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_autograd"],
        "replace": [
            (
                "jac = dphi(z)[:, None] * jac  # diag(phi'(z_l)) d z_l / d x\n"
                '            h = phi(z)',
                'h = phi(z)\n'
                "            jac = dphi(h)[:, None] * jac  # Mistake: phi' at the output h = "
                'phi(z)',
            ),
        ],
    },
    {
        "name": "jacobian_no_activation_derivative",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_autograd"],
        "replace": [
            (
                "            jac = dphi(z)[:, None] * jac  # diag(phi'(z_l)) d z_l / d x\n",
                '',
            ),
        ],
    },
    # ---------------------------------------------------------------- growth_factor
    {
        "name": "growth_relu_missing_half",
        "cell": "growth_factor",
        "fails": ["test_growth_factor"],
        "replace": [('"relu": 0.5', '"relu": 1.0')],
    },
    {
        "name": "growth_std_not_squared",
        "cell": "growth_factor",
        "fails": ["test_growth_factor"],
        "replace": [
            (
                'return width * std**2 * mean_sq_derivative[activation]',
                'return width * std * mean_sq_derivative[activation]  # Mistake: std, not the '
                'variance',
            ),
        ],
    },
    {
        "name": "growth_tanh_quarter",
        "cell": "growth_factor",
        "fails": ["test_growth_factor"],
        "replace": [('"tanh": 1.0}', '"tanh": 0.25}  # Mistake: sigmoid\'s 1/4 for tanh')],
    },
    {
        "name": "growth_unknown_activation_counts_as_linear",
        "cell": "growth_factor",
        "fails": ["test_growth_factor"],
        "replace": [
            (
                '    if activation not in mean_sq_derivative:\n'
                '        raise ValueError(\n'
                '            f"activation: expected \'linear\', \'relu\' or \'tanh\', received '
                '{activation!r}"\n'
                '        )\n'
                '    return width * std**2 * mean_sq_derivative[activation]',
                '    # Mistake: any other activation silently gets the linear factor 1\n'
                '    return width * std**2 * mean_sq_derivative.get(activation, 1.0)',
            ),
        ],
    },
    # ---------------------------------------------------------------- critical_std
    {
        "name": "critical_relu_inverted_factor",
        "cell": "critical_std",
        "fails": ["test_critical_std"],
        "replace": [('"relu": 0.5', '"relu": 2.0')],
    },
    {
        "name": "critical_missing_sqrt",
        "cell": "critical_std",
        "fails": ["test_critical_std"],
        "replace": [
            (
                'return float(1.0 / np.sqrt(width * mean_sq_derivative[activation]))',
                'return float(1.0 / (width * mean_sq_derivative[activation]))  # Mistake: no '
                'square root',
            ),
        ],
    },
    {
        "name": "critical_tanh_uses_torch_gain",
        "cell": "critical_std",
        "fails": ["test_critical_std"],
        "source": '''
def critical_std(width, activation):
    """The weight std for which growth_factor(std, width, activation) is exactly 1."""
    # Mistake: torch's recommended tanh gain (5/3) is not the point where the factor is 1.
    gain = {"linear": 1.0, "relu": np.sqrt(2.0), "tanh": 5.0 / 3.0}[activation]
    return gain / np.sqrt(width)
''',
    },
    # ---------------------------------------------------------------- fixed_point_growth
    {
        "name": "fixed_point_squares_the_mean_derivative",
        "cell": "fixed_point_growth",
        "fails": ["test_fixed_point_growth"],
        # Mistake: E[phi'(z)]**2 instead of E[phi'(z)**2].
        "replace": [("np.sum(weights * dphi(np.sqrt(q) * nodes) ** 2)",
                     "np.sum(weights * dphi(np.sqrt(q) * nodes)) ** 2")],
    },
    {
        "name": "fixed_point_one_step_of_the_map",
        "cell": "fixed_point_growth",
        "fails": ["test_fixed_point_growth"],
        # Mistake: applies the variance map once (q_1 from q_0 = 1) instead of iterating it.
        "replace": [("for _ in range(10_000):", "for _ in range(1):")],
    },
    {
        "name": "fixed_point_variance_used_as_std",
        "cell": "fixed_point_growth",
        "fails": ["test_fixed_point_growth"],
        # Mistake: scales the standard normal nodes by the variance q instead of sqrt(q).
        "replace": [("weights * phi(np.sqrt(q) * nodes)", "weights * phi(q * nodes)"),
                    ("weights * dphi(np.sqrt(q) * nodes)", "weights * dphi(q * nodes)")],
    },
    {
        "name": "fixed_point_small_weight_chi",
        "cell": "fixed_point_growth",
        "fails": ["test_fixed_point_growth"],
        # Mistake: returns the small-weight approximation chi = n std^2 at the fixed point.
        "replace": [("return float(q), float(chi)", "return float(q), float(gain2)")],
    },
    # ---------------------------------------------------------------- numerical_gradient
    {
        "name": "numgrad_forward_difference",
        "cell": "numerical_gradient",
        "fails": ["test_numerical_gradient", "test_gradient_check"],
        "replace": [("        flat[i] = saved - h\n        minus = float(f(theta))",
                     "        flat[i] = saved\n        minus = float(f(theta))"),
                    ("out[i] = (plus - minus) / (2 * h)", "out[i] = (plus - minus) / h")],
    },
    {
        "name": "numgrad_float32",
        "cell": "numerical_gradient",
        "fails": ["test_numerical_gradient", "test_gradient_check"],
        "replace": [("theta = np.array(w, dtype=np.float64)",
                     "theta = np.array(w, dtype=np.float32)")],
    },
    {
        "name": "numgrad_missing_half",
        "cell": "numerical_gradient",
        "fails": ["test_numerical_gradient", "test_gradient_check"],
        "replace": [("out[i] = (plus - minus) / (2 * h)", "out[i] = (plus - minus) / h")],
    },
    {
        "name": "numgrad_perturbs_w_without_restoring",
        "cell": "numerical_gradient",
        "fails": ["test_numerical_gradient"],
        "replace": [("theta = np.array(w, dtype=np.float64)", "theta = w"),
                    ("        flat[i] = saved\n        out[i]", "        out[i]")],
    },
    # ---------------------------------------------------------------- relative_error
    {
        "name": "relerr_divides_by_analytic",
        "cell": "relative_error",
        "fails": ["test_relative_error"],
        "replace": [("scale = np.maximum(np.abs(a), np.abs(n))", "scale = np.abs(a)")],
    },
    {
        "name": "relerr_mean_not_max",
        "cell": "relative_error",
        "fails": ["test_relative_error"],
        "replace": [("return float(ratio.max())", "return float(ratio.mean())")],
    },
    {
        "name": "relerr_shape_checked_by_size",
        "cell": "relative_error",
        "fails": ["test_relative_error"],
        "replace": [("if a.shape != n.shape:", "if a.size != n.size:")],
    },
    # ---------------------------------------------------------------- gradient_check
    {
        "name": "gradcheck_mean_loss",
        "cell": "gradient_check",
        "fails": ["test_gradient_check", "test_gradient_check_kink"],
        "replace": [("return np.sum((out - y) ** 2)", "return np.mean((out - y) ** 2)")],
    },
    {
        "name": "gradcheck_activation_after_last_layer",
        "cell": "gradient_check",
        "fails": ["test_gradient_check", "test_gradient_check_kink"],
        "replace": [("out = phi(z) if layer < len(ws) - 1 else z", "out = phi(z)")],
    },
    {
        "name": "gradcheck_length_checked_one_way",
        "cell": "gradient_check",
        "fails": ["test_gradient_check"],
        "replace": [("if len(grads) != len(weights):", "if len(grads) < len(weights):")],
    },
]
