"""The shape rules of CONTRIBUTING.md, checked on the code itself.

* no function or method outside ``tests/`` and ``exercises/`` has more than
  :data:`MAX_CODE_LINES` lines of code (its docstring, blank lines and comment-only lines are
  not counted; nested functions count towards the function that holds them too);
* nothing outside ``tests/`` does ``sys.path.insert`` (the packages are installed), and nothing
  outside ``tests/`` imports from ``tests/``;
* the test-and-benchmark harness, ``coursekit.testing``, is imported by no module of the grader
  or the book (only ``tests/`` and ``benchmarks/`` use it).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

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


#: The code that may use the harness (coursekit.testing): the harness itself and the benchmarks.
HARNESS_USERS = ("coursekit/testing.py", "benchmarks/")
PRODUCTION = [p for p in SOURCES
              if not str(p.relative_to(REPO)).startswith(HARNESS_USERS)]


def _imported_modules(tree: ast.AST, package: str) -> set[str]:
    """Every module ``tree`` imports, relative imports resolved against ``package``."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([package, base]) if base else package
                out.update(f"{base}.{a.name}" for a in node.names)
            out.add(base)
    return out


@pytest.mark.parametrize("path", PRODUCTION, ids=[str(p.relative_to(REPO)) for p in PRODUCTION])
def test_the_grader_and_the_book_never_import_the_test_harness(path):
    package = ".".join(path.relative_to(REPO).parts[:-1])
    modules = _imported_modules(ast.parse(path.read_text(encoding="utf-8")), package)
    assert not [m for m in modules if m == "coursekit.testing"], (
        f"{path.relative_to(REPO)} imports coursekit.testing, the test-and-benchmark harness")


def test_the_harness_check_sees_an_import():
    tree = ast.parse("from .testing import solved\nimport coursekit.testing\n")
    assert "coursekit.testing" in _imported_modules(tree, "coursekit")

