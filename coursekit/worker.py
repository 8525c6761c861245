"""Grade ONE submission in a private temporary course, its kernel sandboxed (issue 13).

:func:`grade_submission` is the contract of ``/CONTRACT.md``: it never writes under the
instructor's course; it copies what it needs into a private course, cleans the submitted
notebook (cells whose nbgrader metadata was removed are restored, duplicated grade_ids are
resolved), scans the student's cells for tampering (coursekit.tamper), runs nbgrader's own
``autograde`` for that one student, in this process (``NbGraderAPI``: a warm grading process pays
nbgrader's start-up once, not per submission), with the kernel in the sandbox
(coursekit.sandbox) and the limits of :class:`~coursekit.sandbox.Limits`, and returns a
size-capped JSON-serialisable dict.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from coursekit import sandbox as sb
from coursekit import tamper
from coursekit.cells import is_answer, is_test, nbmeta, strip_solution_markers
from coursekit.nbgrader_run import autograde_in_process, read_scores, run_nbgrader

#: The most bytes of a submitted notebook the grader reads.
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
#: Seconds nbgrader may take beyond the submission's wall clock (start-up, saving grades). Past
#: them the grading process ends itself (SIGKILL; bwrap's --die-with-parent takes the sandbox
#: along), and the batch retries the submission once, then reports it.
NBGRADER_OVERHEAD_S = 180


def _is_marked(cell) -> bool:
    m = nbmeta(cell)
    return bool(m.get("grade") or m.get("solution") or m.get("locked"))


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
    wanted = {nbmeta(c)["grade_id"]: c for c in release.cells if _is_marked(c)
              and nbmeta(c).get("grade_id")}
    seen: dict[str, list] = {}
    for cell in nb.cells:
        gid = nbmeta(cell).get("grade_id") if _is_marked(cell) else None
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
    present = {nbmeta(c).get("grade_id") for c in nb.cells if _is_marked(c)}
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
                if before and nbmeta(c).get("grade_id") == before[-1]:
                    at = j + 1
            nb.cells.insert(at, copy.deepcopy(ref))
            reasons.append(f"cell {gid!r} was missing from the submission; it was put back")
        present.add(gid)
    return reasons


def student_cells(nb, release=None) -> list[tuple[str, str, int]]:
    """(label, source, index) of every code cell the student can edit: answers and own cells.
    A cell identical to one of the release (a pasted copy of a test cell) is the instructor's
    code, not the student's."""
    given = {c.source for c in (release.cells if release else []) if c.cell_type == "code"}
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or (cell.source in given and not is_answer(cell)):
            continue
        if is_answer(cell):
            out.append((nbmeta(cell)["grade_id"], cell.source, i))
        elif not _is_marked(cell):
            out.append((f"cell {i}", cell.source, i))
    return out


def scan_rules(source_nb) -> tamper.Rules:
    code = [c for c in source_nb.cells if c.cell_type == "code"]
    return tamper.Rules.from_source(
        [c.source for c in code if is_test(c)],
        [strip_solution_markers(c.source) for c in code if is_answer(c) or not _is_marked(c)],
        [c.source for c in code if _is_marked(c) and not is_test(c) and not is_answer(c)],
    )


# ---------------------------------------------------------------------------------------------
# The private course
# ---------------------------------------------------------------------------------------------
def _copy_files(src: Path, dest: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> None:
    """Copy the regular files below ``src`` (never links, none over ``max_bytes``)."""
    for path in sorted(src.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > max_bytes:
            continue
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _config_lines(private: Path, sandbox: bool, limits: sb.Limits, report: Path) -> str:
    """Trusted settings appended to the instructor's config in the private course."""
    lines = [
        "\n# ---- coursekit.worker: one submission in a private course ----",
        f"c.CourseDirectory.root = {str(private)!r}",
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(private / 'gradebook.db')!r}",
        "from coursekit.sandbox import GuardedExecute as _GuardedExecute",
        "from nbgrader.preprocessors import (IgnorePattern as _IP, LimitOutput as _LO,",
        "    SaveAutoGrades as _SAG, AssignLatePenalties as _ALP, CheckCellMetadata as _CCM)",
        "from nbconvert.preprocessors import ClearMetadataPreprocessor as _CMP",
        "c.Autograde.autograde_preprocessors = [_GuardedExecute, _IP, _CMP, _LO, _SAG, _ALP, _CCM]",
        f"c.GuardedExecute.wall_s = {float(limits.wall_s)!r}",
        f"c.GuardedExecute.cell_output_bytes = {int(limits.cell_output_bytes)}",
        f"c.GuardedExecute.notebook_output_bytes = {int(limits.notebook_output_bytes)}",
        f"c.GuardedExecute.report = {str(report)!r}",
        f"c.GuardedExecute.probe = {tamper.probe_code()!r}",
    ]
    if sandbox:
        lines.append('c.Execute.kernel_manager_class = "coursekit.sandbox.SandboxKernelManager"')
    return "\n".join(lines) + "\n"


def _make_private_course(course: Path, assignment: str, student: str, private: Path) -> Path:
    """Copy what grading one submission needs; the path of the submitted notebook copy."""
    (private / "source").mkdir(parents=True)
    shutil.copyfile(course / "nbgrader_config.py", private / "nbgrader_config.py")
    shutil.copytree(course / "source" / assignment, private / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    submitted = course / "submitted" / student / assignment
    mine = private / "submitted" / student / assignment
    mine.mkdir(parents=True)
    _copy_files(submitted, mine)
    return mine


def _environment(config: Path | None) -> dict[str, str]:
    """What in-process nbgrader and the sandbox's kernel manager read from the environment."""
    env = {"PYTHONHASHSEED": "0"}
    if config is not None:
        env[sb.CONFIG_ENV] = str(config)
    return env


def _copy_gradebook(src: Path, dest: Path) -> None:
    """A consistent copy of the course's SQLite gradebook, opened read-only."""
    import sqlite3

    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as source, \
            sqlite3.connect(dest) as target:
        source.backup(target)


def _release_notebook(course: Path, private: Path, assignment: str):
    """The release notebook, from the course's release/ or generated in the private course
    (which also fills a private gradebook when the course's is not a SQLite file)."""
    name = next((private / "source" / assignment).glob("*.ipynb")).name
    released = course / "release" / assignment / name
    if (private / "gradebook.db").exists() and released.is_file():
        return nbformat.read(str(released), as_version=4)
    run = run_nbgrader(["generate_assignment", assignment, "--force"], private, limit_s=600)
    path = private / "release" / assignment / name
    if run.returncode != 0 or not path.exists():
        raise RuntimeError(f"nbgrader generate_assignment failed: {run.stdout[-1500:]}")
    return nbformat.read(str(path), as_version=4)


def _timestamp(course: Path, assignment: str, student: str) -> str | None:
    path = course / "submitted" / student / assignment / "timestamp.txt"
    try:
        return path.read_text(encoding="utf-8").strip().splitlines()[0][:64] or None
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def _read_events(report: Path) -> list[dict]:
    if not report.exists():
        return []
    events = []
    for line in report.read_text(encoding="utf-8", errors="replace").splitlines()[:10_000]:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def _message(cell) -> str:
    """First line of what made a graded cell fail, or ''."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = f"{out.get('ename', '')}: {out.get('evalue', '')}".strip(": ")
            return (text.splitlines() or [""])[0][:300]
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return ("wrote to stderr: " + str(out.get("text", "")).strip())[:300]
    return ""


def _cells(source_nb, graded_nb, grades: dict) -> list[dict]:
    """Every graded cell of the assignment, in the source notebook's order."""
    by_id = {nbmeta(c).get("grade_id"): c for c in (graded_nb.cells if graded_nb else [])}
    stem = None
    out = []
    for cell in source_nb.cells:
        m = nbmeta(cell)
        if not m.get("grade"):
            continue
        gid = m["grade_id"]
        auto, maximum = grades.get(gid, (None, float(m.get("points", 0))))
        kind = "manual" if cell.cell_type == "markdown" else "autograded"
        if kind == "autograded" and auto is None:
            auto = 0.0
        out.append({"notebook": stem, "grade_id": gid, "kind": kind,
                    # nbgrader's own: an unchanged written answer scores 0, a changed one
                    # waits for the instructor (None)
                    "auto_score": auto if kind == "manual" else float(auto),
                    "max_score": float(maximum),
                    "message": _message(by_id[gid]) if gid in by_id else ""})
    return out


# ---------------------------------------------------------------------------------------------
# grade_submission
# ---------------------------------------------------------------------------------------------
def grade_submission(course: Path, assignment: str, student: str, *,
                     sandbox: bool = True, limits: sb.Limits | None = None,
                     scratch: Path | None = None) -> dict:
    """Grade one submission (see the module docstring and CONTRACT.md); never raises for a bad
    submission: what went wrong is in ``status`` and ``reasons``."""
    t0 = time.monotonic()
    limits = limits or sb.Limits()
    if not isinstance(limits, sb.Limits):
        raise TypeError(f"limits: expected coursekit.sandbox.Limits, received {limits!r}")
    course = Path(course)
    result = {"student": student, "assignment": assignment, "status": "failed", "reasons": [],
              "score": 0.0, "max_score": 0.0, "needs_manual_grading": False, "cells": [],
              "autograded": {}, "timestamp": _timestamp(course, assignment, student),
              "seconds": 0.0}
    ok, why = sb.sandbox_available() if sandbox else (True, "")
    if not ok:
        result["reasons"].append(f"not graded: the sandbox is not available ({why})")
        return _finish(result, t0, limits)
    tmp = Path(tempfile.mkdtemp(prefix=f"grade_{assignment}_", dir=scratch))
    watchdog = threading.Timer(limits.wall_s + NBGRADER_OVERHEAD_S, os.kill,
                               (os.getpid(), signal.SIGKILL))
    watchdog.daemon = True
    watchdog.start()
    try:
        _grade_in(course, assignment, student, tmp, sandbox, limits, result)
    except Exception as err:  # noqa: BLE001 (reported in the result; the batch goes on)
        result["status"] = "failed"
        result["reasons"].append(f"could not grade: {type(err).__name__}: {err}"[:1000])
    finally:
        watchdog.cancel()
        shutil.rmtree(tmp, ignore_errors=True)
    return _finish(result, t0, limits)


def _grade_in(course: Path, assignment: str, student: str, tmp: Path, sandbox: bool,
              limits: sb.Limits, result: dict) -> None:
    private = tmp / "course"
    mine = _make_private_course(course, assignment, student, private)
    if (course / "gradebook.db").is_file():
        _copy_gradebook(course / "gradebook.db", private / "gradebook.db")
    report, config, cgroup = tmp / "report.jsonl", None, None
    source_dir = private / "source" / assignment
    if sandbox:
        work, ipc = sb.prepare_dirs(tmp / "sandbox")
        sb.copy_into_work([p for p in source_dir.rglob("*") if p.is_file()
                           and p.suffix != ".ipynb"], source_dir, work)
        cgroup = sb.Cgroup(limits)
        config = sb.SandboxConfig(str(work), str(ipc), cgroup.name).write(tmp / "sandbox.json")
    try:
        config_file = private / "nbgrader_config.py"
        config_file.write_text(config_file.read_text() + _config_lines(private, sandbox, limits,
                                                                       report))
        name = next(source_dir.glob("*.ipynb")).name
        source_nb = nbformat.read(str(source_dir / name), as_version=4)
        release = _release_notebook(course, private, assignment)
        nb = _read_submission(mine / name, result)
        if nb is None:
            return
        result["reasons"] += restore_cells(nb, release)
        cells = student_cells(nb, release)
        findings = tamper.scan_cells([(label, src) for label, src, _ in cells],
                                     scan_rules(source_nb))
        nbformat.write(nb, str(mine / name))
        _, log = autograde_in_process(private, assignment, student, **_environment(config))
    finally:
        oom = cgroup.oom_killed() if cgroup else False
        killed = cgroup.destroy() if cgroup else 0
    _collect(private, assignment, student, name, source_nb, log, result)
    _judge(result, nb, cells, findings, _read_events(report), oom, killed, limits)


def _read_submission(path: Path, result: dict):
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"it is larger than {MAX_NOTEBOOK_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
        json.loads(text)  # a JSONDecodeError names the line and column where the file breaks
        return nbformat.reads(text, as_version=4)
    except FileNotFoundError:
        result["reasons"].append(f"not graded: no {path.name} in the submission")
    except Exception as err:  # noqa: BLE001 (any unreadable file is reported the same way)
        result["reasons"].append(
            f"not graded: {path.name} is not a valid notebook: {type(err).__name__}: {err}"[:500])
    return None


def _collect(private: Path, assignment: str, student: str, name: str, source_nb, log: str,
             result: dict) -> None:
    """Scores and the graded notebook, from the private gradebook and autograded/ folder."""
    stem = Path(name).stem
    grades = read_scores(private, assignment, student).get(student, {})
    graded_path = private / "autograded" / student / assignment / name
    graded = nbformat.read(str(graded_path), as_version=4) if graded_path.exists() else None
    if not grades or graded is None:
        result["reasons"].append("nbgrader could not grade the notebook: "
                                 + log.strip()[-1500:])
        return
    result["status"] = "graded"
    result["cells"] = _cells(source_nb, graded, grades)
    for cell in result["cells"]:
        cell["notebook"] = stem
    result["autograded"] = {name: graded_path.read_text(encoding="utf-8")}
    result["needs_manual_grading"] = any(c["kind"] == "manual" for c in result["cells"])


def _judge(result: dict, nb, cells: list, findings: list, events: list[dict], oom: bool,
           killed: int, limits: sb.Limits) -> None:
    """Reasons from the run, the tamper verdict and the final score (all in the trusted
    process). A flagged submission scores zero on every test cell after the first cell it
    could have tampered with: at most what the blank release scores there."""
    reasons = result["reasons"]
    for event in events:
        if event.get("kind") in ("stopped", "output") and event.get("reason"):
            why = str(event["reason"])[:300]
            if event["kind"] == "stopped" and "kernel died" in why and oom:
                why += f" (it reached the memory limit of {limits.memory_bytes / 2**30:g} GiB)"
            if why not in reasons:
                reasons.append(why)
    if killed:
        reasons.append(f"{killed} process(es) of the submission were still running at the end "
                       "and were killed")
    order = {(nbmeta(c).get("grade_id") or f"cell {i}"): i for i, c in enumerate(nb.cells)}
    index_of = {label: i for label, _, i in cells}
    tainted = [index_of.get(f.cell, 0) for f in findings]
    reasons += [f"flagged: {f}" for f in findings[:20]]
    probe = tamper.probe_findings(events)
    reasons += [f"flagged: {why}" for _, why in probe[:20]]
    tainted += [order.get(gid, 0) - 1 for gid, _ in probe]
    if tainted and result["status"] == "graded":
        result["status"] = "flagged"
        start = min(tainted)
        for cell in result["cells"]:
            if cell["kind"] == "autograded" and order.get(cell["grade_id"], 0) > start:
                cell["auto_score"] = 0.0
    auto = [c for c in result["cells"] if c["kind"] == "autograded"]
    result["score"] = float(sum(c["auto_score"] for c in auto))
    result["max_score"] = float(sum(c["max_score"] for c in auto))


def _finish(result: dict, t0: float, limits: sb.Limits) -> dict:
    """Seconds, and the size cap: outputs are dropped from the graded notebook if the result
    would be larger than ``limits.result_bytes``."""
    result["seconds"] = round(time.monotonic() - t0, 3)
    if len(json.dumps(result)) > limits.result_bytes:
        for name, text in list(result["autograded"].items()):
            nb = nbformat.reads(text, as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = []
            result["autograded"][name] = nbformat.writes(nb)
        result["reasons"].append(f"the result was over {limits.result_bytes} bytes: outputs "
                                 "were dropped from the graded notebook")
        if len(json.dumps(result)) > limits.result_bytes:
            result["autograded"] = {}
    return json.loads(json.dumps(result))
