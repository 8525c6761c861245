"""Time ``vgcourse.train`` against seed 002's own NumPy training loop.

Both train seed 002's 3-layer ReLU network (2 -> 50 -> 50 -> 3, weights 0.1 * randn, zero
biases) on the seed's spiral with full-batch gradient descent, step size 0.1 and L2
regularization 1e-3, for the same number of steps. ``train`` also records, at every step,
the loss, the accuracy, the three gradient norms and the three update:data ratios; the seed's
loop records its two gradient heuristics. The seed's ``print`` every 1000 iterations is left
out (it is I/O, not training).

Usage::

    python -m benchmarks.bench_train [--steps 2000] [--repeats 3] [--threads 1]

Prints a JSON summary and writes it to ``benchmarks/results/bench_train.json`` (or ``--output``).
Timings on a shared machine are inflated; compare ratios taken on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from vgcourse import linear_layers, make_spiral, mlp, train

RESULTS = Path(__file__).resolve().parent / "results" / "bench_train.json"


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(0, x)


def seed_002_loop(X, y, model, step_size, reg, steps):
    """Seed 002's ``three_layer_net('RELU', ...)``, ported to Python 3, without the prints."""
    W1, W2, W3 = model["W1"], model["W2"], model["W3"]
    b1, b2, b3 = model["b1"], model["b2"], model["b3"]
    num_examples = X.shape[0]
    plot_array_1 = []
    plot_array_2 = []
    loss = None
    for _ in range(steps):
        hidden_layer = relu(np.dot(X, W1) + b1)
        hidden_layer2 = relu(np.dot(hidden_layer, W2) + b2)
        scores = np.dot(hidden_layer2, W3) + b3
        exp_scores = np.exp(scores)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        corect_logprobs = -np.log(probs[range(num_examples), y])
        data_loss = np.sum(corect_logprobs) / num_examples
        reg_loss = (
            0.5 * reg * np.sum(W1 * W1) + 0.5 * reg * np.sum(W2 * W2) + 0.5 * reg * np.sum(W3 * W3)
        )
        loss = data_loss + reg_loss
        dscores = probs
        dscores[range(num_examples), y] -= 1
        dscores /= num_examples
        dW3 = (hidden_layer2.T).dot(dscores)
        db3 = np.sum(dscores, axis=0, keepdims=True)
        dhidden2 = np.dot(dscores, W3.T)
        dhidden2[hidden_layer2 <= 0] = 0
        dW2 = np.dot(hidden_layer.T, dhidden2)
        plot_array_2.append(np.sum(np.abs(dW2)) / np.sum(np.abs(dW2.shape)))
        db2 = np.sum(dhidden2, axis=0)
        dhidden = np.dot(dhidden2, W2.T)
        dhidden[hidden_layer <= 0] = 0
        dW1 = np.dot(X.T, dhidden)
        plot_array_1.append(np.sum(np.abs(dW1)) / np.sum(np.abs(dW1.shape)))
        db1 = np.sum(dhidden, axis=0)
        dW3 += reg * W3
        dW2 += reg * W2
        dW1 += reg * W1
        W1 += -step_size * dW1
        b1 += -step_size * db1
        W2 += -step_size * dW2
        b2 += -step_size * db2
        W3 += -step_size * dW3
        b3 += -step_size * db3
    return loss, data_loss, plot_array_1, plot_array_2


def seed_model(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    D, h, h2, K = 2, 50, 50, 3
    return {
        "W1": 0.1 * rng.randn(D, h),
        "b1": np.zeros((1, h)),
        "W2": 0.1 * rng.randn(h, h2),
        "b2": np.zeros((1, h2)),
        "W3": 0.1 * rng.randn(h2, K),
        "b3": np.zeros((1, K)),
    }


def torch_model(model: dict[str, np.ndarray]) -> torch.nn.Sequential:
    net = mlp([2, 50, 50, 3], "relu")
    with torch.no_grad():
        for layer, (w, b) in zip(
            linear_layers(net), (("W1", "b1"), ("W2", "b2"), ("W3", "b3")), strict=True
        ):
            layer.weight.copy_(torch.from_numpy(model[w].T))
            layer.bias.copy_(torch.from_numpy(model[b][0]))
    return net


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    X, y = make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=0)
    X_np, y_np = X.double().numpy(), y.numpy()

    numpy_s, (numpy_loss, numpy_data_loss, _, _) = best_of(
        lambda: seed_002_loop(X_np, y_np, seed_model(), 0.1, 1e-3, args.steps), args.repeats
    )
    train_s, history = best_of(
        lambda: train(torch_model(seed_model()), X, y, steps=args.steps, lr=0.1, weight_decay=1e-3),
        args.repeats,
    )
    train64_s, history64 = best_of(
        lambda: train(
            torch_model(seed_model()).double(),
            X.double(),
            y,
            steps=args.steps,
            lr=0.1,
            weight_decay=1e-3,
        ),
        args.repeats,
    )
    result = {
        "benchmark": "vgcourse.train vs seed 002 NumPy loop, spiral 300x2, MLP 2-50-50-3 ReLU",
        "steps": args.steps,
        "repeats (best of)": args.repeats,
        "torch_threads": torch.get_num_threads(),
        "numpy_loop_s": round(numpy_s, 4),
        "train_float32_s": round(train_s, 4),
        "train_float64_s": round(train64_s, 4),
        "ratio_train_float32_over_numpy": round(train_s / numpy_s, 3),
        "ratio_train_float64_over_numpy": round(train64_s / numpy_s, 3),
        "us_per_step_numpy": round(1e6 * numpy_s / args.steps, 1),
        "us_per_step_train_float32": round(1e6 * train_s / args.steps, 1),
        # the float64 run follows the same arithmetic as the NumPy loop: the data losses agree
        "final_data_loss_train_float64": float(history64.loss[-1]),
        "final_data_loss_numpy": float(numpy_data_loss),
        "final_loss_numpy_incl_reg": float(numpy_loss),
        "final_accuracy_train_float32": float(history.accuracy[-1]),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
