"""Known-wrong answers for ps6_residual_connections.

Each mutant edits one answer cell of the solution notebook into a plausible student mistake;
the autograder tests require it to lose points on every test cell in ``fails``. Each
submission costs a kernel start and ``import torch``, so the bank keeps two or three mistakes per
answer cell.
"""

MUTANTS = [
    # ------------------------------------------------------------ residual_block
    {
        "name": "block_forgets_skip",
        "cell": "residual_block",
        "fails": ["test_residual_block", "test_residual_block_autograd"],
        "replace": [("return x + alpha * branch", "return alpha * branch")],
    },
    {
        "name": "block_relu_after_sum",
        "cell": "residual_block",
        "fails": ["test_residual_block", "test_residual_block_autograd"],
        "replace": [("hidden = torch.relu(x @ W1.T + b1)", "hidden = x @ W1.T + b1"),
                    ("return x + alpha * branch", "return torch.relu(x + alpha * branch)")],
    },
    {
        "name": "block_skip_detached",
        "cell": "residual_block",
        "fails": ["test_residual_block_autograd"],
        "replace": [("return x + alpha * branch", "return x.detach() + alpha * branch")],
    },
    {
        "name": "block_adds_branch_to_x_in_place",
        "cell": "residual_block",
        "fails": ["test_residual_block", "test_residual_block_autograd"],
        "replace": [("return x + alpha * branch",
                     "x += alpha * branch  # in place: the caller's x becomes the output\n"
                     "    return x")],
    },
    # ------------------------------------------------------------ residual_jacobian
    {
        "name": "jacobian_forgets_identity",
        "cell": "residual_jacobian",
        "fails": ["test_residual_jacobian"],
        "replace": [("return identity + alpha * (W2 * active) @ W1",
                     "return alpha * (W2 * active) @ W1")],
    },
    {
        "name": "jacobian_without_relu_mask",
        "cell": "residual_jacobian",
        "fails": ["test_residual_jacobian"],
        "replace": [("return identity + alpha * (W2 * active) @ W1",
                     "return identity + alpha * W2 @ W1")],
    },
    {
        "name": "jacobian_relu_derivative_one_at_zero",
        "cell": "residual_jacobian",
        "fails": ["test_residual_jacobian"],
        "replace": [("(W1 @ x + b1 > 0)", "(W1 @ x + b1 >= 0)")],
    },
    {
        "name": "jacobian_masks_w2_in_place",
        "cell": "residual_jacobian",
        "fails": ["test_residual_jacobian"],
        "replace": [("return identity + alpha * (W2 * active) @ W1",
                     "return identity + alpha * W2.mul_(active) @ W1")],
    },
    # ------------------------------------------------------------ layer_norm
    {
        "name": "layer_norm_unbiased_variance",
        "cell": "layer_norm",
        "fails": ["test_layer_norm"],
        "replace": [("var = x.var(dim=-1, correction=0, keepdim=True)",
                     "var = x.var(dim=-1, keepdim=True)")],
    },
    {
        "name": "layer_norm_over_the_batch",
        "cell": "layer_norm",
        "fails": ["test_layer_norm"],
        "replace": [("mean = x.mean(dim=-1, keepdim=True)", "mean = x.mean(dim=0, keepdim=True)"),
                    ("var = x.var(dim=-1, correction=0, keepdim=True)",
                     "var = x.var(dim=0, correction=0, keepdim=True)")],
    },
    {
        "name": "layer_norm_centres_x_in_place",
        "cell": "layer_norm",
        "fails": ["test_layer_norm"],
        "replace": [("x_hat = (x - mean) / torch.sqrt(var + eps)",
                     "x -= mean  # in place: the caller's x is centred too\n"
                     "    x_hat = x / torch.sqrt(var + eps)")],
    },
    # ------------------------------------------------------------ layer_norm_backward
    {
        "name": "ln_backward_statistics_as_constants",
        "cell": "layer_norm_backward",
        "fails": ["test_layer_norm_backward"],
        "replace": [("return inv_std * (g - g_mean - x_hat * gx_mean)", "return inv_std * g")],
    },
    {
        "name": "ln_backward_missing_variance_term",
        "cell": "layer_norm_backward",
        "fails": ["test_layer_norm_backward"],
        "replace": [("return inv_std * (g - g_mean - x_hat * gx_mean)",
                     "return inv_std * (g - g_mean)")],
    },
    {
        "name": "ln_backward_scales_dout_in_place",
        "cell": "layer_norm_backward",
        "fails": ["test_layer_norm_backward"],
        "replace": [("g = dout * weight", "g = dout.mul_(weight)  # reuses the memory of dout")],
    },
    # ------------------------------------------------------------ predicted_gradient_ratio
    {
        "name": "prediction_squared_ratio",
        "cell": "predicted_gradient_ratio",
        "fails": ["test_predicted_gradient_ratio"],
        "replace": [("** (n_blocks / 2)", "**n_blocks")],
    },
    {
        "name": "prediction_alpha_not_squared",
        "cell": "predicted_gradient_ratio",
        "fails": ["test_predicted_gradient_ratio"],
        "replace": [("(1.0 + alpha**2 * gain)", "(1.0 + alpha * gain)")],
    },
    {
        "name": "prediction_without_the_skip",
        "cell": "predicted_gradient_ratio",
        "fails": ["test_predicted_gradient_ratio"],
        "replace": [("(1.0 + alpha**2 * gain)", "(alpha**2 * gain)")],
    },
    {
        "name": "prediction_forgets_the_relu_mask",
        "cell": "predicted_gradient_ratio",
        "fails": ["test_predicted_gradient_ratio"],
        "replace": [("(1.0 + alpha**2 * gain)", "(1.0 + 2 * alpha**2 * gain)")],
    },
    # ------------------------------------------------------------ blocks_for_ratio
    {
        "name": "blocks_rounded_down",
        "cell": "blocks_for_ratio",
        "fails": ["test_blocks_for_ratio"],
        "replace": [("n_blocks = math.ceil(math.log(target) / per_block)",
                     "n_blocks = math.floor(math.log(target) / per_block)")],
    },
    {
        "name": "blocks_for_squared_ratio",
        "cell": "blocks_for_ratio",
        "fails": ["test_blocks_for_ratio"],
        "replace": [("per_block = 0.5 * math.log1p(alpha**2 * gain)",
                     "per_block = math.log1p(alpha**2 * gain)")],
    },
    {
        "name": "blocks_zero_branch_not_refused",
        "cell": "blocks_for_ratio",
        "fails": ["test_blocks_for_ratio"],
        "replace": [("if alpha * gain == 0:", "if alpha == 0:")],
    },
    # ------------------------------------------------------------ measured_gradient_ratio
    {
        "name": "measure_forward_ratio",
        "cell": "measured_gradient_ratio",
        "fails": ["test_measured_gradient_ratio"],
        "replace": [("return float(grad.norm() / upstream.norm())",
                     "return float(out.norm() / x0.norm())")],
    },
    {
        "name": "measure_not_divided_by_upstream",
        "cell": "measured_gradient_ratio",
        "fails": ["test_measured_gradient_ratio"],
        "replace": [("return float(grad.norm() / upstream.norm())", "return float(grad.norm())")],
    },
    {
        "name": "measure_ignores_alpha",
        "cell": "measured_gradient_ratio",
        "fails": ["test_measured_gradient_ratio"],
        "replace": [("out = residual_block(out, W1, zeros_h, W2, zeros_d, alpha)",
                     "out = residual_block(out, W1, zeros_h, W2, zeros_d)")],
    },
]
