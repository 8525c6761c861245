"""Grade ONE submission in a private temporary course, its kernel sandboxed.

:func:`grade_submission` never writes under the instructor's course; it copies what it needs
into a private course, cleans the submitted notebook (cells whose nbgrader metadata was removed
are restored, duplicated grade_ids are resolved), runs nbgrader's own ``autograde`` for that one
student, in this process (``NbGraderAPI``: a warm grading process pays nbgrader's start-up once,
not per submission), with the kernel in the sandbox (:mod:`coursekit.sandbox`; by default forked
from this process's warm kernel template, :mod:`coursekit.warm_kernels`) and the limits of
:class:`~coursekit.sandbox.Limits`, and returns a size-capped JSON-serialisable dict.

The kernel only runs the student's cells and the test cells without their references; every
test cell is decided here, from the values it observed, against the expected values of the
reference run of the instructor's solution (:func:`record_expected`, kept in
``<course>/expected/``, never in ``release/``): see :mod:`coursekit.judge` and
:mod:`coursekit.preprocessors`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
from traitlets.config import Config

from coursekit import judge, warm_kernels
from coursekit import result as res
from coursekit import sandbox as sb
from coursekit import variants as cv
from coursekit.cells import is_test, nbmeta
from coursekit.nbgrader_run import (
    autograde_in_process,
    environ,
    load_config,
    read_scores,
    run_nbgrader,
)
from coursekit.preprocessors import RESOURCES_KEY, GuardedExecute, Judge, first_error
from coursekit.sanitize import parse_timestamp

#: The most bytes of a submitted notebook the grader reads.
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
#: Seconds nbgrader may take beyond the submission's wall clock (start-up, saving grades). Past
#: them the pool ends the grading process (SIGKILL; bwrap's --die-with-parent takes the sandbox
#: along: coursekit.batch), and the batch retries the submission once, then reports it.
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


def autograde_preprocessors() -> list:
    """nbgrader's own autograde preprocessors, its ``Execute`` replaced by
    :class:`~coursekit.preprocessors.GuardedExecute` followed by the
    :class:`~coursekit.preprocessors.Judge`."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    out = []
    for step in Autograde.class_traits()["autograde_preprocessors"].default():
        out += [GuardedExecute, Judge] if step is Execute else [step]
    if Judge not in out:
        raise RuntimeError("nbgrader's autograde has no Execute step to replace")
    return out


def _grading_config(private: Path, sandbox: bool, limits: sb.Limits, report: Path,
                    expected: Path) -> Config:
    """Trusted settings laid over the instructor's config in the private course."""
    c = Config()
    c.CourseDirectory.root = str(private)
    c.CourseDirectory.db_url = "sqlite:///" + str(private / "gradebook.db")
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    c.GuardedExecute.mode = "record"
    c.GuardedExecute.wall_s = float(limits.wall_s)
    c.GuardedExecute.cell_output_bytes = int(limits.cell_output_bytes)
    c.GuardedExecute.notebook_output_bytes = int(limits.notebook_output_bytes)
    c.GuardedExecute.report = str(report)
    c.Judge.expected = str(expected)
    if sandbox:
        c.Execute.kernel_manager_class = "coursekit.sandbox.SandboxKernelManager"
    return c


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


def _environment(config: Path | None, observe: str, variant: str = "") -> dict[str, str]:
    """What in-process nbgrader and the kernel manager read from the environment (an
    unsandboxed kernel inherits it: ``observe`` is its ``$VGCOURSE_OBSERVE``, ``variant`` its
    ``$VGCOURSE_VARIANT``, '' for none)."""
    from vgcourse.grading import MODE_ENV
    from vgcourse.variants import VARIANT_ENV

    env = {"PYTHONHASHSEED": "0", MODE_ENV: observe, VARIANT_ENV: variant}
    if config is not None:
        env[sb.CONFIG_ENV] = str(config)
    return env


def _copy_gradebook(src: Path, dest: Path) -> None:
    """A consistent copy of the course's SQLite gradebook, opened read-only."""
    import sqlite3

    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as source, \
            sqlite3.connect(dest) as target:
        source.backup(target)


#: What this process generated per (assignment, source text): the release notebook, and the
#: private gradebook that generate_assignment filled.
_RELEASES: dict[tuple[str, str], tuple[str, bytes]] = {}


def _release_notebook(course: Path, private: Path, assignment: str):
    """The release notebook, from the course's release/ or generated in the private course
    (which also fills a private gradebook when the course's is not a SQLite file); a process
    generates it once per version of the source notebook."""
    source = next((private / "source" / assignment).glob("*.ipynb"))
    released = course / "release" / assignment / source.name
    if (private / "gradebook.db").exists() and released.is_file():
        return nbformat.read(str(released), as_version=4)
    key = (assignment, source.read_text(encoding="utf-8"))
    if key in _RELEASES:
        (private / "gradebook.db").write_bytes(_RELEASES[key][1])
    else:
        private_db = "sqlite:///" + str(private / "gradebook.db")  # never the course's own
        run = run_nbgrader(["generate_assignment", assignment, "--force",
                            f"--CourseDirectory.root={private}",
                            f"--CourseDirectory.db_url={private_db}"], private, limit_s=600)
        path = private / "release" / assignment / source.name
        if run.returncode != 0 or not path.exists():
            raise RuntimeError(f"nbgrader generate_assignment failed: {run.stdout[-1500:]}")
        _RELEASES[key] = (path.read_text(encoding="utf-8"),
                          (private / "gradebook.db").read_bytes())
    return nbformat.reads(_RELEASES[key][0], as_version=4)


def _timestamp(course: Path, assignment: str, student: str) -> str | None:
    """The submission's ``timestamp.txt`` as a timestamp, or None (a file the student wrote
    counts only when it parses as one)."""
    path = course / "submitted" / student / assignment / "timestamp.txt"
    try:
        if path.stat().st_size > 4096:
            return None
        return parse_timestamp(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
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
    if first_error(cell):
        return first_error(cell)
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
        kind = res.MANUAL if cell.cell_type == "markdown" else res.AUTOGRADED
        if kind == res.AUTOGRADED and auto is None:
            auto = 0.0
        out.append({"notebook": stem, "grade_id": gid, "kind": kind,
                    # nbgrader's own: an unchanged written answer scores 0, a changed one
                    # waits for the instructor (None)
                    "auto_score": auto if kind == res.MANUAL else float(auto),
                    "max_score": float(maximum),
                    "message": _message(by_id[gid]) if gid in by_id else ""})
    return out


# ---------------------------------------------------------------------------------------------
# The kernel's run, sandboxed: shared by the reference run and the grading of a submission
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _kernel_room(tmp: Path, data: list[Path], base: Path, sandbox: bool, limits: sb.Limits,
                 observe: str, variant: str = "") -> Iterator[tuple[dict[str, str], object | None]]:
    """The environment a kernel is started with (its sandbox's configuration, or for an
    unsandboxed kernel its ``$VGCOURSE_OBSERVE`` and ``$VGCOURSE_VARIANT``: ``variant``, from
    :func:`coursekit.variants.environment_value`), and what holds the submission's processes
    (:mod:`coursekit.backends`); the sandbox is taken down (every process killed, the socket
    folder unmounted, or with a warm template the submission's folders removed from it) on the
    way out."""
    if not sandbox:
        yield _environment(None, observe, variant), None
        return
    room_dir = tmp / "sandbox"
    room = template = work = None
    try:
        chosen = sb.backend()
        if warm_kernels.enabled():
            template = warm_kernels.template(chosen)
            work, ipc = template.new_dirs()
        else:
            work, ipc = sb.prepare_dirs(room_dir, chosen.as_root)
        sb.copy_into_work(data, base, work)
        room = chosen.room(limits)
        config = sb.SandboxConfig(str(work), str(ipc), chosen.name, room.procs_files(), observe,
                                  dataclasses.asdict(limits),
                                  str(template.root) if template else "", variant)
        yield _environment(config.write(tmp / "sandbox.json"), observe, variant), room
    finally:
        if room is not None:
            room.destroy()
        if template is not None and work is not None:
            template.finish(work)
        sb.release_dirs(room_dir)


def _data_files(source_dir: Path) -> list[Path]:
    return [p for p in source_dir.rglob("*") if p.is_file() and p.suffix != ".ipynb"]


# ---------------------------------------------------------------------------------------------
# The reference run: the expected values of an assignment's tests
# ---------------------------------------------------------------------------------------------
def expected_path(course: Path, assignment: str, variant: int | None = None) -> Path:
    """Where the expected values of an assignment (of its variant ``variant``, for an
    assignment with variants: :mod:`coursekit.variants`) are kept: beside the gradebook, never
    in ``release/`` (a student never sees them)."""
    if variant is None:
        return Path(course) / "expected" / f"{assignment}.json"
    return Path(course) / "expected" / assignment / f"{int(variant)}.json"


def _source_notebook(course: Path, assignment: str):
    return nbformat.read(str(next((Path(course) / "source" / assignment).glob("*.ipynb"))),
                         as_version=4)


def stale_references(course: Path, assignment: str) -> list[int | None]:
    """The reference runs :func:`record_expected` would run for ``assignment``: its variants
    (``[None]`` for an assignment without variants) whose expected values are missing or were
    made from other test cells."""
    source_nb = _source_notebook(course, assignment)
    declared = cv.declaration(source_nb, assignment)
    variants = [None] if declared is None else list(range(len(declared.variants)))
    return [k for k in variants if judge.read_expected(
        expected_path(course, assignment, k), source_nb) is None]


def record_expected(course: Path, assignment: str, *, sandbox: bool = True,
                    limits: sb.Limits | None = None, force: bool = False,
                    variant: int | None = None) -> Path:
    """Run the instructor's solution with the whole tests (references included) and keep what
    each test cell observes as its expected values (:func:`coursekit.judge.expected_from_run`).
    An assignment with variants is run once per variant, each run handed that variant's
    parameters (``variant`` given: that variant only), and the folder of their files returned.
    Nothing is run when the kept file was made from the same test cells, unless ``force``.
    Raises :class:`coursekit.judge.ReferenceRunError` when the solution disagrees with a test's
    reference."""
    course, limits = Path(course), limits or sb.Limits()
    source_dir = course / "source" / assignment
    source_nb = _source_notebook(course, assignment)
    declared = cv.declaration(source_nb, assignment)
    if declared is not None and variant is None:
        for k in range(len(declared.variants)):
            record_expected(course, assignment, sandbox=sandbox, limits=limits, force=force,
                            variant=k)
        return expected_path(course, assignment, 0).parent
    if declared is None and variant is not None:
        raise ValueError(f"variant: {assignment} declares no variants, received {variant!r}")
    target = expected_path(course, assignment, variant)
    if not force and judge.read_expected(target, source_nb) is not None:
        return target
    given = "" if variant is None else cv.environment_value(source_nb, assignment, variant)
    try:
        record = _reference_run(course, source_dir, source_nb, sandbox, limits, given)
    except judge.ReferenceRunError as err:
        if variant is None:
            raise
        raise judge.ReferenceRunError(f"variant {variant} {declared.variants[variant]}: "
                                      f"{err}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(record), encoding="utf-8")
    partial.replace(target)
    return target


def _reference_run(course: Path, source_dir: Path, source_nb, sandbox: bool, limits: sb.Limits,
                   variant: str) -> dict:
    """The expected-values record of one reference run (``variant``: its
    ``$VGCOURSE_VARIANT``)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"expected_{source_dir.name}_"))
    try:
        with _kernel_room(tmp, _data_files(source_dir), source_dir, sandbox, limits,
                          "reference", variant) as (env, _), environ(**env):
            run = GuardedExecute(config=load_config(course), mode="reference",
                                 wall_s=float(limits.wall_s))
            if sandbox:
                run.kernel_manager_class = sb.SandboxKernelManager
            nb, resources = run.preprocess(copy.deepcopy(source_nb),
                                           {"metadata": {"path": str(source_dir)}})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    taken = resources[RESOURCES_KEY]
    errors = {nbmeta(c)["grade_id"]: _message(c) for c in nb.cells
              if is_test(c) and _message(c)}
    errors.update(taken["refused"])
    return judge.expected_from_run(source_nb, taken["observed"], errors)


# ---------------------------------------------------------------------------------------------
# grade_submission
# ---------------------------------------------------------------------------------------------
def grade_submission(course: Path, assignment: str, student: str, *,
                     sandbox: bool = True, limits: sb.Limits | None = None,
                     scratch: Path | None = None) -> dict:
    """Grade one submission (see the module docstring); never raises for a bad submission:
    what went wrong is in ``status`` and ``reasons``. The expected values are recorded first
    when the course has none for the assignment's current tests."""
    t0 = time.monotonic()
    limits = limits or sb.Limits()
    if not isinstance(limits, sb.Limits):
        raise TypeError(f"limits: expected coursekit.sandbox.Limits, received {limits!r}")
    course = Path(course)
    result = res.new(assignment, student, _timestamp(course, assignment, student)).to_json()
    ok, why = sb.sandbox_available() if sandbox else (True, "")
    if not ok:
        result["reasons"].append(f"not graded: the sandbox is not available ({why})")
        return _finish(result, t0, limits)
    tmp = Path(tempfile.mkdtemp(prefix=f"grade_{assignment}_", dir=scratch))
    try:
        source_nb = _source_notebook(course, assignment)
        # the variant comes from the submission's folder, never from what the notebook says
        k = cv.student_variant(source_nb, assignment, student)
        variant = "" if k is None else cv.environment_value(source_nb, assignment, k)
        expected = record_expected(course, assignment, sandbox=sandbox, limits=limits,
                                   variant=k)
        _grade_in(course, assignment, student, tmp, sandbox, limits, expected, result, variant)
    except Exception as err:  # noqa: BLE001 (reported in the result; the batch goes on)
        result["status"] = res.FAILED
        result["reasons"].append(f"could not grade: {type(err).__name__}: {err}"[:1000])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _finish(result, t0, limits)


def _grade_in(course: Path, assignment: str, student: str, tmp: Path, sandbox: bool,
              limits: sb.Limits, expected: Path, result: dict, variant: str = "") -> None:
    private = tmp / "course"
    mine = _make_private_course(course, assignment, student, private)
    if (course / "gradebook.db").is_file():
        _copy_gradebook(course / "gradebook.db", private / "gradebook.db")
    report = tmp / "report.jsonl"
    source_dir = private / "source" / assignment
    name = next(source_dir.glob("*.ipynb")).name
    source_nb = nbformat.read(str(source_dir / name), as_version=4)
    release = _release_notebook(course, private, assignment)
    nb = _read_submission(mine / name, result)
    if nb is None:
        return
    result["reasons"] += restore_cells(nb, release)
    nbformat.write(nb, str(mine / name))
    config = _grading_config(private, sandbox, limits, report, expected)
    with _kernel_room(tmp, _data_files(source_dir), source_dir, sandbox, limits,
                      "record", variant) as (env, cgroup):
        try:
            _, log = autograde_in_process(private, assignment, student, config, **env)
        finally:
            oom = cgroup.oom_killed() if cgroup else False
            killed = cgroup.destroy() if cgroup else 0
    _collect(private, assignment, student, name, source_nb, log, result)
    _judge(result, _read_events(report), oom, killed, limits)


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
    result["status"] = res.GRADED
    result["cells"] = _cells(source_nb, graded, grades)
    for cell in result["cells"]:
        cell["notebook"] = stem
    result["autograded"] = {name: graded_path.read_text(encoding="utf-8")}
    result["needs_manual_grading"] = any(c["kind"] == res.MANUAL for c in result["cells"])


def _judge(result: dict, events: list[dict], oom: bool, killed: int,
           limits: sb.Limits) -> None:
    """Reasons from the run and the totals (the test cells were decided by the Judge)."""
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
    auto = [c for c in result["cells"] if c["kind"] == res.AUTOGRADED]
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
    return res.SubmissionResult.from_json(json.loads(json.dumps(result))).to_json()
