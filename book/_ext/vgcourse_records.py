"""Figures quoted from a benchmark's record, read from the record when the book is built.

A local Sphinx extension (``_config.yml``, ``sphinx.local_extensions``). The instructor guide
quotes the records that ``benchmarks/`` writes (``benchmarks/results/<name>.json``). Instead of
typing a figure, the page names it, and the build reads it from the committed record, so the
page cannot drift from the record::

    {record}`bench_grading:runs.plain.wall_s:.1f`          -> 162.4
    {record}`bench_grading:throughput_vs_plain.batch_2:.2f` -> 1.79
    {record}`bench_grading:machine.load_average_at_start[0]:.2f`
    {record}`bench_grading:10000 * runs.batch_2.cpu_s_per_submission / 3600:.0f`

The content is ``RECORD:EXPRESSION[:FORMAT]``:

* ``RECORD``, the record's file name without ``.json`` (in ``vgcourse_records_dir``, by default
  ``../benchmarks/results`` from the book's source);
* ``EXPRESSION``, a key path into the record (keys joined by ``.``, list items as ``[i]``, a
  key that is not a Python name as ``["key"]``), or
  arithmetic on such paths and numbers (``+ - * / // **``, parentheses, ``round``, ``min``,
  ``max``, ``abs``), for a figure the page derives from recorded ones;
* ``FORMAT``, a Python format spec (``.2f``, ``,``, ``.0f``); without one, the value as Python
  writes it. A boolean reads ``yes`` or ``no``.

Keys are read generically: a new row of a record needs only its new key on the page. A record,
key or expression that does not resolve is an error of the build (the gate, ``-W``, fails),
naming the record, the key and the keys that exist. A page that quotes a record is read again
when the record changes.
"""

from __future__ import annotations

import ast
import json
import operator
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"round": round, "min": min, "max": max, "abs": abs}


def parse_spec(spec: str) -> tuple[str, str, str]:
    """``"RECORD:EXPRESSION[:FORMAT]"`` -> ``(record, expression, format)``."""
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a str 'RECORD:EXPRESSION[:FORMAT]', received "
                        f"{type(spec).__name__}")
    parts = [p.strip() for p in spec.split(":", 2)]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"spec must be 'RECORD:EXPRESSION[:FORMAT]' (for example "
                         f"'bench_grading:runs.plain.wall_s:.1f'), received {spec!r}")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


def load_record(records_dir: Path, name: str) -> dict:
    """The record ``records_dir/<name>.json``; ValueError naming the records that exist."""
    path = Path(records_dir) / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in Path(records_dir).glob("*.json"))
        raise ValueError(f"record must be one of {known} (in {records_dir}), received {name!r}")
    return json.loads(path.read_text(encoding="utf-8"))


def _path_of(node: ast.expr) -> list | None:
    """``a.b[0]["c d"]`` -> ``["a", "b", 0, "c d"]``; None if ``node`` is not such a path."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _path_of(node.value)
        return None if head is None else [*head, node.attr]
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(
            node.slice.value, int | str):
        head = _path_of(node.value)
        return None if head is None else [*head, node.slice.value]
    return None


def lookup(record: dict, path: list, name: str = "record"):
    """The value at ``path`` (keys and list indices) in ``record``; KeyError naming the missing
    key, where it was looked for and the keys that exist there."""
    value, seen = record, []
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            where = ".".join(map(str, seen)) or "the top level"
            there = sorted(value) if isinstance(value, dict) else (
                f"a list of {len(value)}" if isinstance(value, list) else repr(value))
            raise KeyError(f"{name}: no key {step!r} at {where} (there: {there})")
        seen.append(step)
    return value


def evaluate(expression: str, record: dict, name: str = "record"):
    """The value of ``expression``: a key path of ``record``, or arithmetic on key paths and
    numbers (see the module's docstring); ValueError for anything else."""
    def value(node: ast.expr):
        path = _path_of(node)
        if path is not None:
            return lookup(record, path, name)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](value(node.operand))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id in _FUNCTIONS and not node.keywords):
            return _FUNCTIONS[node.func.id](*(value(a) for a in node.args))
        raise ValueError(f"{name}: expression must be a key path or arithmetic on key paths "
                         f"and numbers, received {ast.unparse(node)!r} in {expression!r}")

    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"{name}: expression {expression!r} is not valid: {err.msg}") from None
    return value(tree.body)


def format_value(value, fmt: str = "") -> str:
    """A figure as the page prints it: ``format(value, fmt)``; a boolean as ``yes``/``no``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        raise ValueError(f"a figure must be a number, a string or a boolean, received a "
                         f"{type(value).__name__} (name a key inside it)")
    return format(value, fmt)


def record_figure(records_dir: Path, spec: str) -> str:
    """The text ``{record}`spec``` stands for (see the module's docstring)."""
    name, expression, fmt = parse_spec(spec)
    return format_value(evaluate(expression, load_record(records_dir, name), f"{name}.json"),
                        fmt)


def records_dir(app: Sphinx) -> Path:
    """The folder of the records: ``vgcourse_records_dir``, relative to the book's source."""
    return (Path(app.srcdir) / app.config.vgcourse_records_dir).resolve()


def record_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{record}`RECORD:EXPRESSION[:FORMAT]```: the figure, read from the record."""
    env = inliner.document.settings.env
    folder = records_dir(env.app)
    try:
        figure = record_figure(folder, text)
    except (KeyError, ValueError, TypeError, ArithmeticError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        error = inliner.reporter.error(f"{{record}}`{text}`: {message}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, error)], [error]
    record = folder / f"{parse_spec(text)[0]}.json"
    env.note_dependency(str(record))  # the page is read again when the record changes
    node = nodes.inline(rawtext, figure, classes=["vgcourse-record"])
    return [node], []


def setup(app: Sphinx) -> dict:
    app.add_config_value("vgcourse_records_dir", "../benchmarks/results", "env")
    app.add_role("record", record_role)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
