"""Known-wrong answers for ps2_multiplicative_chains.

Each mutant replaces one answer cell of the solution notebook with a plausible student mistake;
the autograder tests require it to lose points on every test cell listed in ``fails``.
"""

_ACTIVATIONS = '''
    if activation == "relu":

        def phi(z):
            return np.maximum(z, 0.0)

        def dphi(z):
            return (z > 0).astype(float)

    elif activation == "tanh":

        def phi(z):
            return np.tanh(z)

        def dphi(z):
            return 1.0 - np.tanh(z) ** 2

    elif activation == "sigmoid":

        def phi(z):
            return 1.0 / (1.0 + np.exp(-z))

        def dphi(z):
            s = 1.0 / (1.0 + np.exp(-z))
            return s * (1.0 - s)

    else:
        raise ValueError(f"activation: unknown {activation!r}")
'''

_BACKPROP_HEAD = '''
def backprop_chain(weights, x, y, activation):
    """Return [dL/dW_0, ..., dL/dW_{L-1}] for L = sum((yhat - y)**2), computed by hand."""
''' + _ACTIVATIONS + '''
    inputs, pre = [], []
    h = np.asarray(x, dtype=float)
    for layer, w in enumerate(weights):
        inputs.append(h)
        z = h @ w
        pre.append(z)
        h = phi(z) if layer < len(weights) - 1 else z
'''

_JACOBIAN_HEAD = '''
def input_output_jacobian(weights, x, activation):
    """Return the Jacobian d yhat / d x, of shape (n_L, n_0), for one example x of shape (n_0,)."""
''' + _ACTIVATIONS

MUTANTS = [
    # ---------------------------------------------------------------- backprop_chain
    {
        "name": "backprop_transposed_weight",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_relu", "test_backprop_chain_tanh_sigmoid"],
        "source": _BACKPROP_HEAD + '''
    g = 2.0 * (h - y)
    grads = [None] * len(weights)
    for layer in reversed(range(len(weights))):
        grads[layer] = inputs[layer].T @ g
        if layer > 0:
            g = (g @ weights[layer]) * dphi(pre[layer - 1])  # Mistake: W_l instead of W_l^T
    return grads
''',
    },
    {
        "name": "backprop_derivative_wrong_layer",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_relu", "test_backprop_chain_tanh_sigmoid"],
        "source": _BACKPROP_HEAD + '''
    g = 2.0 * (h - y)
    grads = [None] * len(weights)
    for layer in reversed(range(len(weights))):
        grads[layer] = inputs[layer].T @ g
        if layer > 0:
            # Mistake: phi' at this layer's pre-activation z_l instead of the one below, z_{l-1}.
            g = (g @ weights[layer].T) * dphi(pre[layer])
    return grads
''',
    },
    {
        "name": "backprop_missing_factor_two",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_linear_layer", "test_backprop_chain_relu",
                  "test_backprop_chain_tanh_sigmoid"],
        "source": _BACKPROP_HEAD + '''
    g = h - y  # Mistake: d/dyhat of (yhat - y)**2 is 2 (yhat - y)
    grads = [None] * len(weights)
    for layer in reversed(range(len(weights))):
        grads[layer] = inputs[layer].T @ g
        if layer > 0:
            g = (g @ weights[layer].T) * dphi(pre[layer - 1])
    return grads
''',
    },
    {
        "name": "backprop_derivative_from_output",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_tanh_sigmoid"],
        "source": _BACKPROP_HEAD + '''
    g = 2.0 * (h - y)
    grads = [None] * len(weights)
    for layer in reversed(range(len(weights))):
        grads[layer] = inputs[layer].T @ g
        if layer > 0:
            # Mistake: phi' evaluated at the activation's output h_l = phi(z_{l-1}), not at z.
            g = (g @ weights[layer].T) * dphi(inputs[layer])
    return grads
''',
    },
    {
        "name": "backprop_mean_not_sum",
        "cell": "backprop_chain",
        "fails": ["test_backprop_chain_linear_layer", "test_backprop_chain_relu",
                  "test_backprop_chain_tanh_sigmoid"],
        "source": _BACKPROP_HEAD + '''
    g = 2.0 * (h - y) / h.shape[0]  # Mistake: the gradient of the mean, not of the sum
    grads = [None] * len(weights)
    for layer in reversed(range(len(weights))):
        grads[layer] = inputs[layer].T @ g
        if layer > 0:
            g = (g @ weights[layer].T) * dphi(pre[layer - 1])
    return grads
''',
    },
    # ---------------------------------------------------------------- input_output_jacobian
    {
        "name": "jacobian_transposed",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_shape", "test_input_output_jacobian_autograd"],
        "source": _JACOBIAN_HEAD + '''
    # Mistake: multiplies W_0 D_0 W_1 ... in forward order, which gives d yhat / d x transposed.
    h = np.asarray(x, dtype=float)
    jac = np.eye(h.shape[0])
    for layer, w in enumerate(weights):
        z = h @ w
        jac = jac @ w
        if layer < len(weights) - 1:
            jac = jac * dphi(z)[None, :]
            h = phi(z)
    return jac
''',
    },
    {
        "name": "jacobian_derivative_wrong_layer",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_autograd"],
        "source": _JACOBIAN_HEAD + '''
    h = np.asarray(x, dtype=float)
    jac = np.eye(h.shape[0])
    for layer, w in enumerate(weights):
        z = h @ w
        jac = w.T @ jac
        # Mistake: diag(phi'(z_l)) for every layer but the first, instead of every layer but
        # the last (the output layer has no activation).
        if layer > 0:
            jac = dphi(z)[:, None] * jac
        h = phi(z)
    return jac
''',
    },
    {
        "name": "jacobian_derivative_from_output",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_autograd"],
        "source": _JACOBIAN_HEAD + '''
    h = np.asarray(x, dtype=float)
    jac = np.eye(h.shape[0])
    for layer, w in enumerate(weights):
        z = h @ w
        jac = w.T @ jac
        if layer < len(weights) - 1:
            h = phi(z)
            jac = dphi(h)[:, None] * jac  # Mistake: phi' at the output h = phi(z), not at z
    return jac
''',
    },
    {
        "name": "jacobian_no_activation_derivative",
        "cell": "input_output_jacobian",
        "fails": ["test_input_output_jacobian_autograd"],
        "source": _JACOBIAN_HEAD + '''
    # Mistake: multiplies the weights only, as if the network were linear.
    jac = np.eye(np.asarray(x).shape[0])
    for w in weights:
        jac = w.T @ jac
    return jac
''',
    },
    # ---------------------------------------------------------------- growth_factor
    {
        "name": "growth_relu_missing_half",
        "cell": "growth_factor",
        "fails": ["test_growth_factor"],
        "source": '''
def growth_factor(std, width, activation):
    """Predicted factor by which one layer multiplies the gradient's variance."""
    if activation not in ("linear", "relu", "tanh"):
        raise ValueError(f"activation: unknown {activation!r}")
    return width * std**2  # Mistake: forgets that ReLU passes the gradient for half the units
''',
    },
    {
        "name": "growth_std_not_squared",
        "cell": "growth_factor",
        "fails": ["test_growth_factor"],
        "source": '''
def growth_factor(std, width, activation):
    """Predicted factor by which one layer multiplies the gradient's variance."""
    mean_sq_derivative = {"linear": 1.0, "relu": 0.5, "tanh": 1.0}
    return width * std * mean_sq_derivative[activation]  # Mistake: std, not the variance std**2
''',
    },
    {
        "name": "growth_tanh_quarter",
        "cell": "growth_factor",
        "fails": ["test_growth_factor"],
        "source": '''
def growth_factor(std, width, activation):
    """Predicted factor by which one layer multiplies the gradient's variance."""
    # Mistake: uses sigmoid's derivative at 0 (1/4) for tanh.
    mean_sq_derivative = {"linear": 1.0, "relu": 0.5, "tanh": 0.25}
    return width * std**2 * mean_sq_derivative[activation]
''',
    },
    # ---------------------------------------------------------------- critical_std
    {
        "name": "critical_relu_inverted_factor",
        "cell": "critical_std",
        "fails": ["test_critical_std"],
        "source": '''
def critical_std(width, activation):
    """The weight std for which growth_factor(std, width, activation) is exactly 1."""
    factor = {"linear": 1.0, "relu": 2.0, "tanh": 1.0}[activation]  # Mistake: 2 instead of 1/2
    return 1.0 / np.sqrt(width * factor)
''',
    },
    {
        "name": "critical_missing_sqrt",
        "cell": "critical_std",
        "fails": ["test_critical_std"],
        "source": '''
def critical_std(width, activation):
    """The weight std for which growth_factor(std, width, activation) is exactly 1."""
    factor = {"linear": 1.0, "relu": 0.5, "tanh": 1.0}[activation]
    return 1.0 / (width * factor)  # Mistake: solves width * std * factor = 1 (no square)
''',
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
]
