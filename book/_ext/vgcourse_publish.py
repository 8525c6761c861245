"""Publish what students download with the rendered book.

A local Sphinx extension (listed in ``_config.yml`` under ``sphinx.local_extensions``). It

* generates the **student version** of every assignment in ``exercises/source/`` with nbgrader
  (solutions replaced by stubs, hidden tests removed, model answers replaced) and copies the
  release notebooks into the HTML output as ``exercises/<assignment>.ipynb``; the source
  notebooks are never copied. Anything of the source's that survives into the release (a
  solution marker, a hidden-test marker) fails the build;
* provides the ``{assignments}`` directive, a table of every assignment with its chapter, its
  download link and its points (autograded and graded by hand), read from the nbgrader
  metadata of the source notebooks, so the Exercises page cannot go stale;
* serves MathJax 3 from the book itself: it copies the MathJax files shipped by the
  ``django-static-mathjax`` wheel into ``_static/mathjax/`` (``mathjax_path`` in
  ``_config.yml`` points there), so math renders without a CDN;
* keeps the pages free of console errors: a favicon, a valid colour mode, and no script
  included twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Text that may appear in an instructor's source notebook but never in anything published.
FORBIDDEN_MARKERS = re.compile(
    r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|BEGIN MARK SCHEME"
)
#: Where the release notebooks go inside the HTML output (a URL path, relative to the root).
EXERCISES_URL_DIR = "exercises"
#: Where the MathJax files go inside the HTML output.
MATHJAX_DIR = "_static/mathjax"


# --------------------------------------------------------------------------------------------
# The assignments
# --------------------------------------------------------------------------------------------


def exercises_root(app: Sphinx) -> Path:
    """The nbgrader course directory: ``vgcourse_exercises_dir``, relative to the book's source."""
    return (Path(app.srcdir) / app.config.vgcourse_exercises_dir).resolve()


def assignment_names(root: Path) -> list[str]:
    """The assignments in ``root/source``: folders holding at least one ``.ipynb``."""
    source = root / "source"
    if not source.is_dir():
        return []
    return sorted(
        d.name
        for d in source.iterdir()
        if d.is_dir() and not d.name.startswith(".") and any(d.glob("*.ipynb"))
    )


def _nbgrader_config(root: Path):
    """The course's ``nbgrader_config.py`` (if any) as a traitlets Config, rooted in a temp dir."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (root / "nbgrader_config.py").is_file():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
    return config


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
    config = _nbgrader_config(root)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = "*"  # every assignment copied above
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.create_assignment = True  # in the scratch gradebook, deleted afterwards
    converter.force = True
    # nbgrader's gradebook runs the `alembic` command, which lives beside this Python (in
    # .venv/bin) and is not on PATH when the venv is not activated.
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), path])
    try:
        converter.start()
    finally:
        os.environ["PATH"] = path
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
    """Fail the build if a release still holds solution, hidden-test or mark-scheme text."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in {".ipynb", ".py", ".md", ".txt"}:
            found = FORBIDDEN_MARKERS.search(path.read_text(encoding="utf-8", errors="replace"))
            if found:
                raise ExtensionError(
                    f"the release of {name!r} still contains {found.group(0)!r} in "
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
    # Drop what is no longer an assignment (a renamed folder must not leave its old release).
    for path in out.iterdir():
        if path.name != stamp_file.name and path.stem not in names:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    new_stamps = {}
    todo = []
    for name in names:
        digest = _source_digest(root, name)
        if stamps.get(name) == digest and (out / f"{name}.ipynb").is_file():
            new_stamps[name] = digest
        else:
            todo.append((name, digest))
    if todo:
        logger.info(f"[vgcourse] generating the student versions of {[n for n, _ in todo]}")
    with tempfile.TemporaryDirectory(prefix="vgcourse-release-") as tmp:
        releases = None
        if todo:
            try:
                releases = _generate_releases(root, [n for n, _ in todo], Path(tmp))
            except Exception as err:  # nbgrader raises its own exception types
                logger.warning(f"[vgcourse] nbgrader generate_assignment failed: {err}")
                releases = Path(tmp) / "course" / "release"
        for name, digest in todo:
            if _publish_release(releases / name, name, out):
                new_stamps[name] = digest
    stamp_file.write_text(json.dumps(new_stamps, indent=1))


# --------------------------------------------------------------------------------------------
# The {assignments} directive
# --------------------------------------------------------------------------------------------


def assignment_summary(notebook: Path) -> dict:
    """Points and cell counts of a source notebook, from its nbgrader metadata."""
    nb = nbformat.read(notebook, as_version=4)
    auto = manual = 0.0
    tests = written = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        points = float(meta.get("points", 0))
        if meta.get("solution"):  # a graded answer cell: marked by hand
            manual += points
            written += 1
        else:  # a test cell: autograded
            auto += points
            tests += 1
    return {"auto": auto, "manual": manual, "tests": tests, "written": written}


def _fmt(points: float) -> str:
    return f"{points:g}"


class AssignmentsDirective(Directive):
    """A table: chapter, assignment download, autograded and hand-graded points."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        app = env.app
        root = exercises_root(app)
        names = assignment_names(root)
        for name in names:  # the page is rebuilt when an assignment's points change
            env.note_dependency(str(root / "source" / name / f"{name}.ipynb"))
        if not names:
            logger.warning(
                f"[vgcourse] no assignments found in {root / 'source'}",
                location=(env.docname, self.lineno),
            )
            return []
        docnames = sorted(env.found_docs)
        table = nodes.table(classes=["vgcourse-assignments"])
        headers = ["Chapter", "Assignment (student version)", "Autograded", "By hand"]
        group = nodes.tgroup(cols=len(headers))
        table += group
        for width in (34, 34, 16, 16):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        row = nodes.row()
        for text in headers:
            row += nodes.entry("", nodes.paragraph(text=text))
        head += row
        group += head
        body = nodes.tbody()
        group += body
        for name in names:
            # The chapter: psN_* belongs to book/0N_*.md.
            number = re.match(r"ps(\d+)_", name)
            chapter = None
            if number:
                prefix = f"{int(number.group(1)):02d}_"
                chapter = next((d for d in docnames if d.startswith(prefix)), None)
            summary = assignment_summary(root / "source" / name / f"{name}.ipynb")
            row = nodes.row()
            # chapter cell: a cross-reference resolved by Sphinx (a missing chapter warns)
            para = nodes.paragraph()
            if chapter:
                para += _pending_doc_ref(chapter, env.docname)
            else:
                para += nodes.Text("(no chapter)")
            row += nodes.entry("", para)
            # download cell
            para = nodes.paragraph()
            href = f"{EXERCISES_URL_DIR}/{name}.ipynb"
            para += nodes.raw(
                "",
                f'<a class="reference download vgcourse-assignment" href="{href}" download>'
                f'<code class="docutils literal notranslate">{name}.ipynb</code></a>',
                format="html",
            )
            folder = root / "source" / name
            files = [
                p for p in folder.rglob("*")
                if p.is_file() and not any(
                    part.startswith(".") or part == "__pycache__"
                    for part in p.relative_to(folder).parts
                )
            ]
            if len(files) > 1:
                para += nodes.raw(
                    "",
                    f' (with its data: <a class="reference download" '
                    f'href="{EXERCISES_URL_DIR}/{name}.zip" download>{name}.zip</a>)',
                    format="html",
                )
            row += nodes.entry("", para)
            tests, written = summary["tests"], summary["written"]
            row += nodes.entry(
                "",
                nodes.paragraph(
                    text=f"{_fmt(summary['auto'])} points, {tests} test{'s' * (tests != 1)}"
                ),
            )
            row += nodes.entry(
                "",
                nodes.paragraph(
                    text=f"{_fmt(summary['manual'])} points, "
                    f"{written} answer{'s' * (written != 1)}"
                ),
            )
            body += row
        return [table]


def _pending_doc_ref(target: str, fromdoc: str) -> nodes.Node:
    """A ``{doc}`` reference to ``target`` that Sphinx resolves (and titles) at write time."""
    from sphinx.addnodes import pending_xref

    ref = pending_xref(
        "", refdomain="std", reftype="doc", reftarget=f"/{target}", refexplicit=False,
        refdoc=fromdoc, refwarn=True,
    )
    ref += nodes.inline("", target, classes=["xref", "std", "std-doc"])
    return ref


# --------------------------------------------------------------------------------------------
# MathJax, served by the book itself
# --------------------------------------------------------------------------------------------


def _mathjax_source() -> Path:
    """The ``es5`` folder of MathJax 3 shipped in the ``django-static-mathjax`` wheel."""
    try:
        import mathjax  # the django-static-mathjax distribution
    except ImportError as err:
        raise ExtensionError(
            "MathJax is served from the book: install django-static-mathjax "
            "(it is in requirements.txt)"
        ) from err
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise ExtensionError(f"no MathJax 3 es5 build in {es5}")
    return es5


#: What ``tex-mml-chtml.js`` loads: TeX extensions (autoloaded), the CommonHTML fonts, the
#: accessibility and menu components. The SVG output and the speech-rule maps are left out.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "adaptors")


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: copy the parts of MathJax's es5 build the book uses (once)."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / MATHJAX_DIR
    if (target / "tex-mml-chtml.js").is_file():
        return
    source = _mathjax_source()
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        elif (source / part).is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / part, target / part)


# --------------------------------------------------------------------------------------------
# A page that loads without console errors
# --------------------------------------------------------------------------------------------


def configure_theme(app: Sphinx, config) -> None:
    """``config-inited``: a favicon, so that browsers do not ask for ``/favicon.ico`` (a 404)."""
    if not config.html_favicon:
        config.html_favicon = str(Path(__file__).with_name("favicon.svg"))


def clean_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: no console error from the theme's own scripts.

    * Jupyter Book 1.x registers sphinx-thebe's inline ``const THEBE_JS_URL = ...`` twice; the
      second copy is a SyntaxError ("Identifier 'THEBE_JS_URL' has already been declared").
      Identical scripts are kept once.
    * pydata-sphinx-theme's layout sets the page's colour mode from ``default_mode``, which
      nothing defines, and then logs "Got invalid theme mode" and falls back to ``auto``:
      ``auto`` is set here (the same behaviour, without the error).
    """
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        # an inline script is registered with filename None by some extensions, "" by others
        key = (getattr(script, "filename", script) or "", repr(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def link_favicon_in_redirect(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: give sphinx-external-toc's redirecting ``index.html`` the favicon.

    That one-line page names no icon, so a browser asks for ``/favicon.ico`` (a 404 in the
    console) unless the redirect wins the race.
    """
    if exception is not None or app.builder.format != "html" or not app.config.html_favicon:
        return
    index = Path(app.outdir) / "index.html"
    if not index.is_file():
        return
    text = index.read_text(encoding="utf-8")
    if 'http-equiv="Refresh"' in text and 'rel="icon"' not in text:
        icon = f"_static/{Path(app.config.html_favicon).name}"
        index.write_text(f'<link rel="icon" href="{icon}" />\n{text}', encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.add_config_value("vgcourse_exercises_dir", "../exercises", "env")
    app.add_directive("assignments", AssignmentsDirective)
    app.connect("config-inited", configure_theme)
    app.connect("html-page-context", clean_page_context, priority=900)
    app.connect("build-finished", publish_exercises)
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", link_favicon_in_redirect, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
