"""Known-wrong answers for ps1_sigmoid_decay (format: CONTRIBUTING.md)."""

MUTANTS = [
    # ------------------------------------------------------------------ sigmoid
    {
        "name": "sigmoid_overflows",
        "cell": "sigmoid",
        "fails": ["test_sigmoid_overflow"],
        "replace": [
            (
                'e = np.exp(-np.abs(x))\n'
                '    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))',
                'return 1.0 / (1.0 + np.exp(-x))',
            ),
        ],
    },
    {
        "name": "sigmoid_where_evaluates_both_branches",
        "cell": "sigmoid",
        "fails": ["test_sigmoid_overflow"],
        "replace": [
            (
                'e = np.exp(-np.abs(x))\n'
                '    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))',
                'return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))',
            ),
        ],
    },
    {
        "name": "sigmoid_tanh_identity_loses_tails",
        "cell": "sigmoid",
        "fails": ["test_sigmoid"],
        "replace": [
            (
                'return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))',
                'return 0.5 * (1.0 + np.tanh(x / 2.0))',
            ),
        ],
    },
    {
        "name": "sigmoid_clips_input",
        "cell": "sigmoid",
        "fails": ["test_sigmoid", "test_sigmoid_overflow"],
        "replace": [
            (
                'x = np.asarray(x, dtype=np.float64)',
                'x = np.clip(np.asarray(x, dtype=np.float64), -500.0, 500.0)',
            ),
            (
                'return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))',
                'return 1.0 / (1.0 + np.exp(-x))',
            ),
        ],
    },
    {
        "name": "sigmoid_sign_flipped",
        "cell": "sigmoid",
        "fails": ["test_sigmoid", "test_sigmoid_overflow"],
        "replace": [
            (
                'return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))',
                'return np.where(x < 0, 1.0 / (1.0 + e), e / (1.0 + e))',
            ),
        ],
    },
    {
        # Mistake: takes |x| in place to save memory, so the caller's array is overwritten
        "name": "sigmoid_abs_in_place",
        "cell": "sigmoid",
        "fails": ["test_sigmoid"],
        "replace": [
            (
                'e = np.exp(-np.abs(x))\n'
                '    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))',
                'positive = x >= 0\n'
                '    np.abs(x, out=x)\n'
                '    e = np.exp(-x)\n'
                '    return np.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))',
            ),
        ],
    },
    {
        # Mistake: "cleans" the input, so NaN becomes 0 and sigmoid(NaN) a plausible 0.5
        "name": "sigmoid_nan_to_num",
        "cell": "sigmoid",
        "fails": ["test_sigmoid_overflow"],
        "replace": [
            (
                'x = np.asarray(x, dtype=np.float64)',
                'x = np.nan_to_num(np.asarray(x, dtype=np.float64))',
            ),
        ],
    },
    # ------------------------------------------------------------------ sigmoid_derivative
    {
        "name": "derivative_expects_activation",
        "cell": "sigmoid_derivative",
        "fails": ["test_sigmoid_derivative", "test_sigmoid_derivative_tails"],
        "replace": [('s = sigmoid(x)\n    return s * (1.0 - s)', 'return x * (1 - x)')],
    },
    {
        "name": "derivative_overflows",
        "cell": "sigmoid_derivative",
        "fails": ["test_sigmoid_derivative_tails"],
        "replace": [
            (
                's = sigmoid(x)\n'
                '    return s * (1.0 - s)',
                'return np.exp(-x) / (1.0 + np.exp(-x)) ** 2',
            ),
        ],
    },
    {
        "name": "derivative_tanh_formula",
        "cell": "sigmoid_derivative",
        "fails": ["test_sigmoid_derivative", "test_sigmoid_derivative_tails"],
        "replace": [('return s * (1.0 - s)', 'return 1.0 - s**2')],
    },
    {
        "name": "derivative_of_activation_applied_twice",
        "cell": "sigmoid_derivative",
        "fails": ["test_sigmoid_derivative"],
        "replace": [('return s * (1.0 - s)', 'return sigmoid(s) * (1.0 - sigmoid(s))')],
    },
    {
        # Mistake: writes the result into the caller's array to save an allocation
        "name": "derivative_writes_into_input",
        "cell": "sigmoid_derivative",
        "fails": ["test_sigmoid_derivative"],
        "replace": [('return s * (1.0 - s)', 'np.multiply(s, 1.0 - s, out=x)\n    return x')],
    },
    # ------------------------------------------------------------------ chain_factor
    {
        "name": "chain_factor_off_by_one",
        "cell": "chain_factor",
        "fails": ["test_chain_factor", "test_chain_factor_arrays"],
        "replace": [('** np.asarray(n)', '** (np.asarray(n) + 1)')],
    },
    {
        "name": "chain_factor_loop_over_int_n",
        "cell": "chain_factor",
        "fails": ["test_chain_factor_arrays"],
        "source": '''
def chain_factor(x, n):
    """Return the product of `n` sigmoid derivatives evaluated at `x`: sigma'(x) ** n."""
    result = 1.0
    for _ in range(n):
        result = result * sigmoid_derivative(np.asarray(x, dtype=np.float64))
    return result
''',
    },
    {
        "name": "chain_factor_multiplies_activations",
        "cell": "chain_factor",
        "fails": ["test_chain_factor", "test_chain_factor_arrays"],
        "replace": [('return sigmoid_derivative(', 'return sigmoid(')],
    },
    {
        "name": "chain_factor_always_best_case",
        "cell": "chain_factor",
        "fails": ["test_chain_factor", "test_chain_factor_arrays"],
        "replace": [
            (
                'return sigmoid_derivative(np.asarray(x, dtype=np.float64)) ** np.asarray(n)',
                'return np.zeros_like(np.asarray(x, dtype=np.float64)) + 0.25 ** np.asarray(n)',
            ),
        ],
    },
    # ------------------------------------------------------------------ layers_until_vanished
    {
        "name": "layers_until_vanished_boundary_included",
        "cell": "layers_until_vanished",
        "fails": ["test_layers_until_vanished_boundary"],
        "replace": [
            ('while chain_factor(x, n) >= threshold:', 'while chain_factor(x, n) > threshold:'),
        ],
    },
    {
        "name": "layers_until_vanished_last_above",
        "cell": "layers_until_vanished",
        "fails": ["test_layers_until_vanished", "test_layers_until_vanished_boundary"],
        "replace": [('return n', 'return n - 1')],
    },
    {
        "name": "layers_until_vanished_starts_at_zero",
        "cell": "layers_until_vanished",
        "fails": ["test_layers_until_vanished_boundary"],
        "replace": [('n = 1', 'n = 0')],
    },
    {
        "name": "layers_until_vanished_ceil_of_log_ratio",
        "cell": "layers_until_vanished",
        "fails": ["test_layers_until_vanished_boundary"],
        "source": '''
def layers_until_vanished(x, threshold):
    """Return the smallest n >= 1 such that chain_factor(x, n) < threshold."""
    return int(np.ceil(np.log(threshold) / np.log(chain_factor(x, 1))))
''',
    },
    {
        # Mistake: the check `threshold <= 0` lets NaN through (every comparison with NaN is
        # False), and the loop then returns 1
        "name": "layers_until_vanished_lets_nan_through",
        "cell": "layers_until_vanished",
        "fails": ["test_layers_until_vanished_boundary"],
        "replace": [('if not threshold > 0:', 'if threshold <= 0:')],
    },
    # ------------------------------------------------------------------ vanishing_depth
    {
        # Mistake: the count of the best case, x = 0, instead of the variant's own x
        "name": "vanishing_depth_at_zero",
        "cell": "vanishing_depth",
        "fails": ["test_vanishing_depth"],
        "replace": [('layers_until_vanished(params["x"], params["threshold"])',
                     'layers_until_vanished(0.0, params["threshold"])')],
    },
    {
        # Mistake: the last depth whose factor is still at or above the threshold
        "name": "vanishing_depth_one_short",
        "cell": "vanishing_depth",
        "fails": ["test_vanishing_depth"],
        "replace": [('return layers_until_vanished(params["x"], params["threshold"])',
                     'return layers_until_vanished(params["x"], params["threshold"]) - 1')],
    },
]
