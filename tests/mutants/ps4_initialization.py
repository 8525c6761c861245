"""Known-wrong answers for ps4_initialization (format: CONTRIBUTING.md)."""

MUTANTS = [
    # ------------------------------------------------------------------ xavier_uniform_
    {
        "name": "xavier_missing_gain",
        "cell": "xavier_uniform_",
        "fails": ["test_xavier_uniform_"],
        "replace": [
            (
                'bound = gain * math.sqrt(6.0 / (fan_in + fan_out))',
                'bound = math.sqrt(6.0 / (fan_in + fan_out))',
            ),
        ],
    },
    {
        "name": "xavier_normal_std_as_bound",
        "cell": "xavier_uniform_",
        "fails": ["test_xavier_uniform_"],
        "replace": [
            (
                'bound = gain * math.sqrt(6.0 / (fan_in + fan_out))',
                'bound = gain * math.sqrt(2.0 / (fan_in + fan_out))',
            ),
        ],
    },
    {
        "name": "xavier_fan_in_only",
        "cell": "xavier_uniform_",
        "fails": ["test_xavier_uniform_"],
        "replace": [
            (
                'bound = gain * math.sqrt(6.0 / (fan_in + fan_out))',
                'bound = gain * math.sqrt(3.0 / fan_in)',
            ),
        ],
    },
    {
        "name": "xavier_calls_torch_init",
        "cell": "xavier_uniform_",
        "fails": ["test_xavier_uniform_"],
        "source": '''
def xavier_uniform_(weight, gain=1.0, generator=None):
    """Fill `weight` in place from U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    if weight.dim() != 2:
        raise ValueError(f"weight: expected a 2-D tensor, received shape {tuple(weight.shape)}.")
    return torch.nn.init.xavier_uniform_(weight, gain=gain, generator=generator)
''',
    },
    {
        "name": "xavier_ignores_generator",
        "cell": "xavier_uniform_",
        "fails": ["test_xavier_uniform_inplace"],
        "replace": [
            (
                'weight.uniform_(-bound, bound, generator=generator)',
                'weight.uniform_(-bound, bound)',
            ),
        ],
    },
    {
        "name": "xavier_without_no_grad",
        "cell": "xavier_uniform_",
        "fails": ["test_xavier_uniform_inplace"],
        "replace": [
            (
                'with torch.no_grad():\n'
                '        weight.uniform_(-bound, bound, generator=generator)',
                'weight.uniform_(-bound, bound, generator=generator)',
            ),
        ],
    },
    {
        "name": "xavier_no_type_check",
        "cell": "xavier_uniform_",
        "fails": ["test_xavier_uniform_inplace"],
        # Mistake: only the dimension is checked; a NumPy array fails with AttributeError
        "replace": [
            (
                'if not isinstance(weight, torch.Tensor):\n'
                '        raise TypeError(f"weight: expected a torch.Tensor, received '
                '{type(weight).__name__}.")\n'
                '    ',
                '',
            ),
        ],
    },
    # ------------------------------------------------------------------ kaiming_normal_
    {
        "name": "kaiming_fans_swapped",
        "cell": "kaiming_normal_",
        "fails": ["test_kaiming_normal_"],
        "replace": [
            (
                'fan_in = weight.shape[1]',
                "fan_in = weight.shape[0]  # wrong: that is fan_out for PyTorch's (out, in) layout",
            ),
        ],
    },
    {
        "name": "kaiming_relu_factor_2_dropped",
        "cell": "kaiming_normal_",
        "fails": ["test_kaiming_normal_"],
        "replace": [
            (
                'gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": '
                'math.sqrt(2.0)}',
                'gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": 1.0}',
            ),
        ],
    },
    {
        "name": "kaiming_tanh_gain_missing",
        "cell": "kaiming_normal_",
        "fails": ["test_kaiming_normal_"],
        "replace": [('"tanh": 5.0 / 3.0', '"tanh": 1.0')],
    },
    {
        "name": "kaiming_uniform_not_normal",
        "cell": "kaiming_normal_",
        "fails": ["test_kaiming_normal_"],
        "replace": [
            (
                'weight.normal_(0.0, std, generator=generator)',
                'weight.uniform_(-bound, bound, generator=generator)',
            ),
            (
                'std = gains[nonlinearity] / math.sqrt(fan_in)',
                'std = gains[nonlinearity] / math.sqrt(fan_in)\n'
                '    bound = math.sqrt(3.0) * std  # right std, wrong distribution',
            ),
        ],
    },
    {
        "name": "kaiming_no_validation",
        "cell": "kaiming_normal_",
        "fails": ["test_kaiming_normal_inplace"],
        "source": '''
def kaiming_normal_(weight, nonlinearity="relu", generator=None):
    """Fill the 2-D tensor `weight` in place from N(0, std^2), std = gain / sqrt(fan_in)."""
    gain = {"relu": math.sqrt(2.0), "tanh": 5.0 / 3.0}.get(nonlinearity, 1.0)
    std = gain / math.sqrt(weight.shape[-1])
    with torch.no_grad():
        weight.normal_(0.0, std, generator=generator)
    return weight
''',
    },
    # ------------------------------------------------------------------ activation_stds
    {
        "name": "stds_of_weights",
        "cell": "activation_stds",
        "fails": ["test_activation_stds"],
        "source": '''
def activation_stds(model, X):
    """Return the std of the output of every activation layer of `model`, input to output."""
    return [layer.weight.std().item() for layer in model if isinstance(layer, nn.Linear)]
''',
    },
    {
        "name": "stds_of_preactivations",
        "cell": "activation_stds",
        "fails": ["test_activation_stds"],
        "replace": [
            (
                '            if isinstance(layer, ACTIVATION_TYPES):\n'
                '                stds.append(h.std().item())\n',
                '',
            ),
            (
                'for layer in model:',
                'for layer in model:\n'
                '            if isinstance(layer, ACTIVATION_TYPES):\n'
                '                stds.append(h.std().item())  # wrong: the input of the activation',
            ),
        ],
    },
    {
        "name": "stds_of_every_layer",
        "cell": "activation_stds",
        "fails": ["test_activation_stds"],
        "source": '''
def activation_stds(model, X):
    """Return the std of the output of every activation layer of `model`, input to output."""
    stds = []
    with torch.no_grad():
        h = X
        for layer in model:
            h = layer(h)
            stds.append(h.std().item())
    return stds
''',
    },
    {
        "name": "stds_per_unit_averaged",
        "cell": "activation_stds",
        "fails": ["test_activation_stds"],
        "replace": [
            (
                'stds.append(h.std().item())',
                'stds.append(h.std(dim=0).mean().item())  # wrong: ignores the spread of unit '
                'means',
            ),
        ],
    },
    {
        "name": "stds_standardises_input_in_place",
        "cell": "activation_stds",
        "fails": ["test_activation_stds"],
        # Mistake: standardises the caller's batch in place before the forward pass
        "replace": [('h = X\n', 'h = X.sub_(X.mean()).div_(X.std())\n')],
    },
    # ------------------------------------------------------------------ variance_preserving_std
    {
        "name": "vps_relu_factor_2_dropped",
        "cell": "variance_preserving_std",
        "fails": ["test_variance_preserving_std"],
        "replace": [
            (
                'return math.sqrt(1.0 / (factors[activation] * fan_in))',
                'return 1.0 / math.sqrt(1.0 / (factors[activation] * fan_in))',
            ),
        ],
    },
    {
        "name": "vps_variance_not_std",
        "cell": "variance_preserving_std",
        "fails": ["test_variance_preserving_std"],
        "replace": [
            (
                'return math.sqrt(1.0 / (factors[activation] * fan_in))',
                'return (2.0 if activation == "relu" else 1.0) / fan_in',
            ),
        ],
    },
    {
        "name": "vps_tanh_with_pytorch_gain",
        "cell": "variance_preserving_std",
        "fails": ["test_variance_preserving_std"],
        "replace": [
            (
                'return math.sqrt(1.0 / (factors[activation] * fan_in))',
                'return gains[activation] / math.sqrt(1.0 / (factors[activation] * fan_in))',
            ),
            (
                'f"activation: expected one of {sorted(factors)}, received {activation!r}."',
                'f"activation: expected one of {sorted(gains)}, received {activation!r}."',
            ),
            (
                '# E[h^2] = factor * Var(z): 1 for linear and (to first order) tanh, 1/2 for '
                'ReLU.\n'
                '    factors = {"linear": 1.0, "tanh": 1.0, "relu": 0.5}\n'
                '    if activation not in factors:',
                'gains = {"linear": 1.0, "relu": math.sqrt(2.0), "tanh": 5.0 / 3.0}\n'
                '    if activation not in gains:',
            ),
        ],
    },
    {
        "name": "vps_no_input_check",
        "cell": "variance_preserving_std",
        "fails": ["test_variance_preserving_std"],
        "source": '''
def variance_preserving_std(fan_in, activation):
    """Return the weight std that keeps the forward variance constant for `activation`."""
    factor = 2.0 if activation == "relu" else 1.0
    return math.sqrt(factor / fan_in)
''',
    },
    {
        "name": "vps_accepts_non_integer_fan_in",
        "cell": "variance_preserving_std",
        "fails": ["test_variance_preserving_std"],
        # Mistake: checks that fan_in is large enough, not that it is an integer
        "replace": [
            (
                'if isinstance(fan_in, bool) or not isinstance(fan_in, (int, np.integer)) or '
                'fan_in < 1:',
                'if fan_in < 1:',
            ),
        ],
    },
    # ------------------------------------------------------------------ update_ratios
    {
        "name": "update_ratios_before_is_a_view",
        "cell": "update_ratios",
        "fails": ["test_update_ratios"],
        "replace": [(".detach().clone() for layer in linears", ".detach() for layer in linears")],
    },
    {
        "name": "update_ratios_keeps_stale_gradients",
        "cell": "update_ratios",
        "fails": ["test_update_ratios"],
        "replace": [("    optimizer.zero_grad()\n", "")],
    },
    {
        "name": "update_ratios_gradient_not_step",
        "cell": "update_ratios",
        "fails": ["test_update_ratios"],
        "replace": [("(layer.weight.detach() - w).norm() / w.norm()",
                     "layer.weight.grad.norm() / w.norm()")],
    },
    {
        "name": "update_ratios_restores_the_weights",
        "cell": "update_ratios",
        "fails": ["test_update_ratios"],
        # Mistake: a "diagnostic" that puts the weights back, so the caller's model never learns
        "replace": [
            (
                'return [((layer.weight.detach() - w).norm() / w.norm()).item()\n'
                '            for layer, w in zip(linears, before)]',
                'ratios = [((layer.weight.detach() - w).norm() / w.norm()).item()\n'
                '              for layer, w in zip(linears, before)]\n'
                '    with torch.no_grad():\n'
                '        for layer, w in zip(linears, before):\n'
                '            layer.weight.copy_(w)\n'
                '    return ratios',
            ),
        ],
    },
    # ------------------------------------------------------------------ your_weight_std
    {
        # Mistake: He's scale sqrt(2 / fan_in) whatever the variant's activation
        "name": "your_weight_std_always_he",
        "cell": "your_weight_std",
        "fails": ["test_your_weight_std"],
        "replace": [('return variance_preserving_std(params["fan_in"], params["activation"])',
                     'return math.sqrt(2.0 / params["fan_in"])')],
    },
    {
        # Mistake: the variance sigma^2 where the standard deviation sigma is asked for
        "name": "your_weight_std_gives_the_variance",
        "cell": "your_weight_std",
        "fails": ["test_your_weight_std"],
        "replace": [('return variance_preserving_std(params["fan_in"], params["activation"])',
                     'return variance_preserving_std(params["fan_in"], '
                     'params["activation"]) ** 2')],
    },
]
