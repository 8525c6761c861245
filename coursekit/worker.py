"""Grades ONE submission in a private temporary course (CONTRACT.md, ``grade_submission``).

STAND-IN of the scale branch (issue 14): no sandbox, no tamper scan. The sandbox branch's
``worker.py`` (issue 13) replaces this file at merge; keep nothing else here.

nbgrader runs in this process through its Python API (``NbGraderAPI.autograde``), so a worker
process that grades many submissions imports nbgrader, torch and numpy once. Nothing is written
under ``course``: the private course holds copies of the config, the assignment's source folder,
the gradebook (the released assignment) and the one submission.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import nbformat

#: The largest autograded notebook a result carries (characters of nbformat JSON).
MAX_NOTEBOOK_CHARS = 5_000_000


def _copy_gradebook(db_url: str, course: Path, assignment: str, dest: Path) -> str:
    """A private SQLite gradebook holding the released ``assignment``: a file copy of a SQLite
    course gradebook, or the assignment's cells read from any other database (PostgreSQL)."""
    from nbgrader.api import Gradebook

    target = f"sqlite:///{dest}"
    if db_url.startswith("sqlite:///"):
        path = Path(db_url[len("sqlite:///"):])
        shutil.copyfile(path if path.is_absolute() else course / path, dest)
        return target
    with Gradebook(db_url) as src, Gradebook(target) as out:
        a = src.find_assignment(assignment)
        out.update_or_create_assignment(a.name, duedate=a.duedate)
        for nb in a.notebooks:
            out.update_or_create_notebook(nb.name, a.name)
            for c in nb.grade_cells:
                out.update_or_create_grade_cell(c.name, nb.name, a.name, max_score=c.max_score,
                                                cell_type=c.cell_type)
            for c in nb.solution_cells:
                out.update_or_create_solution_cell(c.name, nb.name, a.name)
            for c in nb.task_cells:
                out.update_or_create_task_cell(c.name, nb.name, a.name, max_score=c.max_score,
                                               cell_type=c.cell_type)
            for c in nb.source_cells:
                out.update_or_create_source_cell(c.name, nb.name, a.name, cell_type=c.cell_type,
                                                 locked=c.locked, source=c.source,
                                                 checksum=c.checksum)
    return target


def _first_error(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}".splitlines()[0][:300]
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return ("stderr: " + out.get("text", "").strip()).splitlines()[0][:300]
    return ""


def _read_result(db: str, private: Path, assignment: str, student: str) -> dict:
    from nbgrader.api import Gradebook

    cells, autograded = [], {}
    with Gradebook(db) as gb:
        sub = gb.find_submission(assignment, student)
        for nbsub in sub.notebooks:
            path = private / "autograded" / student / assignment / f"{nbsub.name}.ipynb"
            text = path.read_text(encoding="utf-8")
            if len(text) > MAX_NOTEBOOK_CHARS:
                raise ValueError(f"autograded notebook {path.name} is {len(text)} characters, "
                                 f"over the {MAX_NOTEBOOK_CHARS} cap")
            autograded[f"{nbsub.name}.ipynb"] = text
            by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c
                     for c in nbformat.reads(text, as_version=4).cells}
            for g in sorted(nbsub.grades, key=lambda g: g.cell.id):
                kind = "autograded" if g.cell.cell_type == "code" else "manual"
                cells.append({"notebook": nbsub.name, "grade_id": g.name, "kind": kind,
                              "auto_score": g.auto_score,
                              "max_score": float(g.max_score),
                              "message": _first_error(by_id[g.name]) if g.name in by_id else ""})
    order = {}
    for name, text in autograded.items():
        for i, c in enumerate(nbformat.reads(text, as_version=4).cells):
            order[(name[:-6], c.metadata.get("nbgrader", {}).get("grade_id"))] = i
    cells.sort(key=lambda c: (c["notebook"], order.get((c["notebook"], c["grade_id"]), 1 << 30)))
    return {"cells": cells, "autograded": autograded}


def _reasons(log: str) -> list[str]:
    found = re.findall(r"Attribute '(\w+)' for cell (\S+) has changed!", log)
    reasons = [f"cell {cell}: its {attr} was edited; restored from the source" for attr, cell in
               found]
    errors = [e for e in re.findall(r"^\s*([\w.]+(?:Error|Exception)\b: .+)$", log, re.M)
              if "NbGraderException" not in e]
    return reasons + [f"nbgrader could not grade it: {e.strip()[:300]}" for e in errors[:1]]


def grade_submission(course: Path, assignment: str, student: str, *, sandbox: bool = True,
                     limits=None, scratch: Path | None = None) -> dict:
    """Grade ``submitted/<student>/<assignment>/`` of ``course``; the contract's result dict."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    start = time.perf_counter()
    course = Path(course).resolve()
    submitted = course / "submitted" / student / assignment
    stamp = submitted / "timestamp.txt"
    result = {"student": student, "assignment": assignment, "status": "failed", "reasons": [],
              "score": 0.0, "max_score": 0.0, "needs_manual_grading": False, "cells": [],
              "autograded": {},
              "timestamp": stamp.read_text().strip() if stamp.is_file() else None}
    with tempfile.TemporaryDirectory(prefix="grade_", dir=scratch) as tmp:
        private = Path(tmp)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        (private / "source").mkdir()
        shutil.copytree(course / "source" / assignment, private / "source" / assignment)
        shutil.copytree(submitted, private / "submitted" / student / assignment)
        db_url = config.CourseDirectory.get("db_url", "sqlite:///gradebook.db")
        db = _copy_gradebook(db_url, course, assignment, private / "gradebook.db")
        config.CourseDirectory.root = str(private)
        config.CourseDirectory.db_url = db
        coursedir = CourseDirectory(config=config)
        with warnings.catch_warnings():  # nbgrader's own SQLAlchemy autoflush notes, not ours
            warnings.filterwarnings("ignore", message=".*not in session.*")
            api = NbGraderAPI(coursedir=coursedir, config=config)
            outcome = api.autograde(assignment, student)
        log = outcome.get("log", "") + outcome.get("error", "")
        result["reasons"] = _reasons(log)
        if outcome["success"]:
            try:
                result.update(_read_result(db, private, assignment, student))
                result["status"] = "graded"
            except Exception as err:  # noqa: BLE001 (reported in the result)
                result["reasons"].append(f"could not read the grades back: {err}")
        elif not result["reasons"]:
            result["reasons"].append(log.strip().splitlines()[-1] if log.strip() else "failed")
    auto = [c for c in result["cells"] if c["kind"] == "autograded"]
    result["score"] = float(sum(c["auto_score"] or 0.0 for c in auto))
    result["max_score"] = float(sum(c["max_score"] for c in auto))
    result["needs_manual_grading"] = any(c["kind"] == "manual" for c in result["cells"])
    result["seconds"] = round(time.perf_counter() - start, 3)
    json.dumps(result)  # JSON-serialisable, never pickle
    return result
