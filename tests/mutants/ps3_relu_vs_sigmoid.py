"""Known-wrong answers for ps3_relu_vs_sigmoid (format: CONTRIBUTING.md)."""

MUTANTS = [
    # ------------------------------------------------------------------ relu
    {
        "name": "relu_modifies_input",
        "cell": "relu",
        "fails": ["test_relu"],
        "source": '''
def relu(x):
    """Return max(0, x) elementwise as a new float array; `x` itself is left unchanged."""
    x[x < 0] = 0.0
    return x
''',
    },
    {
        "name": "relu_leaky",
        "cell": "relu",
        "fails": ["test_relu"],
        "replace": [('return np.maximum(x, 0.0)', 'return np.where(x > 0, x, 0.01 * x)')],
    },
    {
        # np.where(x > 0, x, 0) looks like max(0, x) but turns NaN into 0 (NaN > 0 is False)
        "name": "relu_where_hides_nan",
        "cell": "relu",
        "fails": ["test_relu"],
        "replace": [('return np.maximum(x, 0.0)', 'return np.where(x > 0, x, 0.0)')],
    },
    # ------------------------------------------------------------------ relu_derivative
    {
        "name": "relu_derivative_one_at_zero",
        "cell": "relu_derivative",
        "fails": ["test_relu_derivative"],
        "replace": [('return (x > 0).astype(float)', 'return (x >= 0).astype(float)')],
    },
    {
        "name": "relu_derivative_sign",
        "cell": "relu_derivative",
        "fails": ["test_relu_derivative"],
        "replace": [('return (x > 0).astype(float)', 'return np.sign(x)')],
    },
    # ------------------------------------------------------------------ mlp_step
    {
        # the first hidden layer's gradient is masked with the SECOND layer's ReLU pattern
        "name": "mlp_step_relu_mask_wrong_layer",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu"],
        "replace": [('dh1 = (dh2 @ W2.T) * f_prime(h1)', 'dh1 = (dh2 @ W2.T) * f_prime(h2)')],
    },
    {
        # sigma'(z) written as z * (1 - z) with the pre-activation z instead of the output h
        "name": "mlp_step_sigmoid_derivative_from_preactivation",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_sigmoid"],
        "replace": [
            (
                'dh2 = (dscores @ W3.T) * f_prime(h2)',
                'dh2 = (dscores @ W3.T) * f_prime(h1 @ W2 + b2)',
            ),
            ('dh1 = (dh2 @ W2.T) * f_prime(h1)', 'dh1 = (dh2 @ W2.T) * f_prime(X @ W1 + b1)'),
        ],
    },
    {
        "name": "mlp_step_no_reg_in_gradient",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu", "test_mlp_step_sigmoid"],
        "replace": [
            ('dW3 = h2.T @ dscores + reg * W3', 'dW3 = h2.T @ dscores'),
            ('dW2 = h1.T @ dh2 + reg * W2', 'dW2 = h1.T @ dh2'),
            ('dW1 = X.T @ dh1 + reg * W1', 'dW1 = X.T @ dh1'),
        ],
    },
    {
        # the seed's softmax: np.exp of raw scores overflows (or gives 0/0) on large scores
        "name": "mlp_step_softmax_without_max_shift",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_stable"],
        "replace": [('shifted = scores - scores.max(axis=1, keepdims=True)', 'shifted = scores')],
    },
    {
        "name": "mlp_step_not_divided_by_n",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu", "test_mlp_step_sigmoid"],
        "replace": [('dscores[rows, y] -= 1.0\n    dscores /= n', 'dscores[rows, y] -= 1.0')],
    },
    {
        # returns the gradients but never updates params
        "name": "mlp_step_no_update",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_shapes", "test_mlp_step_relu", "test_mlp_step_sigmoid"],
        "replace": [('params[key] -= grad * lr', 'pass')],
    },
    {
        # the ReLU mask taken with >= 0 on the output h (always true): no mask at all
        "name": "mlp_step_relu_mask_ge",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu"],
        "replace": [('return (h > 0).astype(float)', 'return (h >= 0).astype(float)')],
    },
    {
        # rebinds each dict entry to a new array: the caller's own arrays are never updated
        "name": "mlp_step_rebinds_params",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_shapes", "test_mlp_step_relu", "test_mlp_step_sigmoid"],
        "replace": [('params[key] -= grad * lr', 'params[key] = params[key] - grad * lr')],
    },
    # ------------------------------------------------------------------ gradient_magnitude
    {
        "name": "gradient_magnitude_mean",
        "cell": "gradient_magnitude",
        "fails": ["test_gradient_magnitude"],
        "replace": [
            (
                'return float(np.abs(dW).sum() / np.sum(dW.shape))',
                'return float(np.mean(np.abs(dW)))',
            ),
        ],
    },
    {
        "name": "gradient_magnitude_without_abs",
        "cell": "gradient_magnitude",
        "fails": ["test_gradient_magnitude"],
        "replace": [
            (
                'return float(np.abs(dW).sum() / np.sum(dW.shape))',
                'return float(np.sum(dW) / np.sum(dW.shape))',
            ),
        ],
    },
    {
        "name": "gradient_magnitude_norm",
        "cell": "gradient_magnitude",
        "fails": ["test_gradient_magnitude"],
        "replace": [
            (
                'return float(np.abs(dW).sum() / np.sum(dW.shape))',
                'return float(np.linalg.norm(dW) / np.sum(dW.shape))',
            ),
        ],
    },
    # ------------------------------------------------------------------ dead_fraction
    {
        # the fraction of zero entries, not of units that are zero for every example
        "name": "dead_fraction_zero_entries",
        "cell": "dead_fraction",
        "fails": ["test_dead_fraction"],
        "replace": [
            (
                'return float(np.all(hidden == 0, axis=0).mean())',
                'return float(np.mean(hidden == 0))',
            ),
        ],
    },
    {
        # a unit counted dead as soon as it is zero for ONE example
        "name": "dead_fraction_any_zero",
        "cell": "dead_fraction",
        "fails": ["test_dead_fraction"],
        "replace": [
            (
                'return float(np.all(hidden == 0, axis=0).mean())',
                'return float(np.any(hidden == 0, axis=0).mean())',
            ),
        ],
    },
    {
        # examples and units swapped: the fraction of examples on which every unit is zero
        "name": "dead_fraction_wrong_axis",
        "cell": "dead_fraction",
        "fails": ["test_dead_fraction"],
        "replace": [
            (
                'return float(np.all(hidden == 0, axis=0).mean())',
                'return float(np.all(hidden == 0, axis=1).mean())',
            ),
        ],
    },
    {
        # the shape check catches a 1-D batch but lets a 3-D one through
        "name": "dead_fraction_checks_1d_only",
        "cell": "dead_fraction",
        "fails": ["test_dead_fraction"],
        "replace": [('if hidden.ndim != 2:', 'if hidden.ndim < 2:')],
    },
]
