"""A ps1_sigmoid_decay class for the similarity report: honest students and one copied pair.

:data:`STYLES` holds seven honest solutions of ps1's four function cells, written by hand in
different ways (a stable ``np.where``, masks, ``tanh``, ``logaddexp``, loops over ``np.nditer``,
a closed-form count, ...). Each entry is ``grade_id -> (code before the def, body)``: the
student's cell is that code, then the released ``def`` line and docstring, then the body.
:data:`COPIED` is ``helpers``'s work handed in by another student with every name changed,
the helper functions in another order, the comments rewritten and blank lines moved.

``released_course(root)`` makes a course holding the release of ps1 (nbgrader's own
``ClearSolutions`` and ``ClearHiddenTests`` with the course's config, in process: no gradebook);
``make_similarity_class(course, release, styles)`` writes one submission per entry of
``styles`` (student -> style) under ``course/submitted/<student>/ps1_sigmoid_decay/``.

``python tests/similarity_class.py [N]`` times the report on a class of N (default 50).
"""

from __future__ import annotations

import copy
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursekit.assignments import COURSE_CONFIG, SOURCE_ROOT
from coursekit.cells import grade_id, is_answer

ASSIGNMENT = "ps1_sigmoid_decay"
FUNCTIONS = ("sigmoid", "sigmoid_derivative", "chain_factor", "layers_until_vanished")

STYLES: dict[str, dict[str, tuple[str, str]]] = {
    "helpers": {
        "sigmoid": ('''def _sig_pos(z):
    # safe for z >= 0
    return 1.0 / (1.0 + np.exp(-z))


def _sig_neg(z):
    # safe for z < 0: multiply top and bottom by exp(z)
    ez = np.exp(z)
    return ez / (1.0 + ez)

''', '''    arr = np.asarray(x, dtype=float)
    result = np.empty_like(arr)
    pos = arr >= 0
    result[pos] = _sig_pos(arr[pos])
    result[~pos] = _sig_neg(arr[~pos])
    return result
'''),
        "sigmoid_derivative": ("", '''    value = sigmoid(x)
    one_minus = 1.0 - value
    return value * one_minus
'''),
        "chain_factor": ('''def _repeat_product(base, times):
    # multiply base by itself `times` times, elementwise
    base, times = np.broadcast_arrays(np.asarray(base, dtype=float), np.asarray(times))
    out = np.ones_like(base)
    for idx in np.ndindex(base.shape):
        for _ in range(int(times[idx])):
            out[idx] = out[idx] * base[idx]
    return out

''', '''    slope = sigmoid_derivative(np.asarray(x, dtype=float))
    return _repeat_product(slope, n)
'''),
        "layers_until_vanished": ("", '''    if threshold <= 0:
        raise ValueError("threshold has to be > 0, got " + str(threshold))
    depth = 0
    factor = 1.0
    while True:
        depth = depth + 1
        factor = chain_factor(x, depth)
        if factor < threshold:
            break
    return depth
'''),
    },
    "where": {
        "sigmoid": ("", '''    x = np.asarray(x, dtype=np.float64)
    ex = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + ex), ex / (1 + ex))
'''),
        "sigmoid_derivative": ("", '''    s = sigmoid(x)
    return s - s ** 2
'''),
        "chain_factor": ("", '''\
    return np.power(sigmoid_derivative(np.asarray(x, dtype=np.float64)), np.asarray(n))
'''),
        "layers_until_vanished": ("", '''    assert threshold > 0
    for n in range(1, 100000):
        if chain_factor(x, n) < threshold:
            return n
'''),
    },
    "tanh": {
        "sigmoid": ("", '''\
    # identity: sigma(x) = (1 + tanh(x / 2)) / 2, and tanh never overflows
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))
'''),
        "sigmoid_derivative": ("", '''    t = np.tanh(np.asarray(x, dtype=float) / 2)
    return (1 - t * t) / 4
'''),
        "chain_factor": ("", '''    d = sigmoid_derivative(x)
    return d ** n
'''),
        "layers_until_vanished": ("import math\n\n", '''    if not threshold > 0:
        raise ValueError(f"bad threshold {threshold}")
    d = float(sigmoid_derivative(np.array([x]))[0])
    guess = max(1, math.ceil(math.log(threshold) / math.log(d)))
    while guess > 1 and d ** (guess - 1) < threshold:
        guess -= 1
    while d ** guess >= threshold:
        guess += 1
    return guess
'''),
    },
    "logaddexp": {
        "sigmoid": ("", '''    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))
'''),
        "sigmoid_derivative": ("", '''    return sigmoid(x) * sigmoid(-np.asarray(x))
'''),
        "chain_factor": ("", '''\
    logs = np.log(sigmoid_derivative(np.asarray(x, dtype=np.float64)))
    with np.errstate(invalid="ignore"):
        return np.exp(np.asarray(n) * logs)
'''),
        "layers_until_vanished": ("import itertools\n\n", '''    if threshold <= 0:
        raise ValueError("threshold must be positive")
    return next(k for k in itertools.count(1) if chain_factor(x, k) < threshold)
'''),
    },
    "masks": {
        "sigmoid": ("", '''    x = np.array(x, dtype=float, copy=True)
    out = np.zeros_like(x)
    big = x > 0
    out[big] = 1 / (1 + np.exp(-x[big]))
    small = np.logical_not(big)
    e = np.exp(x[small])
    out[small] = e / (e + 1)
    return out
'''),
        "sigmoid_derivative": ("", '''    a = np.exp(-np.abs(np.asarray(x, dtype=float)))
    return a / (1 + a) ** 2
'''),
        "chain_factor": ("", '''    base = sigmoid_derivative(np.asarray(x, dtype=float))
    powers = np.asarray(n)
    return np.multiply(np.ones(np.broadcast(base, powers).shape), base ** powers)
'''),
        "layers_until_vanished": ("", '''    if threshold <= 0:
        raise ValueError("need a positive threshold")
    n, prod = 0, 1.0
    d = sigmoid_derivative(x)
    while prod >= threshold:
        prod *= d
        n += 1
    return n
'''),
    },
    "loops": {
        "sigmoid": ("import math\n\n", '''    values = np.asarray(x, dtype=float)
    flat = values.ravel()
    res = []
    for v in flat:
        if v < 0:
            res.append(math.exp(v) / (1 + math.exp(v)))
        else:
            res.append(1 / (1 + math.exp(-v)))
    return np.array(res).reshape(values.shape)
'''),
        "sigmoid_derivative": ("", '''    sx = sigmoid(x)
    deriv = sx * (1 - sx)
    return deriv
'''),
        "chain_factor": ("", '''    result = 1.0
    d = sigmoid_derivative(np.asarray(x, dtype=float))
    n = np.asarray(n)
    result = np.where(n == 0, 1.0, d ** n)
    return result
'''),
        "layers_until_vanished": ("", '''    if threshold <= 0:
        raise ValueError("threshold <= 0")
    count = 1
    current = chain_factor(x, 1)
    while not current < threshold:
        count += 1
        current = chain_factor(x, count)
    return count
'''),
    },
    "clip": {
        "sigmoid": ("", '''    z = np.clip(np.asarray(x, dtype=np.float64), -700.0, 700.0)
    return 1.0 / (1.0 + np.exp(-z))
'''),
        "sigmoid_derivative": ("", '''    p = sigmoid(x)
    q = sigmoid(-np.asarray(x, dtype=np.float64))
    return np.multiply(p, q)
'''),
        "chain_factor": ("", '''\
    return (np.asarray(sigmoid_derivative(x), dtype=np.float64)
            ** np.asarray(n, dtype=np.float64))
'''),
        "layers_until_vanished": ("", '''    if threshold <= 0:
        raise ValueError("threshold")
    layer = 1
    while chain_factor(x, layer) >= threshold:
        layer = layer + 1
    return layer
'''),
    },
}

#: The "helpers" student's work, disguised: names changed, helpers reordered, comments rewritten.
COPIED: dict[str, tuple[str, str]] = {
    "sigmoid": ('''def neg_branch(t):
    # for negative inputs use e^t / (1 + e^t), no overflow


    et = np.exp(t)
    return et / (1.0 + et)


def pos_branch(t):
    # this one is fine when t is non negative
    return 1.0 / (1.0 + np.exp(-t))

''', '''    vals = np.asarray(x, dtype=float)
    answer = np.empty_like(vals)
    nonneg = vals >= 0
    answer[~nonneg] = neg_branch(vals[~nonneg])
    answer[nonneg] = pos_branch(vals[nonneg])
    return answer
'''),
    "sigmoid_derivative": ("", '''    sg = sigmoid(x)
    rest = 1.0 - sg
    return sg * rest
'''),
    "chain_factor": ('''def power_by_loop(b, k):
    # elementwise b ** k done by hand with loops
    b, k = np.broadcast_arrays(np.asarray(b, dtype=float), np.asarray(k))
    acc = np.ones_like(b)
    for pos in np.ndindex(b.shape):
        for _ in range(int(k[pos])):
            acc[pos] = acc[pos] * b[pos]
    return acc

''', '''    grad = sigmoid_derivative(np.asarray(x, dtype=float))
    return power_by_loop(grad, n)
'''),
    "layers_until_vanished": ("", '''    if threshold <= 0:
        raise ValueError("threshold has to be > 0, got " + str(threshold))
    layers = 0
    prod = 1.0
    while True:
        layers = layers + 1
        prod = chain_factor(x, layers)
        if prod < threshold:
            break
    return layers
'''),
}


def _cell_source(release_source: str, prefix: str, body: str) -> str:
    """A student's answer cell: ``prefix``, the released def line and docstring, ``body``."""
    head = release_source.split("# YOUR CODE HERE")[0].rstrip() + "\n"
    return prefix + head + body


def submission(release: nbformat.NotebookNode, answers: dict[str, tuple[str, str]]):
    """The release with each answer cell that ``answers`` names written as it says (any other,
such as ps1's ``vanishing_depth``, one line for the student's own variant, left as released)."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if is_answer(cell) and grade_id(cell) in answers:
            cell.source = _cell_source(cell.source, *answers[grade_id(cell)])
    return nb


def make_similarity_class(course: Path, release: nbformat.NotebookNode,
                          answers: dict[str, dict[str, tuple[str, str]]]) -> None:
    """``course/submitted/<student>/ps1_sigmoid_decay/ps1_sigmoid_decay.ipynb`` per student."""
    for student, per_cell in answers.items():
        folder = Path(course) / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(submission(release, per_cell), str(folder / f"{ASSIGNMENT}.ipynb"))


def planted_class() -> dict[str, dict[str, tuple[str, str]]]:
    """Eight students: the seven honest styles and the copy of ``helpers``."""
    out = {f"student_{name}": dict(style) for name, style in STYLES.items()}
    out["student_copier"] = dict(COPIED)
    return out


def large_class(n: int, seed: int) -> dict[str, dict[str, tuple[str, str]]]:
    """``n`` students, each function in one of the seven styles, drawn with ``seed`` (distinct
    combinations). For timing only: two students who drew the same style for three functions
    share most of their code, so their pair ranks high, as it should."""
    rng = random.Random(seed)
    names = sorted(STYLES)
    combos: set[tuple[str, ...]] = set()
    while len(combos) < n:
        combos.add(tuple(rng.choice(names) for _ in FUNCTIONS))
    return {f"s{i:03d}": {f: STYLES[style][f] for f, style in zip(FUNCTIONS, combo, strict=True)}
            for i, combo in enumerate(sorted(combos))}


def released_course(root: Path) -> tuple[Path, nbformat.NotebookNode]:
    """(a course folder holding ``release/ps1_sigmoid_decay/``, the released notebook)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(COURSE_CONFIG.name, path=str(COURSE_CONFIG.parent)).load_config()
    nb = nbformat.read(str(SOURCE_ROOT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), 4)
    nb, _ = ClearSolutions(config=config).preprocess(nb, {})
    nb, _ = ClearHiddenTests(config=config).preprocess(nb, {})
    course = Path(root) / "course"
    (course / "release" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nb, str(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    return course, nb


def _time_class(n: int) -> None:
    """Print how long the report takes for ``n`` submissions (n - 2 drawn, plus the pair)."""
    from coursekit import similarity

    with tempfile.TemporaryDirectory() as tmp:
        course, release = released_course(Path(tmp))
        students = large_class(n - 2, seed=0)
        students.update({"student_helpers": STYLES["helpers"], "student_copier": COPIED})
        make_similarity_class(course, release, students)
        start = time.perf_counter()
        report, _ = similarity.run(course, ASSIGNMENT)
        wall = time.perf_counter() - start
    print(f"{len(report.students)} submissions, {len(report.pairs)} pairs: comparison "
          f"{report.seconds:.2f} s, whole report (reading, comparing, HTML) {wall:.2f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    _time_class(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
