"""Known-wrong answers for ps7_gradients_through_time.

Each mutant edits one answer cell of the solution notebook into a plausible student mistake;
the autograder tests require it to lose points on every test cell in ``fails``.
"""

MUTANTS = [
    # ------------------------------------------------------------ rnn_backward
    {
        "name": "bptt_forgets_tanh_derivative",
        "cell": "rnn_backward",
        "fails": ["test_rnn_backward"],
        "replace": [("da = delta * (1 - torch.tanh(pre[k - 1]) ** 2)", "da = delta")],
    },
    {
        "name": "bptt_untransposed_recurrent_weights",
        "cell": "rnn_backward",
        "fails": ["test_rnn_backward"],
        "replace": [("delta = W_hh.T @ da", "delta = W_hh @ da")],
    },
    {
        "name": "bptt_outer_with_current_state",
        "cell": "rnn_backward",
        "fails": ["test_rnn_backward"],
        "replace": [("torch.outer(da, states[k - 1])", "torch.outer(da, states[k])")],
    },
    {
        "name": "bptt_keeps_only_last_step",
        "cell": "rnn_backward",
        "fails": ["test_rnn_backward"],
        "replace": [("dW_hh += torch.outer", "dW_hh = torch.outer"),
                    ("dW_xh += torch.outer", "dW_xh = torch.outer"),
                    ("db += da", "db = da")],
    },
    {
        "name": "bptt_scales_dh_t_in_place",
        "cell": "rnn_backward",
        "fails": ["test_rnn_backward"],
        "replace": [("da = delta * (1 - torch.tanh(pre[k - 1]) ** 2)",
                     "da = delta.mul_(1 - torch.tanh(pre[k - 1]) ** 2)  # at first: dh_T")],
    },
    # ------------------------------------------------------------ clip_grad_total_norm
    {
        "name": "clip_each_tensor_separately",
        "cell": "clip_grad_total_norm",
        "fails": ["test_clip_grad_total_norm"],
        "replace": [("        for g in grads:\n            g.mul_(scale)",
                     "        for g in grads:\n"
                     "            g.mul_(min(1.0, max_norm / (float(g.norm()) + 1e-6)))")],
    },
    {
        "name": "clip_returns_norm_after_clipping",
        "cell": "clip_grad_total_norm",
        "fails": ["test_clip_grad_total_norm"],
        "replace": [("    return total", "    return min(total, max_norm)")],
    },
    {
        "name": "clip_scales_small_gradients_up",
        "cell": "clip_grad_total_norm",
        "fails": ["test_clip_grad_total_norm"],
        "replace": [("    if scale < 1:\n", "    if True:\n")],
    },
    {
        "name": "clip_ignores_nonfinite",
        "cell": "clip_grad_total_norm",
        "fails": ["test_clip_grad_total_norm_nonfinite"],
        "replace": [("    if not math.isfinite(total):\n", "    if False:\n")],
    },
    {
        "name": "clip_checks_inf_but_not_nan",
        "cell": "clip_grad_total_norm",
        "fails": ["test_clip_grad_total_norm_nonfinite"],
        "replace": [("if not math.isfinite(total):", "if total == float(\"inf\"):")],
    },
    {
        "name": "clip_rebinds_list_entries",
        "cell": "clip_grad_total_norm",
        "fails": ["test_clip_grad_total_norm"],
        "replace": [("        for g in grads:\n            g.mul_(scale)",
                     "        for i, g in enumerate(grads):\n"
                     "            grads[i] = g * scale  # a new tensor, not the caller's")],
    },
    {
        "name": "clip_checks_each_tensor_while_scaling",
        "cell": "clip_grad_total_norm",
        "fails": ["test_clip_grad_total_norm_nonfinite"],
        "source": '''
def clip_grad_total_norm(grads, max_norm):
    """Clip a list of gradients, in place, to a joint 2-norm of at most max_norm."""
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    scale = max_norm / (total + 1e-6)
    for g in grads:
        if not torch.isfinite(g).all():  # found only after the ones before it were scaled
            raise ValueError(f"grads: expected finite gradients, their total norm is {total}")
        if scale < 1:
            g.mul_(scale)
    return total
''',
    },
    # ------------------------------------------------------------ jacobian_bound
    {
        "name": "bound_uses_spectral_radius",
        "cell": "jacobian_bound",
        "fails": ["test_jacobian_bound"],
        "replace": [("torch.linalg.matrix_norm(W_hh, ord=2).item()",
                     "torch.linalg.eigvals(W_hh).abs().max().item()")],
    },
    {
        "name": "bound_uses_frobenius_norm",
        "cell": "jacobian_bound",
        "fails": ["test_jacobian_bound"],
        "replace": [("torch.linalg.matrix_norm(W_hh, ord=2).item()", "W_hh.norm().item()")],
    },
    {
        "name": "bound_gamma_not_raised_to_power",
        "cell": "jacobian_bound",
        "fails": ["test_jacobian_bound"],
        "replace": [("(gamma * sigma_max) ** steps", "gamma * sigma_max ** steps")],
    },
    {
        "name": "bound_scales_w_in_place",
        "cell": "jacobian_bound",
        "fails": ["test_jacobian_bound"],
        "replace": [("torch.linalg.matrix_norm(W_hh, ord=2).item()",
                     "torch.linalg.matrix_norm(W_hh.mul_(gamma), ord=2).item()"),
                    ("(gamma * sigma_max) ** steps", "sigma_max ** steps")],
    },
    # ------------------------------------------------------------ lstm_step
    {
        "name": "lstm_gate_order_ifog",
        "cell": "lstm_step",
        "fails": ["test_lstm_step"],
        "replace": [("z_i, z_f, z_g, z_o = ", "z_i, z_f, z_o, z_g = ")],
    },
    {
        "name": "lstm_output_without_tanh",
        "cell": "lstm_step",
        "fails": ["test_lstm_step"],
        "replace": [("h_new = torch.sigmoid(z_o) * torch.tanh(c_new)",
                     "h_new = torch.sigmoid(z_o) * c_new")],
    },
    {
        "name": "lstm_candidate_sigmoid",
        "cell": "lstm_step",
        "fails": ["test_lstm_step"],
        "replace": [("torch.sigmoid(z_i) * torch.tanh(z_g)",
                     "torch.sigmoid(z_i) * torch.sigmoid(z_g)")],
    },
    {
        "name": "lstm_updates_c_in_place",
        "cell": "lstm_step",
        "fails": ["test_lstm_step"],
        "replace": [("c_new = torch.sigmoid(z_f) * c + torch.sigmoid(z_i) * torch.tanh(z_g)",
                     "c_new = c.mul_(torch.sigmoid(z_f))\n"
                     "    c_new.add_(torch.sigmoid(z_i) * torch.tanh(z_g))")],
    },
    # ------------------------------------------------------------ lstm_cell_grad
    {
        "name": "cell_grad_ignores_hidden_path",
        "cell": "lstm_cell_grad",
        "fails": ["test_lstm_cell_grad"],
        "replace": [("return (dc_new + through_h) * torch.sigmoid(z_f)",
                     "return dc_new * torch.sigmoid(z_f)")],
    },
    {
        "name": "cell_grad_forgets_forget_gate",
        "cell": "lstm_cell_grad",
        "fails": ["test_lstm_cell_grad"],
        "replace": [("return (dc_new + through_h) * torch.sigmoid(z_f)",
                     "return dc_new + through_h")],
    },
    {
        "name": "cell_grad_tanh_of_old_cell",
        "cell": "lstm_cell_grad",
        "fails": ["test_lstm_cell_grad"],
        "replace": [("(1 - torch.tanh(c_new) ** 2)", "(1 - torch.tanh(c) ** 2)")],
    },
    {
        "name": "cell_grad_adds_into_dc_new",
        "cell": "lstm_cell_grad",
        "fails": ["test_lstm_cell_grad"],
        "replace": [("return (dc_new + through_h) * torch.sigmoid(z_f)",
                     "dc_new += through_h  # the two paths add up (in the caller's tensor)\n"
                     "    return dc_new * torch.sigmoid(z_f)")],
    },
    # ---------------------------------------------------------------- predicted_gradient_norm
    {
        "name": "prediction_chi_not_raised_to_steps",
        "cell": "predicted_gradient_norm",
        "fails": ["test_predicted_gradient_norm"],
        "replace": [("return float(chi_1 ** (steps / 2))", "return float(chi_1)")],
    },
    {
        "name": "prediction_mean_square_not_norm",
        "cell": "predicted_gradient_norm",
        "fails": ["test_predicted_gradient_norm"],
        "replace": [("return float(chi_1 ** (steps / 2))", "return float(chi_1**steps)")],
    },
    {
        "name": "prediction_ignores_input",
        "cell": "predicted_gradient_norm",
        "fails": ["test_predicted_gradient_norm"],
        "replace": [("tanh_fixed_point(rho, bias_std=math.sqrt(input_var))",
                     "tanh_fixed_point(rho)")],
    },
    {
        "name": "prediction_input_variance_as_std",
        "cell": "predicted_gradient_norm",
        "fails": ["test_predicted_gradient_norm"],
        "replace": [("tanh_fixed_point(rho, bias_std=math.sqrt(input_var))",
                     "tanh_fixed_point(rho, bias_std=input_var)")],
    },
    {
        "name": "prediction_rho_per_step",
        "cell": "predicted_gradient_norm",
        "fails": ["test_predicted_gradient_norm"],
        "replace": [("return float(chi_1 ** (steps / 2))", "return float(rho**steps)")],
    },
    # ---------------------------------------------------------------- measured_gradient_norm
    {
        "name": "measure_mean_of_norms",
        "cell": "measured_gradient_norm",
        "fails": ["test_measured_gradient_norm"],
        "replace": [("grad.pow(2).sum(dim=1).mean().sqrt()", "grad.norm(dim=1).mean()")],
    },
    {
        "name": "measure_one_step_too_far",
        "cell": "measured_gradient_norm",
        "fails": ["test_measured_gradient_norm"],
        "replace": [("if t == T - steps:", "if t == max(T - steps - 1, 0):")],
    },
    {
        "name": "measure_not_divided_by_v",
        "cell": "measured_gradient_norm",
        "fails": ["test_measured_gradient_norm"],
        "replace": [("return float(grad.pow(2).sum(dim=1).mean().sqrt() / v.norm())",
                     "return float(grad.pow(2).sum(dim=1).mean().sqrt())")],
    },
    {
        "name": "measure_untransposed_recurrent_weights",
        "cell": "measured_gradient_norm",
        "fails": ["test_measured_gradient_norm"],
        "replace": [("h = torch.tanh(h @ W_hh.T + x[t] @ W_xh.T)",
                     "h = torch.tanh(h @ W_hh + x[t] @ W_xh.T)")],
    },
]
