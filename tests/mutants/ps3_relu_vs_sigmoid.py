"""Known-wrong answers for ps3_relu_vs_sigmoid.

Each mutant replaces one answer cell of the solution notebook with a plausible student mistake;
the autograder tests require it to lose points on every test cell listed in ``fails``.
"""

_MLP_STEP_HEADER = '''
def mlp_step(params, X, y, activation, lr, reg):
    """One full-batch gradient-descent step of seed 002's two-hidden-layer network."""
    if activation not in ("relu", "sigmoid"):
        raise ValueError(f"activation must be 'relu' or 'sigmoid', received {activation!r}")
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]
    W3, b3 = params["W3"], params["b3"]
    n = X.shape[0]
    rows = np.arange(n)
    if activation == "relu":
        h1 = np.maximum(X @ W1 + b1, 0.0)
        h2 = np.maximum(h1 @ W2 + b2, 0.0)
    else:
        h1 = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))
        h2 = 1.0 / (1.0 + np.exp(-(h1 @ W2 + b2)))
    scores = h2 @ W3 + b3
'''

_STABLE_SOFTMAX = '''
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = float(-np.log(probs[rows, y]).mean()
                 + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3)))
    dscores = probs.copy()
    dscores[rows, y] -= 1.0
    dscores /= n
'''

_BACKWARD = '''
    dW3 = h2.T @ dscores + reg * W3
    db3 = dscores.sum(axis=0)
    dh2 = dscores @ W3.T
    if activation == "relu":
        dh2 = dh2 * (h2 > 0)
    else:
        dh2 = dh2 * h2 * (1.0 - h2)
    dW2 = h1.T @ dh2 + reg * W2
    db2 = dh2.sum(axis=0)
    dh1 = dh2 @ W2.T
    if activation == "relu":
        dh1 = dh1 * (h1 > 0)
    else:
        dh1 = dh1 * h1 * (1.0 - h1)
    dW1 = X.T @ dh1 + reg * W1
    db1 = dh1.sum(axis=0)
'''

_UPDATE = '''
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
    for key, grad in grads.items():
        params[key] -= lr * grad
    return loss, grads
'''


def _mlp_step(softmax=_STABLE_SOFTMAX, backward=_BACKWARD, update=_UPDATE):
    """Assemble a whole mlp_step cell from its parts (one part replaced by the mistake)."""
    parts = [_MLP_STEP_HEADER, softmax, backward, update]
    return "\n".join(part.strip("\n") for part in parts) + "\n"


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
        "source": '''
def relu(x):
    """Return max(0, x) elementwise as a new float array; `x` itself is left unchanged."""
    return np.where(x > 0, x, 0.01 * x)
''',
    },
    # ------------------------------------------------------------------ relu_derivative
    {
        "name": "relu_derivative_one_at_zero",
        "cell": "relu_derivative",
        "fails": ["test_relu_derivative"],
        "source": '''
def relu_derivative(x):
    """Return d relu / dx at `x`, elementwise: 1.0 where x > 0 and 0.0 elsewhere (also at 0)."""
    return (np.asarray(x) >= 0).astype(float)
''',
    },
    {
        "name": "relu_derivative_sign",
        "cell": "relu_derivative",
        "fails": ["test_relu_derivative"],
        "source": '''
def relu_derivative(x):
    """Return d relu / dx at `x`, elementwise: 1.0 where x > 0 and 0.0 elsewhere (also at 0)."""
    return np.sign(x)
''',
    },
    # ------------------------------------------------------------------ mlp_step
    {
        # the first hidden layer's gradient is masked with the SECOND layer's ReLU pattern
        "name": "mlp_step_relu_mask_wrong_layer",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu"],
        "source": _mlp_step(
            backward=_BACKWARD.replace("dh1 = dh1 * (h1 > 0)", "dh1 = dh1 * (h2 > 0)")
        ),
    },
    {
        # sigma'(z) written as z * (1 - z) with the pre-activation z instead of the output h
        "name": "mlp_step_sigmoid_derivative_from_preactivation",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_sigmoid"],
        "source": _mlp_step(
            backward=_BACKWARD.replace(
                "dh2 = dh2 * h2 * (1.0 - h2)",
                "z2 = h1 @ W2 + b2\n        dh2 = dh2 * z2 * (1.0 - z2)",
            ).replace(
                "dh1 = dh1 * h1 * (1.0 - h1)",
                "z1 = X @ W1 + b1\n        dh1 = dh1 * z1 * (1.0 - z1)",
            )
        ),
    },
    {
        "name": "mlp_step_no_reg_in_gradient",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu", "test_mlp_step_sigmoid"],
        "source": _mlp_step(
            backward=_BACKWARD.replace(" + reg * W3", "")
            .replace(" + reg * W2", "")
            .replace(" + reg * W1", "")
        ),
    },
    {
        # the seed's softmax: np.exp of raw scores overflows (or gives 0/0) on large scores
        "name": "mlp_step_softmax_without_max_shift",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_stable"],
        "source": _mlp_step(
            softmax=_STABLE_SOFTMAX.replace(
                "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores"
            )
        ),
    },
    {
        "name": "mlp_step_not_divided_by_n",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu", "test_mlp_step_sigmoid"],
        "source": _mlp_step(softmax=_STABLE_SOFTMAX.replace("    dscores /= n\n", "")),
    },
    {
        # returns the gradients but never updates params
        "name": "mlp_step_no_update",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_shapes", "test_mlp_step_relu", "test_mlp_step_sigmoid"],
        "source": _mlp_step(
            update=_UPDATE.replace("        params[key] -= lr * grad\n", "        pass\n")
        ),
    },
    {
        # the ReLU mask taken with >= 0 on the output h (always true): no mask at all
        "name": "mlp_step_relu_mask_ge",
        "cell": "mlp_step",
        "fails": ["test_mlp_step_relu"],
        "source": _mlp_step(
            backward=_BACKWARD.replace("(h2 > 0)", "(h2 >= 0)").replace("(h1 > 0)", "(h1 >= 0)")
        ),
    },
    # ------------------------------------------------------------------ gradient_magnitude
    {
        "name": "gradient_magnitude_mean",
        "cell": "gradient_magnitude",
        "fails": ["test_gradient_magnitude"],
        "source": '''
def gradient_magnitude(dW):
    """Seed 002's heuristic: sum of |dW| over all entries divided by the sum of dW's dimensions."""
    return float(np.mean(np.abs(dW)))
''',
    },
    {
        "name": "gradient_magnitude_without_abs",
        "cell": "gradient_magnitude",
        "fails": ["test_gradient_magnitude"],
        "source": '''
def gradient_magnitude(dW):
    """Seed 002's heuristic: sum of |dW| over all entries divided by the sum of dW's dimensions."""
    return float(np.sum(dW) / np.sum(np.shape(dW)))
''',
    },
    {
        "name": "gradient_magnitude_norm",
        "cell": "gradient_magnitude",
        "fails": ["test_gradient_magnitude"],
        "source": '''
def gradient_magnitude(dW):
    """Seed 002's heuristic: sum of |dW| over all entries divided by the sum of dW's dimensions."""
    return float(np.linalg.norm(dW) / np.sum(np.shape(dW)))
''',
    },
    # ------------------------------------------------------------------ dead_fraction
    {
        # the fraction of zero entries, not of units that are zero for every example
        "name": "dead_fraction_zero_entries",
        "cell": "dead_fraction",
        "fails": ["test_dead_fraction"],
        "source": '''
def dead_fraction(hidden):
    """Fraction of units (columns of `hidden`, shape (batch, units)) that are 0 for all examples."""
    hidden = np.asarray(hidden)
    if hidden.ndim != 2:
        raise ValueError(f"hidden must be 2-D (batch, units), received shape {hidden.shape}")
    return float(np.mean(hidden == 0))
''',
    },
    {
        # a unit counted dead as soon as it is zero for ONE example
        "name": "dead_fraction_any_zero",
        "cell": "dead_fraction",
        "fails": ["test_dead_fraction"],
        "source": '''
def dead_fraction(hidden):
    """Fraction of units (columns of `hidden`, shape (batch, units)) that are 0 for all examples."""
    hidden = np.asarray(hidden)
    if hidden.ndim != 2:
        raise ValueError(f"hidden must be 2-D (batch, units), received shape {hidden.shape}")
    return float(np.any(hidden == 0, axis=0).mean())
''',
    },
    {
        # examples and units swapped: the fraction of examples on which every unit is zero
        "name": "dead_fraction_wrong_axis",
        "cell": "dead_fraction",
        "fails": ["test_dead_fraction"],
        "source": '''
def dead_fraction(hidden):
    """Fraction of units (columns of `hidden`, shape (batch, units)) that are 0 for all examples."""
    hidden = np.asarray(hidden)
    if hidden.ndim != 2:
        raise ValueError(f"hidden must be 2-D (batch, units), received shape {hidden.shape}")
    return float(np.all(hidden == 0, axis=1).mean())
''',
    },
]
