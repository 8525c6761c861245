"""Known-wrong answers for ps5_batch_norm (format: CONTRIBUTING.md).

Mutants of ``batchnorm_backward`` rely on the solution's cache ``(x_hat, gamma, inv_std)``.
"""

MUTANTS = [
    # ------------------------------------------------------------ batchnorm_forward
    {
        "name": "forward_unbiased_variance",
        "cell": "batchnorm_forward",
        "fails": ["test_batchnorm_forward", "test_batchnorm_backward"],
        "replace": [
            (
                'var = x.var(dim=0, correction=0)',
                'var = x.var(dim=0)  # unbiased (N - 1): PyTorch normalizes with the biased '
                'variance',
            ),
        ],
    },
    {
        "name": "forward_eps_outside_sqrt",
        "cell": "batchnorm_forward",
        "fails": ["test_batchnorm_forward", "test_batchnorm_backward"],
        "replace": [
            ('inv_std = 1.0 / torch.sqrt(var + eps)', 'inv_std = 1.0 / (torch.sqrt(var) + eps)'),
        ],
    },
    {
        "name": "forward_normalizes_rows",
        "cell": "batchnorm_forward",
        "fails": ["test_batchnorm_forward", "test_batchnorm_backward"],
        "replace": [
            (
                'mean = x.mean(dim=0)\n'
                '    var = x.var(dim=0, correction=0)',
                'mean = x.mean(dim=1, keepdim=True)\n'
                '    var = x.var(dim=1, correction=0, keepdim=True)',
            ),
        ],
    },
    {
        "name": "forward_no_input_check",
        "cell": "batchnorm_forward",
        "fails": ["test_batchnorm_forward"],
        "replace": [
            (
                'if not isinstance(x, torch.Tensor) or x.dim() != 2:\n'
                '        received = tuple(x.shape) if isinstance(x, torch.Tensor) else '
                'type(x).__name__\n'
                '        raise ValueError(f"x: expected a 2-D tensor of shape (N, D), received '
                '{received}")',
                '',
            ),
        ],
    },
    {
        "name": "forward_modifies_x_in_place",
        "cell": "batchnorm_forward",
        "fails": ["test_batchnorm_forward", "test_batchnorm_backward"],
        "replace": [
            (
                'x_hat = (x - mean) * inv_std',
                "x -= mean  # in place: the caller's x is centred too\n    x_hat = x * inv_std",
            ),
        ],
    },
    {
        "name": "forward_checks_too_few_dimensions_only",
        "cell": "batchnorm_forward",
        "fails": ["test_batchnorm_forward"],
        "replace": [("x.dim() != 2:", "x.dim() < 2:")],
    },
    # ------------------------------------------------------------ batchnorm_backward
    {
        "name": "backward_missing_variance_term",
        "cell": "batchnorm_backward",
        "fails": ["test_batchnorm_backward"],
        "replace": [
            (
                'dx = inv_std / n * (n * g - g.sum(dim=0) - x_hat * (g * x_hat).sum(dim=0))',
                'dx = inv_std / n * (n * g - g.sum(dim=0))',
            ),
        ],
    },
    {
        "name": "backward_missing_mean_term",
        "cell": "batchnorm_backward",
        "fails": ["test_batchnorm_backward"],
        "replace": [
            (
                'dx = inv_std / n * (n * g - g.sum(dim=0) - x_hat * (g * x_hat).sum(dim=0))',
                'dx = inv_std / n * (n * g - x_hat * (g * x_hat).sum(dim=0))',
            ),
        ],
    },
    {
        "name": "backward_statistics_as_constants",
        "cell": "batchnorm_backward",
        "fails": ["test_batchnorm_backward"],
        "source": '''
def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward, by hand."""
    x_hat, gamma, inv_std = cache
    dx = dout * gamma * inv_std
    return dx, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''',
    },
    {
        "name": "backward_dgamma_without_xhat",
        "cell": "batchnorm_backward",
        "fails": ["test_batchnorm_backward"],
        "replace": [('dgamma = (dout * x_hat).sum(dim=0)', 'dgamma = dout.sum(dim=0)')],
    },
    {
        "name": "backward_scales_dout_in_place",
        "cell": "batchnorm_backward",
        "fails": ["test_batchnorm_backward"],
        "replace": [("g = dout * gamma", "g = dout.mul_(gamma)  # reuses the memory of dout")],
    },
    # ------------------------------------------------------------ BatchNorm1dScratch
    {
        "name": "module_unbiased_variance_to_normalize",
        "cell": "BatchNorm1dScratch",
        "fails": ["test_BatchNorm1dScratch_train", "test_BatchNorm1dScratch_eval"],
        "replace": [('var = x.var(dim=0, correction=0)', 'var = x.var(dim=0)')],
    },
    {
        "name": "module_biased_running_var",
        "cell": "BatchNorm1dScratch",
        "fails": ["test_BatchNorm1dScratch_train", "test_BatchNorm1dScratch_eval"],
        "replace": [
            (
                'self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))',
                'self.running_var.mul_(1 - m).add_(m * var)  # biased: should be unbiased',
            ),
        ],
    },
    {
        "name": "module_mode_from_grad_enabled",
        "cell": "BatchNorm1dScratch",
        "fails": ["test_BatchNorm1dScratch_train", "test_BatchNorm1dScratch_eval"],
        "replace": [
            (
                'if self.training:',
                'if torch.is_grad_enabled():  # "training" guessed from autograd',
            ),
        ],
    },
    {
        "name": "module_running_stats_never_updated",
        "cell": "BatchNorm1dScratch",
        "fails": ["test_BatchNorm1dScratch_train", "test_BatchNorm1dScratch_eval"],
        "replace": [
            (
                '            with torch.no_grad():\n'
                '                m = self.momentum\n'
                '                self.running_mean.mul_(1 - m).add_(m * mean)\n'
                '                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))\n',
                '',
            ),
        ],
    },
    {
        "name": "module_momentum_reversed",
        "cell": "BatchNorm1dScratch",
        "fails": ["test_BatchNorm1dScratch_train", "test_BatchNorm1dScratch_eval"],
        "replace": [
            (
                'self.running_mean.mul_(1 - m).add_(m * mean)\n'
                '                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))',
                'self.running_mean.mul_(m).add_((1 - m) * mean)\n'
                '                self.running_var.mul_(m).add_((1 - m) * var * n / (n - 1))',
            ),
        ],
    },
    {
        "name": "module_updates_running_stats_in_eval",
        "cell": "BatchNorm1dScratch",
        "fails": ["test_BatchNorm1dScratch_eval"],
        "source": '''
class BatchNorm1dScratch(nn.Module):
    """Batch normalization over the features of a 2-D input."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        n = x.shape[0]
        if self.training and n < 2:
            raise ValueError("x: training mode needs more than 1 example")
        mean, var = x.mean(dim=0), x.var(dim=0, correction=0)
        if n > 1:  # updated in both modes
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))
        if not self.training:
            mean, var = self.running_mean, self.running_var
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias
''',
    },
    {
        "name": "module_normalizes_x_in_place_without_grad",
        "cell": "BatchNorm1dScratch",
        "fails": ["test_BatchNorm1dScratch_train", "test_BatchNorm1dScratch_eval"],
        "replace": [
            (
                'x_hat = (x - mean) / torch.sqrt(var + self.eps)',
                'if torch.is_grad_enabled():\n'
                '            x_hat = (x - mean) / torch.sqrt(var + self.eps)\n'
                '        else:  # no graph to keep: save memory by working in place\n'
                '            x_hat = x.sub_(mean).div_(torch.sqrt(var + self.eps))',
            ),
        ],
    },
    # ------------------------------------------------------------ gradient_ratio
    {
        "name": "ratio_inverted",
        "cell": "gradient_ratio",
        "fails": ["test_gradient_ratio"],
        "replace": [
            (
                'return float(grad_first.norm() / grad_last.norm())',
                'return float(grad_last.norm() / grad_first.norm())',
            ),
        ],
    },
    {
        "name": "ratio_last_parameter_is_a_bias",
        "cell": "gradient_ratio",
        "fails": ["test_gradient_ratio"],
        "source": '''
def gradient_ratio(model, X, y):
    """First-layer over last-layer gradient norm of model on the batch (X, y)."""
    params = list(model.parameters())
    loss = F.cross_entropy(model(X), y)
    grad_first, grad_last = torch.autograd.grad(loss, [params[0], params[-1]])
    return float(grad_first.norm() / grad_last.norm())
''',
    },
    {
        "name": "ratio_stale_grad_accumulated",
        "cell": "gradient_ratio",
        "fails": ["test_gradient_ratio"],
        "source": '''
def gradient_ratio(model, X, y):
    """First-layer over last-layer gradient norm of model on the batch (X, y)."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    F.cross_entropy(model(X), y).backward()  # adds to whatever .grad already holds
    return float(linears[0].weight.grad.norm() / linears[-1].weight.grad.norm())
''',
    },
    {
        "name": "ratio_first_and_last_children",
        "cell": "gradient_ratio",
        "fails": ["test_gradient_ratio"],
        "replace": [
            (
                'linears = [module for module in model.modules() if isinstance(module, nn.Linear)]',
                'linears = [model[0], model[-1]]  # the first and last modules of the Sequential',
            ),
        ],
    },
]
