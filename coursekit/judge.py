"""The trusted judgement: a test cell's observations compared with the reference run's.

A submission's process runs its answer cells and then each test cell *as the grader rewrote it*
(:func:`judged_source`): every ``expected=`` argument of ``observe`` and every
``### BEGIN REFERENCE`` ... ``### END REFERENCE`` block removed, so no expected value and no
reference computation ever exists in a process that runs student code. What the test cell
observes leaves that process as plain JSON data (``vgcourse.grading.encode_value``), size-capped
and schema-checked on arrival (:func:`accept`). This module, in the grader's own process,
compares it with the observations of a reference run of the instructor's solution
(:func:`expected_from_run`), under the tolerances of that run, and decides each test cell
(:func:`judge_cell`). Nothing the submission's process says about itself enters the verdict
but the values it observed.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursekit.cells import grade_id, is_test
from vgcourse.grading import compare, decode_value

REFERENCE_MARKERS = ("### BEGIN REFERENCE", "### END REFERENCE")
#: Functions of ``vgcourse.grading`` whose ``expected=`` argument the grader removes.
OBSERVERS = ("observe",)
#: The most observations one test cell may hand out, and their encoded bytes in all.
MAX_OBSERVATIONS_PER_CELL = 200
MAX_OBSERVATION_BYTES_PER_SUBMISSION = 16 * 1024 * 1024
#: Format version of the expected-values file.
FORMAT = 1


class ReferenceRunError(RuntimeError):
    """The instructor's solution disagrees with a test's reference, or a test observes nothing."""


# ---------------------------------------------------------------------------------------------
# What the submission's process is given: the test cell without its references
# ---------------------------------------------------------------------------------------------
def _without_reference_blocks(source: str) -> str:
    """``source`` with every REFERENCE block (markers included) replaced by blank lines."""
    out, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == REFERENCE_MARKERS[0]:
            inside = True
        if inside:
            out.append("")
        else:
            out.append(line)
        if marker == REFERENCE_MARKERS[1]:
            inside = False
    return "\n".join(out)


def _is_observer(call: ast.Call) -> bool:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(
        func, ast.Attribute) else None
    return name in OBSERVERS


class _DropExpected(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if _is_observer(node):
            node.keywords = [k for k in node.keywords if k.arg != "expected"]
            if len(node.args) > 2:  # observe(name, value, expected) written positionally
                node.args = node.args[:2]
        return node


def judged_source(source: str) -> str:
    """The test cell as a submission's process runs it: no REFERENCE block, no ``expected=``.

    A cell that does not parse (it cannot be the instructor's) is returned without its
    REFERENCE blocks, and fails as it runs.

    Examples
    --------
    >>> print(judged_source("y = f(2)\\nobserve('f(2)', y, expected=4.0, rtol=0)"))
    y = f(2)
    observe('f(2)', y, rtol=0)
    """
    text = _without_reference_blocks(source)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    return ast.unparse(ast.fix_missing_locations(_DropExpected().visit(tree)))


def _loaded(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(
        n.ctx, ast.Load)}


def _bound(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
        return {stmt.name}
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(
        n.ctx, ast.Store)}


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp, ast.ClassDef)


def _module_level(tree: ast.AST) -> list[ast.AST]:
    """The nodes of the cell's own (global) scope: not inside a function, class, lambda or
    comprehension (whose names are their own)."""
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    out.append(child)  # its name is bound here, its body is its own
                continue
            stack.append(child)
    return out


def _global_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names bound, names read) in the cell's own scope."""
    bound, read = set(), set()
    for node in _module_level(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound, read


def _expected_arguments(tree: ast.AST) -> list[ast.AST]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_observer(node):
            found += [k.value for k in node.keywords if k.arg == "expected"]
            found += node.args[2:3]
    return found


def reference_leaks(source: str) -> list[str]:
    """What keeps a test cell from being judged as written: names the judged cell still
    computes although only an ``expected=`` argument uses them (a reference value that would
    exist in the student's process: it belongs in a REFERENCE block), and names it uses that
    only a REFERENCE block defines (they would be missing when the grader runs it). An empty
    list when the cell keeps its references out.

    Examples
    --------
    >>> reference_leaks("want = 2 * 2\\nobserve('f(2)', f(2), expected=want)")
    ['want']
    >>> reference_leaks("### BEGIN REFERENCE\\ntol = 1e-9\\n### END REFERENCE\\n"
    ...                 "observe('f', f(), rtol=tol)")
    ['tol (defined only in a REFERENCE block)']
    """
    try:
        whole = ast.parse(source)
        original = ast.parse(_without_reference_blocks(source))
        judged = ast.parse(judged_source(source))
    except SyntaxError as err:
        return [f"the cell does not parse: {err}"]
    feeds_expected = set().union(*(_loaded(e) for e in _expected_arguments(original)) or [set()])
    still_used = _loaded(judged)
    leaks = {name for stmt in judged.body for name in _bound(stmt)
             if name in feeds_expected and name not in still_used}
    bound_judged, read_judged = _global_names(judged)
    bound_whole, _ = _global_names(whole)
    leaks |= {f"{name} (defined only in a REFERENCE block)"
              for name in (bound_whole - bound_judged) & read_judged}
    return sorted(leaks)


# ---------------------------------------------------------------------------------------------
# What comes back: observations, checked on arrival
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Observation:
    """One observed value of a test cell (``value`` still encoded, as it arrived)."""

    name: str
    value: dict
    rtol: float = 1e-7
    atol: float = 0.0
    raises: str | None = None  # observe_raises: the exception class expected
    expected: dict | None = None  # the reference run only: the reference's value

    def to_json(self) -> dict:
        out: dict[str, Any] = {"name": self.name, "value": self.value, "rtol": self.rtol,
                               "atol": self.atol}
        if self.raises is not None:
            out["raises"] = self.raises
        return out


def accept(payload: Any) -> Observation:
    """An observation from a process that may be hostile, or ``ValueError`` saying why not."""
    if not isinstance(payload, dict):
        raise ValueError(f"an observation must be a JSON object, received {type(payload).__name__}")
    name = payload.get("name")
    if not isinstance(name, str) or not name or len(name) > 500:
        raise ValueError("an observation's name must be a string of 1 to 500 characters")
    value = payload.get("value")
    decode_value(value)  # raises ValueError on anything outside the schema
    expected = payload.get("expected")
    if expected is not None:
        decode_value(expected)
    tol = {k: payload.get(k, d) for k, d in (("rtol", 1e-7), ("atol", 0.0))}
    for key, v in tol.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1e300:
            raise ValueError(f"an observation's {key} must be a non-negative number")
    raises = payload.get("raises")
    if raises is not None and not (isinstance(raises, str) and raises.isidentifier()):
        raise ValueError("an observation's 'raises' must be an exception class name")
    return Observation(name, value, float(tol["rtol"]), float(tol["atol"]), raises, expected)


# ---------------------------------------------------------------------------------------------
# The expected values: the reference run of the instructor's solution
# ---------------------------------------------------------------------------------------------
def source_digest(source_nb) -> str:
    """sha256 of the test cells' grade_ids and sources (what the expected values depend on,
    besides the solution)."""
    h = hashlib.sha256()
    for cell in source_nb.cells:
        h.update(json.dumps([cell.cell_type, grade_id(cell), cell.source]).encode())
    return h.hexdigest()


def expected_from_run(source_nb, observed: dict[str, list[Observation]],
                      errors: dict[str, str]) -> dict:
    """The expected-values record of an assignment from its reference run: per test cell, the
    reference's value where the test gave one (the solution must match it), else the
    solution's. Raises :class:`ReferenceRunError` listing every disagreement, error, and test cell
    that observes nothing."""
    problems, cells = [], {}
    for cell in source_nb.cells:
        if not is_test(cell):
            continue
        gid = grade_id(cell)
        if gid in errors:
            problems.append(f"{gid}: the solution's run raised {errors[gid]}")
        got = observed.get(gid, [])
        if not got:
            problems.append(f"{gid}: the test cell observes nothing")
        names = [o.name for o in got]
        if len(set(names)) != len(names):
            problems.append(f"{gid}: two observations share a name")
        out = []
        for o in got:
            if o.raises is not None:
                if o.raises not in decode_value(o.value):
                    problems.append(f"{gid}: {o.name}: the solution does not raise {o.raises}")
                out.append(Observation(o.name, {"type": "str", "value": o.raises}, 0.0, 0.0,
                                       o.raises))
                continue
            value = o.value
            if o.expected is not None:
                why = compare(decode_value(o.value), decode_value(o.expected), rtol=o.rtol,
                              atol=o.atol)
                if why is not None:
                    problems.append(f"{gid}: {o.name}: the solution disagrees with the "
                                    f"reference: {why}")
                value = o.expected
            out.append(Observation(o.name, value, o.rtol, o.atol))
        cells[gid] = [o.to_json() for o in out]
    if problems:
        raise ReferenceRunError("the reference run of the solution failed:\n  "
                             + "\n  ".join(problems))
    return {"format": FORMAT, "source_digest": source_digest(source_nb), "cells": cells}


def read_expected(path: Path, source_nb) -> dict[str, list[Observation]] | None:
    """The expected observations per grade_id, or None when the file is missing, of another
    format or made from other test cells than ``source_nb``'s."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("format") != FORMAT or record.get("source_digest") != source_digest(source_nb):
        return None
    return {gid: [accept(o) for o in obs] for gid, obs in record["cells"].items()}


# ---------------------------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------------------------
def judge_cell(expected: list[Observation], received: list[Observation],
               stopped: str = "") -> str | None:
    """None when the test cell passes, else the reason shown to the student.

    It passes when it observed exactly the expected names, in order, each value matching the
    expected one under the reference run's tolerances. ``stopped`` is what ended the cell early
    (the error the submission's code raised), used to explain a missing observation.
    """
    for i, want in enumerate(expected):
        if i >= len(received):
            why = f" ({stopped})" if stopped else ""
            return f"{want.name}: the test stopped before observing it{why}."
        got = received[i]
        if got.name != want.name:
            return f"expected an observation of {want.name!r}, received one of {got.name!r}."
        value = decode_value(got.value)
        if want.raises is not None:
            if want.raises not in (value if isinstance(value, list) else []):
                what = f"it raised {value[0]}" if isinstance(value, list) and value else (
                    "it returned without raising")
                return f"{want.name}: expected {want.raises} to be raised; {what}."
            continue
        why = compare(value, decode_value(want.value), rtol=want.rtol, atol=want.atol)
        if why is not None:
            return f"{want.name}: {why}"
    if len(received) > len(expected):
        extra = len(received) - len(expected)
        return f"the test cell observed {extra} value(s) more than expected."
    return None
