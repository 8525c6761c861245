"""What a student does: install the course package from the book, run the chapters and exercises.

A fresh virtual environment holding only what Google Colab has for this course (torch, numpy,
matplotlib, a kernel, pip) and nothing of the build, grading or test tooling: it is made from
the distributions of this environment (torch cannot be downloaded again cheaply), by linking
each one's files, with those of its requirements, into the new environment's site-packages.
Then, as a student would:

1. the install cell of a chapter download installs the course package from the wheel the book
   serves (pip without a package index, ``--find-links`` at this build's
   ``packages/index.html`` instead of its online address), and does nothing the second time;
2. every chapter the download button offers runs top to bottom in that environment's kernel
   (nbclient), shows a figure (``image/png``) at each place the chapter shows one, and holds
   no MyST markup; its glued numbers, citations and figure references read as the book's
   own HTML page shows them (the reference: what Sphinx and myst-nb rendered);
3. every published exercise, blank, fails only with the ``NotImplementedError`` of its
   placeholders.

It uses the session's single book build (``built_book``). Run times: the terminal summary.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
#: What the student's environment is made of (Colab's share of it), with their requirements;
#: tqdm is the course package's one other requirement (Colab has it; pip would download it).
STUDENT_BASE = ("torch", "numpy", "matplotlib", "ipykernel", "pip", "tqdm")
#: Importable in the course's environment, and never in the student's.
TOOLING = ("myst_nb", "jupyter_book", "sphinx", "nbgrader", "coursekit", "jupytext",
           "nbclient", "pytest", "selenium")
#: MyST markup that must not survive into a download (a role, a directive, a target).
MARKUP = re.compile(r"\{[\w.:+-]+\}`|^\s*(```|:::)\{|^\s*\([\w.:-]+\)=\s*$", re.MULTILINE)
#: Seconds each notebook took in the student's kernel (printed by tests/conftest.py).
TIMINGS: dict[str, float] = {}

pytestmark = pytest.mark.slow  # minutes: it re-runs every chapter (`make test` runs it)


def chapter_stems() -> list[str]:
    """Every chapter file book/0N_*.md (the numbered chapters, whatever their number)."""
    return sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.md"))


def assignment_names() -> list[str]:
    source = ROOT / "exercises" / "source"
    return sorted(d.name for d in source.iterdir() if (d / f"{d.name}.ipynb").is_file())


def requirement_closure(names) -> dict[str, metadata.Distribution]:
    """The installed distributions ``names`` and, recursively, everything they require."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def top_level_entries(dist: metadata.Distribution) -> set[Path]:
    """The files and folders a distribution put directly into site-packages."""
    site = Path(dist.locate_file(""))
    return {site / file.parts[0] for file in dist.files or []
            if file.parts[0] not in ("..", "__pycache__")}


def make_student_env(folder: Path, names=STUDENT_BASE) -> Path:
    """A venv holding ``names`` and their requirements, linked from this environment."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    for dist in requirement_closure(names).values():
        for entry in top_level_entries(dist):
            if not (site / entry.name).exists():
                (site / entry.name).symlink_to(entry)
    return python


def student_environ() -> dict[str, str]:
    """The environment of a student's kernel and pip: no course paths, no package index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "JUPYTER"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", PIP_NO_INDEX="1", PIP_CONSTRAINT="",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1",
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    return env


class StudentKernel:
    """Runs notebooks in the student's environment, in a scratch folder, with nbclient."""

    def __init__(self, python: Path, env: dict[str, str], workdir: Path):
        from jupyter_client.kernelspec import KernelSpecManager

        self.python, self.env, self.workdir = python, env, workdir
        kernels = workdir.parent / "kernels"
        (kernels / "student").mkdir(parents=True, exist_ok=True)
        (kernels / "student" / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "student", "language": "python", "env": env,
        }))
        self.specs = KernelSpecManager(kernel_dirs=[str(kernels)])

    def run(self, nb: nbformat.NotebookNode, *, allow_errors: bool = False,
            name: str = "") -> nbformat.NotebookNode:
        from jupyter_client.manager import KernelManager

        # IPC sockets (in the scratch folder, one name per run): no TCP port that another
        # kernel could take first; a named run works in its own folder, so runs can overlap
        km = KernelManager(kernel_name="student", kernel_spec_manager=self.specs,
                           transport="ipc",
                           ip=str(self.workdir.parent / f"kernel-{uuid.uuid4().hex[:8]}"))
        cwd = self.workdir / name if name else self.workdir
        cwd.mkdir(exist_ok=True)
        client = NotebookClient(nb, km=km, timeout=180, allow_errors=allow_errors,
                                startup_timeout=180,
                                kernel_name="student",
                                resources={"metadata": {"path": str(cwd)}})
        start = time.perf_counter()
        client.execute(env=self.env, cwd=str(cwd))
        if name:
            TIMINGS[name] = time.perf_counter() - start
        return nb


def code_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)


def stdout_of(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def student(built_book: Path, tmp_path_factory) -> StudentKernel:
    """The student's environment, the course package installed by a download's install cell."""
    folder = tmp_path_factory.mktemp("student")
    python = make_student_env(folder / "venv")
    (folder / "work").mkdir()
    kernel = StudentKernel(python, student_environ(), folder / "work")
    download = nbformat.read(built_book / "_sources" / f"{chapter_stems()[0]}.ipynb", 4)
    install = download.cells[0]
    # pip finds the wheel in the book's packages/ (its online address: this build's copy)
    online = re.search(r"--find-links (\S+)", install.source).group(1)
    baseurl = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]
    assert online == f"{baseurl.rstrip('/')}/packages/", online
    install.source = install.source.replace(
        online, (built_book / "packages" / "index.html").as_uri())
    probe = "import importlib.metadata as m; print('vgcourse', m.version('vgcourse'))"
    kernel.run(nbformat.v4.new_notebook(cells=[install, code_cell(probe)]), name="install cell")
    return kernel


def test_the_student_environment_has_no_course_tooling(student: StudentKernel, built_book):
    """Only torch, numpy, matplotlib, a kernel and the course package (from the book's wheel)."""
    import vgcourse

    probe = code_cell(
        "import importlib.util, json, sys, vgcourse\n"
        f"print(json.dumps({{'missing': [n for n in {list(TOOLING)!r} "
        "if importlib.util.find_spec(n) is None], 'vgcourse': vgcourse.__file__, "
        "'version': vgcourse.__version__, 'prefix': sys.prefix}))"
    )
    nb = student.run(nbformat.v4.new_notebook(cells=[probe]))
    found = json.loads(stdout_of(nb))
    assert found["missing"] == list(TOOLING), "the student's kernel imports course tooling"
    assert found["version"] == vgcourse.__version__
    assert Path(found["vgcourse"]).is_relative_to(found["prefix"]), found
    assert not Path(found["vgcourse"]).resolve().is_relative_to(ROOT), found


def test_the_install_cell_does_nothing_when_the_package_is_there(student, built_book):
    download = nbformat.read(built_book / "_sources" / f"{chapter_stems()[0]}.ipynb", 4)
    install = download.cells[0]
    assert "%pip install" in install.source and "vgcourse==" in install.source
    nb = student.run(nbformat.v4.new_notebook(cells=[install]))
    assert nb.cells[0].outputs == [], nb.cells[0].outputs


def _html_text(page: Path, css_class: str) -> list[str]:
    """The texts of the elements of ``css_class`` in a rendered page, in order."""
    text = page.read_text(encoding="utf-8")
    found = re.findall(rf'<span class="[^"]*\b{css_class}\b[^"]*">(.*?)</span>', text, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in found]


def _markdown(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("stem", chapter_stems())
def test_chapter_download_reads_as_the_book(built_book: Path, stem: str):
    """No markup; the page's glued numbers, citations and figure references are in the text."""
    nb = nbformat.read(built_book / "_sources" / f"{stem}.ipynb", 4)
    nbformat.validate(nb)
    text = _markdown(nb)
    found = MARKUP.search(text)
    assert found is None, f"{stem}: MyST markup left in the download: {found.group(0)!r}"
    assert not any("myst_nb" in c.source for c in nb.cells if c.cell_type == "code")
    page = built_book / f"{stem}.html"
    expected = _html_text(page, "pasted-text") + _html_text(page, "std-numref")
    missing = [t for t in expected if t not in text]
    assert not missing, f"{stem}: the page shows {missing[:5]} but the download does not"
    # Each citation of the page (link text "Glorot and Bengio, 2010", its entry as the link's
    # title) is in the text, and its entry in the bibliography at the end.
    links = re.findall(r'<a class="reference internal" href="bibliography\.html#[^"]*" '
                       r'title="([^"]*)">(.*?)</a>', page.read_text(encoding="utf-8"))
    if "{cite" in (BOOK / f"{stem}.md").read_text():
        assert links, f"{stem}: the page cites nothing (the check would check nothing)"
        assert nb.cells[-1].source.startswith("## Bibliography"), "no bibliography at the end"
    for title, link in links:
        cite = html.unescape(re.sub(r"<[^>]+>", "", link))
        assert cite in text, f"{stem}: the citation {cite!r} is not in the download"
        assert html.unescape(title) in nb.cells[-1].source, f"{stem}: no entry {title!r}"


@pytest.fixture(scope="module")
def chapter_runs(student: StudentKernel, built_book: Path) -> dict:
    """stem -> every chapter download run top to bottom in the student's kernel (or what it
    raised), as many chapters at once as the machine has CPUs (each its own kernel)."""

    def run(stem: str):
        nb = nbformat.read(built_book / "_sources" / f"{stem}.ipynb", 4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []  # what the student's kernel makes, not the build's
        try:
            return student.run(nb, name=stem)
        except Exception as err:  # noqa: BLE001 (raised again by that chapter's test)
            return err

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        stems = chapter_stems()
        return dict(zip(stems, pool.map(run, stems), strict=True))


@pytest.mark.parametrize("stem", chapter_stems())
def test_chapter_download_runs_where_only_the_course_package_is(chapter_runs, stem):
    """Top to bottom in the student's kernel, with a figure wherever the chapter shows one."""
    nb = chapter_runs[stem]
    if isinstance(nb, Exception):
        raise nb
    figures = len(re.findall(r"^```\{glue:figure\}", (BOOK / f"{stem}.md").read_text(), re.M))
    shown = [c for c in nb.cells if "show-glued" in c.metadata.get("tags", [])]
    assert len(shown) == figures, f"{stem}: {figures} figures in the chapter, {len(shown)} shown"
    for cell in shown:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source


@pytest.mark.parametrize("name", assignment_names())
def test_blank_exercise_fails_only_with_not_implemented(student, built_book, name):
    """A blank student version runs; every error is the NotImplementedError of a placeholder."""
    nb = nbformat.read(built_book / "exercises" / f"{name}.ipynb", 4)
    student.run(nb, allow_errors=True, name=name)
    errors = [(o.ename, o.evalue) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors, f"{name}: a blank notebook raised nothing"
    others = [e for e in errors if e[0] != "NotImplementedError"]
    assert not others, f"{name}: a blank notebook fails with {others}"


def test_the_wheel_is_the_students_package(built_book: Path, tmp_path: Path):
    """``python -m build`` makes a wheel and sdist that twine accepts; no coursekit, no tests."""
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels, sdists = list(tmp_path.glob("*.whl")), list(tmp_path.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    twine = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists],
                           capture_output=True, text=True)
    assert twine.returncode == 0, twine.stdout + twine.stderr
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert {n.split("/")[0] for n in names} == {"vgcourse", wheels[0].name.split("-py3")[0]
                                                + ".dist-info"}, names
    served = built_book / "packages" / wheels[0].name
    assert served.is_file(), f"the book does not serve {wheels[0].name}"
    assert sorted(zipfile.ZipFile(served).namelist()) == sorted(names)
    meta = zipfile.ZipFile(wheels[0]).read(f"{wheels[0].name.split('-py3')[0]}.dist-info/METADATA")
    assert b"Description-Content-Type: text/markdown" in meta and b"Project-URL" in meta


def test_the_exercises_page_names_the_package_and_serves_its_wheel(built_book: Path):
    """pip install vgcourse==<version> and the wheel's link; no repository address."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wheel = f"{project['name']}-{project['version']}-py3-none-any.whl"
    page = (built_book / "exercises.html").read_text(encoding="utf-8")
    assert f"pip install {project['name']}=={project['version']}" in html.unescape(
        re.sub(r"<[^>]+>", "", page))
    assert f'href="packages/{wheel}"' in page and (built_book / "packages" / wheel).is_file()
    assert "git+https" not in page
    for name in assignment_names():
        text = (built_book / "exercises" / f"{name}.ipynb").read_text(encoding="utf-8")
        assert f"{project['name']}=={project['version']}" in text, name
        assert "book/0" not in text, f"{name} points to a file of the repository"
        for url in re.findall(r"https://vgcourse\.github\.io/vanishing-gradients/([\w.-]+\.html)",
                              text):
            assert (built_book / url).is_file(), f"{name} links {url}, not a page of the book"
