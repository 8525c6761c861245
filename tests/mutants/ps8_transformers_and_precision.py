"""Known-wrong answers for ps8_transformers_and_precision.

Each mutant edits one answer cell of the solution notebook into a plausible student mistake;
the autograder tests require it to lose points on every test cell in ``fails``.
"""

MUTANTS = [
    # ------------------------------------------------------------ scaled_dot_product_attention
    {
        "name": "attention_divides_by_d_k",
        "cell": "scaled_dot_product_attention",
        "fails": ["test_scaled_dot_product_attention"],
        "replace": [("/ math.sqrt(Q.shape[-1])", "/ Q.shape[-1]")],
    },
    {
        "name": "attention_softmax_over_queries",
        "cell": "scaled_dot_product_attention",
        "fails": ["test_scaled_dot_product_attention"],
        "replace": [("torch.softmax(logits, dim=-1)", "torch.softmax(logits, dim=-2)")],
    },
    {
        "name": "attention_mask_hides_the_diagonal",
        "cell": "scaled_dot_product_attention",
        "fails": ["test_scaled_dot_product_attention"],
        "replace": [(".tril()", ".tril(-1)")],
    },
    {
        "name": "attention_scales_q_in_place",
        "cell": "scaled_dot_product_attention",
        "fails": ["test_scaled_dot_product_attention"],
        "replace": [("logits = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])",
                     "Q /= math.sqrt(Q.shape[-1])\n    logits = Q @ K.transpose(-2, -1)")],
    },
    # ------------------------------------------------------------ softmax_jvp
    {
        "name": "jvp_forgets_the_outer_product",
        "cell": "softmax_jvp",
        "fails": ["test_softmax_jvp"],
        "replace": [("return p * (v - (p * v).sum(dim=-1, keepdim=True))", "return p * v")],
    },
    {
        "name": "jvp_softmax_overflows",
        "cell": "softmax_jvp",
        "fails": ["test_softmax_jvp"],
        "replace": [("p = torch.softmax(z, dim=-1)",
                     "p = torch.exp(z) / torch.exp(z).sum(dim=-1, keepdim=True)")],
    },
    {
        "name": "jvp_sums_over_the_first_axis",
        "cell": "softmax_jvp",
        "fails": ["test_softmax_jvp"],
        "replace": [("(p * v).sum(dim=-1, keepdim=True)", "(p * v).sum(dim=0, keepdim=True)")],
    },
    # ------------------------------------------------------------ stream_variance
    {
        "name": "stream_counts_one_branch_per_block",
        "cell": "stream_variance",
        "fails": ["test_stream_variance"],
        "replace": [("n_branches = 2 * n_blocks", "n_branches = n_blocks")],
    },
    {
        "name": "stream_prenorm_multiplies",
        "cell": "stream_variance",
        "fails": ["test_stream_variance"],
        "replace": [("return float(var0 + n_branches * v)",
                     "return float(var0 * (1 + v) ** n_branches)")],
    },
    {
        "name": "stream_scales_variance_by_sqrt",
        "cell": "stream_variance",
        "fails": ["test_stream_variance"],
        "replace": [("branch_var / n_branches if scaled",
                     "branch_var / n_branches ** 0.5 if scaled")],
    },
    # ------------------------------------------------------------ predictions
    {
        "name": "predicts_the_variance_not_the_std",
        "cell": "predictions",
        "fails": ["test_predictions"],
        "replace": [('"logit_std": math.sqrt(256),', '"logit_std": 256.0,')],
    },
    {
        "name": "predicts_underflow_below_the_smallest_normal",
        "cell": "predictions",
        "fails": ["test_predictions"],
        "replace": [("math.log10(2.0 ** -25)", "math.log10(2.0 ** -14)")],
    },
    {
        "name": "predicts_one_branch_per_block",
        "cell": "predictions",
        "fails": ["test_predictions"],
        "replace": [('"prenorm_var": 1 + 2 * 12 * 0.25,', '"prenorm_var": 1 + 12 * 0.25,')],
    },
    # ------------------------------------------------------------ unscale_and_check
    {
        "name": "unscale_checks_only_the_first_tensor",
        "cell": "unscale_and_check",
        "fails": ["test_unscale_and_check"],
        "replace": [("        if not bool(torch.isfinite(g).all()):",
                     "        if g is grads[0] and not bool(torch.isfinite(g).all()):")],
    },
    {
        "name": "unscale_misses_nan",
        "cell": "unscale_and_check",
        "fails": ["test_unscale_and_check"],
        "replace": [("if not bool(torch.isfinite(g).all()):", "if bool(torch.isinf(g).any()):")],
    },
    {
        "name": "unscale_makes_new_tensors",
        "cell": "unscale_and_check",
        "fails": ["test_unscale_and_check"],
        "replace": [("        g.div_(scale)\n", "        g = g / scale\n")],
    },
    # ------------------------------------------------------------ update_loss_scale
    {
        "name": "scaler_keeps_counting_after_overflow",
        "cell": "update_loss_scale",
        "fails": ["test_update_loss_scale"],
        "replace": [("return scale * backoff_factor, 0",
                     "return scale * backoff_factor, growth_tracker")],
    },
    {
        "name": "scaler_grows_one_step_late",
        "cell": "update_loss_scale",
        "fails": ["test_update_loss_scale"],
        "replace": [("if growth_tracker == growth_interval:",
                     "if growth_tracker == growth_interval - 1:")],
    },
    {
        "name": "scaler_backs_off_by_growth_factor",
        "cell": "update_loss_scale",
        "fails": ["test_update_loss_scale"],
        "replace": [("return scale * backoff_factor, 0", "return scale / growth_factor, 0")],
    },
    # ------------------------------------------------------------ lost_fraction
    {
        "name": "lost_counts_the_zeros",
        "cell": "lost_fraction",
        "fails": ["test_lost_fraction"],
        "replace": [("    g = g[g != 0]\n", "")],
    },
    {
        "name": "lost_ignores_subnormals",
        "cell": "lost_fraction",
        "fails": ["test_lost_fraction"],
        "replace": [("float((cast == 0).double().mean())",
                     "float((g.abs() < torch.finfo(dtype).tiny).double().mean())")],
    },
    {
        "name": "lost_counts_only_positive_overflow",
        "cell": "lost_fraction",
        "fails": ["test_lost_fraction"],
        "replace": [("float(torch.isinf(cast).double().mean())",
                     "float((cast == float('inf')).double().mean())")],
    },
]
