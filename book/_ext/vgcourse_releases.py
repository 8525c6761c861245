"""Publish the student version of every assignment with the rendered book.

A local Sphinx extension (``_config.yml``, ``sphinx.local_extensions``). At ``build-finished``
it generates the release of every assignment of ``exercises/source/`` with nbgrader (solutions
replaced by stubs, hidden tests removed, model answers replaced) in a scratch copy of the
course, and copies the release notebooks into the HTML output as
``exercises/<assignment>.ipynb`` (plus ``<assignment>.zip`` when the release has data files or
more notebooks). The source notebooks are never copied. A release that still holds a region
marker (``coursekit.cells.LEAK_MARKERS``) fails the build. Unchanged assignments are skipped.

When every release is in place it emits ``vgcourse-exercises-published`` (:data:`PUBLISHED_EVENT`,
with the folder of the published notebooks), so that an extension that changes them
(``vgcourse_downloads`` adds the install cell) runs after them without depending on the order of
the ``build-finished`` handlers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import nbformat
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from coursekit.assignments import discover_assignments
from coursekit.cells import marker_leak
from coursekit.nbgrader_run import load_config, venv_on_path

logger = logging.getLogger(__name__)

#: Where the release notebooks go inside the HTML output (a URL path, relative to the root).
EXERCISES_URL_DIR = "exercises"
#: The event emitted once the release notebooks are in the HTML output: ``(app, folder)``.
PUBLISHED_EVENT = "vgcourse-exercises-published"
#: Files of a release that are read as text when looking for markers.
TEXT_SUFFIXES = {".ipynb", ".py", ".md", ".txt"}


def exercises_root(app: Sphinx) -> Path:
    """The nbgrader course directory: ``vgcourse_exercises_dir``, relative to the book's source."""
    return (Path(app.srcdir) / app.config.vgcourse_exercises_dir).resolve()


def assignment_names(root: Path) -> list[str]:
    """The assignments of the course in ``root`` (``coursekit.assignments``' rule)."""
    return [a.name for a in discover_assignments(root / "source", mutant_root=None)]


def _generate_releases(root: Path, names: list[str], workdir: Path) -> Path:
    """Run nbgrader's ``generate_assignment`` for ``names`` in a scratch copy of the course.

    One nbgrader run covers every assignment (its start-up and gradebook cost are paid once).
    Returns the scratch course's release folder. Uses a scratch gradebook and never writes into
    ``root``. Raises nbgrader's exception if any assignment failed, after trying them all.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    course = workdir / "course"
    for name in names:
        shutil.copytree(root / "source" / name, course / "source" / name)
    config = load_config(root)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = "*"  # every assignment copied above
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.create_assignment = True  # in the scratch gradebook, deleted afterwards
    converter.force = True
    with venv_on_path():
        converter.start()
    return course / coursedir.release_directory


def _source_digest(root: Path, name: str) -> str:
    """A hash of the assignment's source folder and the course config (to skip unchanged work)."""
    digest = hashlib.sha256()
    paths = sorted((root / "source" / name).rglob("*"))
    if (root / "nbgrader_config.py").is_file():
        paths.append(root / "nbgrader_config.py")
    for path in paths:
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _check_release(folder: Path, name: str) -> None:
    """Fail the build if a release still holds a solution, hidden-test or mark-scheme marker."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            found = marker_leak(path.read_text(encoding="utf-8", errors="replace"))
            if found:
                raise ExtensionError(
                    f"the release of {name!r} still contains {found!r} in "
                    f"{path.name}: refusing to publish it"
                )


def _publish_release(release: Path, name: str, out: Path) -> bool:
    """Check one release folder and copy it into ``out``; warn and return False if unusable."""
    if not (release / f"{name}.ipynb").is_file():
        logger.warning(f"[vgcourse] {name}: nbgrader made no {name}.ipynb in its release")
        return False
    _check_release(release, name)
    notebooks = sorted(release.glob("*.ipynb"))
    others = [p for p in release.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
    for nb_path in notebooks:
        nbformat.validate(nbformat.read(nb_path, as_version=4))
    # The main notebook is named after the assignment (CONTRIBUTING.md); extra notebooks and
    # data files travel in a zip of the whole release folder.
    shutil.copyfile(release / f"{name}.ipynb", out / f"{name}.ipynb")
    archive = out / f"{name}.zip"
    if len(notebooks) > 1 or others:
        shutil.make_archive(str(archive.with_suffix("")), "zip", release.parent, name)
    elif archive.exists():
        archive.unlink()
    return True


def _stale(out: Path, stamps: dict, root: Path, names: list[str]) -> tuple[dict, list]:
    """(stamps of the releases already published and unchanged, [(name, digest)] to redo)."""
    kept, todo = {}, []
    for name in names:
        digest = _source_digest(root, name)
        if stamps.get(name) == digest and (out / f"{name}.ipynb").is_file():
            kept[name] = digest
        else:
            todo.append((name, digest))
    return kept, todo


def _drop_old(out: Path, names: list[str], keep: str) -> None:
    """Remove what is no longer an assignment (a renamed folder must not leave its release)."""
    for path in out.iterdir():
        if path.name != keep and path.stem not in names:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def publish_exercises(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: put the student version of every assignment into the HTML output."""
    if exception is not None or app.builder.format != "html":
        return
    root = exercises_root(app)
    out = Path(app.outdir) / EXERCISES_URL_DIR
    out.mkdir(parents=True, exist_ok=True)
    stamp_file = out / ".published.json"
    stamps = json.loads(stamp_file.read_text()) if stamp_file.is_file() else {}
    names = assignment_names(root)
    _drop_old(out, names, keep=stamp_file.name)
    new_stamps, todo = _stale(out, stamps, root, names)
    if todo:
        logger.info(f"[vgcourse] generating the student versions of {[n for n, _ in todo]}")
        with tempfile.TemporaryDirectory(prefix="vgcourse-release-") as tmp:
            try:
                releases = _generate_releases(root, [n for n, _ in todo], Path(tmp))
            except Exception as err:  # nbgrader raises its own exception types
                logger.warning(f"[vgcourse] nbgrader generate_assignment failed: {err}")
                releases = Path(tmp) / "course" / "release"
            for name, digest in todo:
                if _publish_release(releases / name, name, out):
                    new_stamps[name] = digest
    stamp_file.write_text(json.dumps(new_stamps, indent=1))
    app.emit(PUBLISHED_EVENT, out)


def setup(app: Sphinx) -> dict:
    app.add_config_value("vgcourse_exercises_dir", "../exercises", "env")
    app.add_event(PUBLISHED_EVENT)
    app.connect("build-finished", publish_exercises)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
