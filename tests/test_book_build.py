"""The book build as a test: ``jupyter-book build book/ --all -W -n --keep-going`` must pass,
and a page with a failing cell or a Sphinx warning must fail it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import REPO, jupyter_book_build

FRONT_MATTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
    jupytext_version: 1.19.6
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def _toc_files(toc: dict) -> list[str]:
    """Every ``file:`` of a jb-book table of contents, root first."""
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


@pytest.mark.slow
def test_the_book_builds_without_warnings(book_build):
    assert book_build.returncode == 0, book_build.log[-8000:]
    assert (book_build.html / "index.html").is_file()
    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text())
    missing = [f for f in _toc_files(toc)
               if not (book_build.html / f"{Path(f).with_suffix('')}.html").is_file()]
    assert not missing, f"pages in _toc.yml that the build did not write: {missing}"


def _tiny_book(root: Path, body: str) -> Path:
    """A one-page book whose page is a MyST notebook with BODY, executed on every build."""
    book = root / "tiny"
    book.mkdir()
    (book / "_config.yml").write_text(textwrap.dedent("""\
        title: tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: force
          allow_errors: false
          timeout: 60
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (book / "index.md").write_text(FRONT_MATTER + "\n# Tiny\n\n" + textwrap.dedent(body))
    return book


GOOD = """
```{code-cell} ipython3
x = 1 + 1
x
```
"""
CELL_ERROR = """
```{code-cell} ipython3
raise ValueError("a chapter cell that fails")
```
"""
BROKEN_REFERENCE = """
See {ref}`a-label-that-does-not-exist`.

```{code-cell} ipython3
x = 1 + 1
```
"""


@pytest.mark.slow
def test_the_gate_passes_a_good_page(tmp_path):
    """Control for the two tests below: the same tiny book without the fault builds."""
    build = jupyter_book_build(_tiny_book(tmp_path, GOOD), tmp_path / "out", limit_s=300)
    assert build.returncode == 0, build.log[-4000:]
    assert (build.html / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(("body", "expected"), [
    (CELL_ERROR, "mystnb.exec"),
    (BROKEN_REFERENCE, "a-label-that-does-not-exist"),
], ids=["cell_error", "warning"])
def test_the_gate_fails_a_broken_page(tmp_path, body, expected):
    build = jupyter_book_build(_tiny_book(tmp_path, body), tmp_path / "out", limit_s=300)
    assert build.returncode != 0, f"a broken page built successfully:\n{build.log[-4000:]}"
    assert expected in build.log
