"""Chapter notebooks that stand alone, and the course package served with the book.

A local Sphinx extension (``_config.yml``, ``sphinx.local_extensions``), and a thin one: the
conversion of a chapter into a notebook that runs without the book is
``vgcourse_standalone`` (no Sphinx in it; its docstring says what the download is). Here:

* at ``build-finished``, every chapter's ``_sources/<chapter>.ipynb`` (what sphinx-book-theme's
  download button offers: otherwise a copy of the executed notebook, which imports ``myst_nb``,
  hides its figures and holds MyST markup) is replaced by the chapter's standalone notebook,
  made from what the build knows (:func:`book_data`); a warning of the conversion is a warning
  of the build (an error with ``-W``);
* the published exercises (``exercises/<name>.ipynb``, written by ``vgcourse_releases``) get
  the same install cell before their first code cell. ``vgcourse_releases`` announces that it
  has published them with its own event, ``vgcourse-exercises-published``, which this
  extension connects to (and ``setup`` loads that extension), so nothing depends on the order
  of the ``build-finished`` handlers;
* the course package's wheel is built (``python -m build``) into ``packages/`` of the HTML
  output, so that the book alone is enough to install it, and the ``{vgcourse-install}``
  directive gives the pip line and the wheel's download link.

The book's own build (glue, cross-references, the execution cache) is not touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import tomllib
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.util import logging
from vgcourse_releases import PUBLISHED_EVENT
from vgcourse_standalone import Book, add_install_cell, chapter_notebook, install_cell

logger = logging.getLogger(__name__)

#: Where the wheel goes in the HTML output.
PACKAGES_URL_DIR = "packages"


# --------------------------------------------------------------------------------------------
# The course package: its name and version, its wheel, the install directive
# --------------------------------------------------------------------------------------------


def package_root(app: Sphinx) -> Path:
    """The folder of the course package's ``pyproject.toml`` (``vgcourse_package_dir``)."""
    return (Path(app.srcdir) / app.config.vgcourse_package_dir).resolve()


def package_spec(app: Sphinx) -> tuple[str, str]:
    """``(name, version)`` of the course package, from its ``pyproject.toml``."""
    project = tomllib.loads((package_root(app) / "pyproject.toml").read_text())["project"]
    return project["name"], project["version"]


def wheel_name(app: Sphinx) -> str:
    name, version = package_spec(app)
    return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


def packages_url(app: Sphinx) -> str:
    """The online address of the book's ``packages/`` (empty without ``html_baseurl``)."""
    base = app.config.html_baseurl
    return f"{base.rstrip('/')}/{PACKAGES_URL_DIR}/" if base else ""


def build_wheel(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: build the package's wheel into ``packages/`` of the HTML output.

    ``python -m build --no-isolation`` (the build backend comes from this environment, so no
    network is needed): the sdist, then the wheel from the unpacked sdist, in a scratch folder.
    """
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / PACKAGES_URL_DIR
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vgcourse-wheel-") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp,
             str(package_root(app))],
            capture_output=True, text=True,
        )
        wheel = Path(tmp) / wheel_name(app)
        if done.returncode != 0 or not wheel.is_file():
            logger.warning(f"[vgcourse] python -m build failed:\n{done.stdout[-3000:]}"
                           f"{done.stderr[-3000:]}")
            return
        for old in out.glob("*.whl"):
            old.unlink()
        wheel.replace(out / wheel.name)
    # pip --find-links reads the links of this page (a static site lists no folders)
    (out / "index.html").write_text(
        f'<!DOCTYPE html>\n<html><body><a href="{wheel.name}">{wheel.name}</a></body></html>\n',
        encoding="utf-8")


class InstallDirective(Directive):
    """``{vgcourse-install}``: the pip line for the course package and its wheel's link."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        app = self.state.document.settings.env.app
        name, version = package_spec(app)
        block = nodes.literal_block(text=f"pip install {name}=={version}", language="bash")
        block["classes"].append("vgcourse-install")
        href = f"{PACKAGES_URL_DIR}/{wheel_name(app)}"
        para = nodes.paragraph()
        para += nodes.Text("Offline, or to install exactly what this book was built with: "
                           "download ")
        para += nodes.raw("", f'<a class="reference download" href="{href}" download>'
                              f'<code class="docutils literal notranslate">{wheel_name(app)}'
                              "</code></a>", format="html")
        para += nodes.Text(" and run ")
        para += nodes.literal(text=f"pip install {wheel_name(app)}")
        para += nodes.Text(".")
        return [block, para]


# --------------------------------------------------------------------------------------------
# The downloads
# --------------------------------------------------------------------------------------------


def book_data(app: Sphinx) -> Book:
    """What the conversion needs from this build (its environment, after every page is read)."""
    env = app.env
    std = env.get_domain("std")
    labels = {label: (docname, node_id, "") for label, (docname, node_id)
              in std.anonlabels.items()}
    labels.update(std.labels)  # a named target's section title wins over the anonymous one
    return Book(
        source_dir=Path(app.srcdir),
        executed_dir=Path(app.outdir).parent / "jupyter_execute",
        sources={docname: Path(env.doc2path(docname)) for docname in env.found_docs},
        source_suffixes=tuple(app.config.source_suffix),
        titles={docname: title.astext() for docname, title in env.titles.items()},
        labels=labels,
        equations=dict(env.get_domain("math").equations),
        fignumbers=env.toc_fignumbers,
        base_url=app.config.html_baseurl,
        figure_format=app.config.numfig_format.get("figure", "Fig. %s"),
        bibfiles=tuple(Path(app.srcdir) / name for name in app.config.bibtex_bibfiles),
        source_encoding=app.config.source_encoding,
        package=package_spec(app),
        packages_url=packages_url(app),
    )


def write_downloads(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: every chapter's ``_sources/<chapter>.ipynb``, standing alone."""
    if exception is not None or app.builder.format != "html":
        return
    book = book_data(app)
    for docname in sorted(app.env.found_docs):
        if not book.executed_notebook(docname).is_file():
            continue
        notebook, warnings = chapter_notebook(book, docname)
        for message in warnings:
            logger.warning(f"[vgcourse] {docname}.ipynb download: {message}", location=docname)
        nbformat.validate(notebook)
        target = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def add_install_cells(app: Sphinx, folder: Path) -> None:
    """``vgcourse-exercises-published``: the install cell, before the first code cell of every
    exercise ``vgcourse_releases`` published into ``folder``.

    A notebook that already has this cell (an unchanged release kept from the last build) is
    left alone; an older install cell is replaced.
    """
    cell = install_cell(*package_spec(app), packages_url(app))
    for path in sorted(Path(folder).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if add_install_cell(notebook, cell):
            nbformat.validate(notebook)
            nbformat.write(notebook, path)


def setup(app: Sphinx) -> dict:
    app.add_config_value("vgcourse_package_dir", "..", "env")
    app.add_directive("vgcourse-install", InstallDirective)
    app.connect("build-finished", write_downloads)
    app.connect("build-finished", build_wheel)
    # vgcourse_releases publishes the exercises and then emits its event: load it, listen
    app.setup_extension("vgcourse_releases")
    app.connect(PUBLISHED_EVENT, add_install_cells)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
