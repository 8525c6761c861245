"""The grader's side of per-student variants (the mapping itself is :mod:`vgcourse.variants`).

An assignment with variants declares them in the locked cell ``grade_id: "variants"`` of its
source notebook, as literals the grader reads without running anything::

    VARIANT_KEY = "..."                     # the course key (not a secret)
    VARIANTS = [{"x": 0.5, ...}, ...]        # 2 or more dicts of JSON values
    params = variant_params("<assignment>", STUDENT_ID, VARIANTS, key=VARIANT_KEY)

The grader reads them from the *instructor's* source notebook, derives a submission's variant
from the name of its folder in ``submitted/`` (:func:`student_variant`), and hands the
parameters to the kernel in ``$VGCOURSE_VARIANT`` (:func:`environment_value`); the reference run
of the solution runs once per variant, with each variant's parameters
(``coursekit.worker.record_expected``).

``python -m coursekit.variants ASSIGNMENT [STUDENT ...] [--course exercises]`` prints each
student's variant and numbers (every student of ``submitted/`` when none is named).
"""

from __future__ import annotations

import argparse
import ast
import json
from dataclasses import dataclass
from pathlib import Path

from coursekit.assignments import COURSE
from coursekit.cells import grade_id, nbmeta, read_notebook
from vgcourse.variants import variant_index

#: grade_id of the locked cell that declares an assignment's variants.
VARIANTS_CELL = "variants"


@dataclass(frozen=True)
class Declaration:
    """An assignment's course key and variants, as its source notebook declares them."""

    key: str
    variants: list[dict]


def _literal(tree: ast.Module, name: str, where: str):
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == name):
            try:
                return ast.literal_eval(stmt.value)
            except ValueError as err:
                raise ValueError(f"{where}: {name} must be a literal ({err})") from None
    raise ValueError(f"{where}: no `{name} = ...` line")


def declaration(source_nb, assignment: str) -> Declaration | None:
    """The variants ``source_nb`` declares (None when it has no locked ``variants`` cell);
    ValueError naming what is wrong with a malformed declaration."""
    cells = [c for c in source_nb.cells if grade_id(c) == VARIANTS_CELL]
    if not cells:
        return None
    cell, where = cells[0], f"{assignment}: the {VARIANTS_CELL!r} cell"
    if len(cells) > 1 or cell.cell_type != "code" or not nbmeta(cell).get("locked"):
        raise ValueError(f"{where} must be one locked code cell")
    tree = ast.parse(cell.source)
    key, variants = _literal(tree, "VARIANT_KEY", where), _literal(tree, "VARIANTS", where)
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"{where}: VARIANT_KEY must be a non-empty str, received {key!r}")
    if (not isinstance(variants, list) or len(variants) < 2
            or not all(isinstance(v, dict) for v in variants)):
        raise ValueError(f"{where}: VARIANTS must be a list of two or more dicts")
    for v in variants:
        json.dumps(v, allow_nan=False)  # what the kernel is handed must be plain JSON
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "variant_params"]
    named = [ast.literal_eval(c.args[0]) for c in calls if c.args]
    if named != [assignment]:
        raise ValueError(f"{where}: expected one call variant_params({assignment!r}, ...), "
                         f"found calls naming {named}")
    return Declaration(key, variants)


def student_variant(source_nb, assignment: str, student: str) -> int | None:
    """The index of the variant of ``student`` (the submission's folder name), or None when
    the assignment has no variants."""
    declared = declaration(source_nb, assignment)
    if declared is None:
        return None
    return variant_index(declared.key, assignment, student, len(declared.variants))


def environment_value(source_nb, assignment: str, index: int) -> str:
    """``$VGCOURSE_VARIANT`` for the kernel that runs variant ``index`` of ``assignment``."""
    declared = declaration(source_nb, assignment)
    if declared is None or not 0 <= index < len(declared.variants):
        raise ValueError(f"index: {assignment} has no variant {index!r}")
    return json.dumps({"assignment": assignment, "index": index,
                       "params": declared.variants[index]})


def main(argv: list[str] | None = None) -> int:
    """``python -m coursekit.variants``: which variant, and which numbers, each student has."""
    parser = argparse.ArgumentParser(description="Each student's variant of an assignment.")
    parser.add_argument("assignment")
    parser.add_argument("students", nargs="*",
                        help="student ids (default: every student of <course>/submitted/)")
    parser.add_argument("--course", type=Path, default=COURSE)
    args = parser.parse_args(argv)
    notebook = args.course / "source" / args.assignment / f"{args.assignment}.ipynb"
    if not notebook.is_file():
        parser.error(f"assignment: no {notebook}")
    source_nb = read_notebook(notebook)
    declared = declaration(source_nb, args.assignment)
    if declared is None:
        print(f"{args.assignment} declares no variants: every student has the same numbers.")
        return 0
    students = args.students or sorted(
        p.parent.name for p in (args.course / "submitted").glob(f"*/{args.assignment}"))
    print(f"{args.assignment}: {len(declared.variants)} variants")
    for student in students:
        k = student_variant(source_nb, args.assignment, student)
        print(f"{student}\t{k}\t{json.dumps(declared.variants[k])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
