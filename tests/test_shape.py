"""The shape rules of CONTRIBUTING.md, checked on the code itself.

* no function or method outside ``tests/`` and ``exercises/`` has more than
  :data:`MAX_CODE_LINES` lines of code (its docstring, blank lines and comment-only lines are
  not counted; nested functions count towards the function that holds them too);
* nothing outside ``tests/`` does ``sys.path.insert`` (the packages are installed), and nothing
  outside ``tests/`` imports from ``tests/``;
* the test-and-benchmark harness is the top-level package ``harness/``, which nothing installs
  and which only ``tests/`` and ``benchmarks/`` import (never the grader or the book). It is
  importable because the repository's root is on the path: pytest puts it there (``pythonpath``
  in ``pyproject.toml``), and the benchmarks are run from the root as modules
  (``python -m benchmarks.bench_x``, the Makefile's ``bench``), importing each other as
  ``benchmarks.bench_x``;
* every module of the installed grader (each ``coursekit/*.py`` that ``coursekit/pyproject.toml``
  installs) is used by the course itself, not only by tests or benchmarks: it is reached, through
  imports and the plug-in names nbgrader loads, from the instructors' command line
  (``python -m coursekit``, and any ``python -m coursekit.<module>`` the Makefile or the
  instructor guide runs), the book's extensions or the course's ``nbgrader_config.py``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
MAX_CODE_LINES = 60
SKIPPED = {"tests", "exercises", ".venv", "_build", ".git"}
SOURCES = sorted(
    p for p in REPO.rglob("*.py")
    if not SKIPPED & set(p.relative_to(REPO).parts[:-1]) and "_build" not in p.parts
)


def _code_lines(source: str) -> set[int]:
    """Line numbers holding a token other than a comment, a newline or indentation."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def function_lengths(source: str) -> dict[str, int]:
    """qualified name -> lines of code of every function in ``source`` (docstrings excluded)."""
    tree = ast.parse(source)
    code = _code_lines(source)
    out: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = f"{prefix}{getattr(child, 'name', '')}"
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = set(range(child.lineno, child.end_lineno + 1)) & code
                body = child.body
                if body and isinstance(body[0], ast.Expr) and isinstance(
                        getattr(body[0], "value", None), ast.Constant) and isinstance(
                        body[0].value.value, str):
                    lines -= set(range(body[0].lineno, body[0].end_lineno + 1))
                out[name] = len(lines)
            visit(child, f"{name}." if hasattr(child, "name") else prefix)

    visit(tree, "")
    return out


def test_the_counter_counts_code_not_docstrings_or_comments():
    source = 'def f(x):\n    """Doc.\n\n    More doc.\n    """\n    # a comment\n\n' \
             '    y = (x +\n         1)\n    return y\n'
    assert function_lengths(source) == {"f": 4}


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_no_function_is_longer_than_60_lines_of_code(path):
    long = {name: n for name, n in function_lengths(path.read_text(encoding="utf-8")).items()
            if n > MAX_CODE_LINES}
    assert not long, f"{path.relative_to(REPO)}: functions over {MAX_CODE_LINES} lines: {long}"


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_no_sys_path_insert_and_no_import_from_tests(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            assert target not in ("sys.path.insert", "sys.path.append"), (
                f"{path.relative_to(REPO)}:{node.lineno}: {target} (install the package instead)")
        if isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names]
            assert not any(n in ("graders", "conftest") or n.startswith("tests") for n in names), (
                f"{path.relative_to(REPO)}:{node.lineno}: imports from tests/")


#: The code that may use the harness: the harness itself and the benchmarks (tests/ is not in
#: SOURCES).
HARNESS_USERS = ("harness/", "benchmarks/")
PRODUCTION = [p for p in SOURCES
              if not str(p.relative_to(REPO)).startswith(HARNESS_USERS)]


def _imported_modules(tree: ast.AST, package: str) -> set[str]:
    """Every module ``tree`` imports, relative imports resolved against ``package``; for
    ``from a import b``, both ``a`` and ``a.b`` (``b`` may be a module)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.update(f"{base}.{a.name}" for a in node.names)
            out.add(base)
    return out


@pytest.mark.parametrize("path", PRODUCTION, ids=[str(p.relative_to(REPO)) for p in PRODUCTION])
def test_the_grader_and_the_book_never_import_the_test_harness(path):
    package = ".".join(path.relative_to(REPO).parts[:-1])
    modules = _imported_modules(ast.parse(path.read_text(encoding="utf-8")), package)
    assert not [m for m in modules if m == "harness" or m.startswith("harness.")], (
        f"{path.relative_to(REPO)} imports the test-and-benchmark harness (harness/)")


def test_the_harness_check_sees_an_import():
    tree = ast.parse("from harness import solved\nimport harness.x\nfrom .cells import y\n")
    assert {"harness", "harness.x", "coursekit.cells", "coursekit.cells.y"} <= _imported_modules(
        tree, "coursekit")


def test_the_harness_is_installed_by_neither_package():
    """Neither pyproject.toml installs the harness: the grader and the students' package ship
    without it."""
    for project in (REPO / "pyproject.toml", REPO / "coursekit" / "pyproject.toml"):
        setup = tomllib.loads(project.read_text())["tool"]["setuptools"]
        assert "harness" not in setup["packages"], project
        assert "harness" not in setup.get("package-dir", {}), project
    assert "." in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["pythonpath"], "pytest must put the repository's root on the path"


BENCHMARKS = sorted((REPO / "benchmarks").glob("bench_*.py"))


def test_the_makefile_runs_every_benchmark_as_a_module_from_the_root():
    """``make bench`` runs ``python -m benchmarks.bench_x`` (the root on the path, so the harness
    imports), never ``python benchmarks/bench_x.py`` (which would put benchmarks/ there)."""
    makefile = (REPO / "Makefile").read_text()
    for bench in BENCHMARKS:
        assert f"-m benchmarks.{bench.stem}" in makefile, f"make bench does not run {bench.stem}"
    assert not re.search(r"python\S* benchmarks/", makefile), "a benchmark run as a script"


@pytest.mark.parametrize("path", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_a_benchmark_imports_its_siblings_through_the_package(path):
    modules = _imported_modules(ast.parse(path.read_text(encoding="utf-8")), "benchmarks")
    bare = {m for m in modules if m.split(".")[0] in {b.stem for b in BENCHMARKS}}
    assert not bare, f"{path.name} imports {bare}: write benchmarks.<name>"
    assert f"python -m benchmarks.{path.stem}" in path.read_text(), (
        f"{path.name}'s docstring does not say how to run it (python -m benchmarks.{path.stem})")


# ---------------------------------------------------------------------------------------------
# No module of the installed grader serves only the tests or the benchmarks
# ---------------------------------------------------------------------------------------------
#: A dotted name of a coursekit module inside a string (nbgrader loads plug-ins by such names).
NAMED_MODULE = re.compile(r"\bcoursekit\.([a-z_]+)\b")


def installed_grader_modules() -> dict[str, Path]:
    """module name -> file of every module coursekit/pyproject.toml installs."""
    setup = tomllib.loads((REPO / "coursekit" / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setup["packages"] == ["coursekit"] and setup["package-dir"] == {"coursekit": "."}
    return {("coursekit" if p.stem == "__init__" else f"coursekit.{p.stem}"): p
            for p in sorted((REPO / "coursekit").glob("*.py"))}


def _used_names(source: str, package: str) -> set[str]:
    """The modules a source imports, plus the ``coursekit.<module>`` names its strings hold."""
    modules = _imported_modules(ast.parse(source), package)
    return modules | {f"coursekit.{m}" for m in NAMED_MODULE.findall(source)}


def reached(roots: set[str], uses: dict[str, set[str]]) -> set[str]:
    """Every module of ``uses`` reachable from ``roots`` (``uses``: module -> what it uses)."""
    seen, todo = set(), [r for r in roots if r in uses]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += [m for m in uses[module] if m in uses and m not in seen]
    return seen


def test_the_reach_follows_uses_and_ignores_the_rest():
    uses = {"a": {"b", "os"}, "b": {"a"}, "c": {"a"}, "d": set()}
    assert reached({"a", "x"}, uses) == {"a", "b"}


def course_entry_points() -> set[str]:
    """What the course itself runs: ``python -m coursekit`` (the Makefile's instructor targets),
    every ``python -m coursekit.<module>`` the Makefile or the instructor guide runs, and what
    the book's extensions and the course's nbgrader_config.py import or name."""
    makefile = (REPO / "Makefile").read_text()
    guide = (REPO / "book" / "instructors.md").read_text()
    assert "-m coursekit " in makefile
    roots = {"coursekit.__main__"}
    roots |= {f"coursekit.{m}" for m in re.findall(r"-m coursekit\.([a-z_]+)", makefile + guide)}
    for path in [*sorted((REPO / "book" / "_ext").glob("*.py")),
                 REPO / "exercises" / "nbgrader_config.py"]:
        roots |= _used_names(path.read_text(encoding="utf-8"), "")
    return roots


def test_every_module_of_the_installed_grader_is_used_by_the_course():
    """No module that coursekit/pyproject.toml installs is imported only by tests or benchmarks."""
    modules = installed_grader_modules()
    uses = {name: _used_names(path.read_text(encoding="utf-8"), "coursekit")
            for name, path in modules.items()}
    unused = sorted(set(modules) - reached(course_entry_points(), uses))
    assert not unused, (
        f"{unused}: installed with the grader but used only by tests or benchmarks; move them "
        "to the harness (harness/) or use them from the course")
