"""Grade ONE submission in a private temporary course, its kernel sandboxed (issue 13).

:func:`grade_submission` is the contract of ``/CONTRACT.md``: it never writes under the
instructor's course; it copies what it needs into a private course, cleans the submitted
notebook (cells whose nbgrader metadata was removed are restored, duplicated grade_ids are
resolved), scans the student's cells for tampering (coursekit.tamper), runs nbgrader's own
``autograde`` for that one student with the kernel in the sandbox (coursekit.sandbox) and the
limits of :class:`~coursekit.sandbox.Limits`, and returns a size-capped JSON-serialisable dict.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursekit import sandbox as sb
from coursekit import tamper

#: The most bytes of a submitted notebook the grader reads.
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
#: Seconds nbgrader may take beyond the submission's wall clock (start-up, saving grades).
NBGRADER_OVERHEAD_S = 180


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_marked(cell) -> bool:
    m = _meta(cell)
    return bool(m.get("grade") or m.get("solution") or m.get("locked"))


def _is_test(cell) -> bool:
    m = _meta(cell)
    return cell.cell_type == "code" and bool(m.get("grade")) and not m.get("solution")


def _is_answer(cell) -> bool:
    m = _meta(cell)
    return cell.cell_type == "code" and bool(m.get("solution")) and not m.get("grade")


def _strip_markers(source: str) -> str:
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    return "\n".join(ln for ln in source.splitlines() if ln.strip() not in markers)


# ---------------------------------------------------------------------------------------------
# Cleaning the submitted notebook (trusted, before anything runs)
# ---------------------------------------------------------------------------------------------
def restore_cells(nb, release) -> list[str]:
    """Resolve duplicated grade_ids and give back nbgrader metadata the student removed.

    A duplicated grade_id (JupyterLab's copy of a cell keeps its metadata) keeps the copy whose
    source is the release's, else the first; the other copies become ordinary cells. A release
    cell with nbgrader metadata whose grade_id is missing is restored on the cell with the same
    cell id or the same source, else inserted back after the cell before it; nbgrader then
    overwrites locked and test cells from the gradebook as usual.
    """
    reasons = []
    wanted = {_meta(c)["grade_id"]: c for c in release.cells if _is_marked(c)
              and _meta(c).get("grade_id")}
    seen: dict[str, list] = {}
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id") if _is_marked(cell) else None
        if gid:
            seen.setdefault(gid, []).append(cell)
    for gid, cells in seen.items():
        if len(cells) > 1:
            ref = wanted.get(gid)
            keep = next((c for c in cells if ref is not None and c.source == ref.source),
                        cells[0])
            for c in cells:
                if c is not keep:
                    c.metadata.pop("nbgrader", None)
            reasons.append(f"cell {gid!r} appeared {len(cells)} times (a copied cell); "
                           "one copy was graded, the others ran as ordinary cells")
    present = {_meta(c).get("grade_id") for c in nb.cells if _is_marked(c)}
    order = list(wanted)
    for i, gid in enumerate(order):
        if gid in present:
            continue
        ref = wanted[gid]
        match = next((c for c in nb.cells if not _is_marked(c) and (
            (c.get("id") and c.get("id") == ref.get("id")) or c.source == ref.source)), None)
        if match is not None:
            match.metadata["nbgrader"] = copy.deepcopy(ref.metadata["nbgrader"])
            match.cell_type = ref.cell_type
            reasons.append(f"cell {gid!r} had lost its nbgrader metadata; it was restored")
        else:
            before = [g for g in order[:i] if g in present]
            at = 0
            for j, c in enumerate(nb.cells):
                if before and _meta(c).get("grade_id") == before[-1]:
                    at = j + 1
            nb.cells.insert(at, copy.deepcopy(ref))
            reasons.append(f"cell {gid!r} was missing from the submission; it was put back")
        present.add(gid)
    return reasons


def student_cells(nb) -> list[tuple[str, str, int]]:
    """(label, source, index) of every code cell the student can edit: answers and own cells."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if _is_answer(cell):
            out.append((_meta(cell)["grade_id"], cell.source, i))
        elif not _is_marked(cell):
            out.append((f"cell {i}", cell.source, i))
    return out


def scan_rules(source_nb) -> tamper.Rules:
    code = [c for c in source_nb.cells if c.cell_type == "code"]
    return tamper.Rules.from_source(
        [c.source for c in code if _is_test(c)],
        [_strip_markers(c.source) for c in code if _is_answer(c) or not _is_marked(c)],
        [c.source for c in code if _is_marked(c) and not _is_test(c) and not _is_answer(c)],
    )
