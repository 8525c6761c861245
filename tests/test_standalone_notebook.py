"""The conversion of a chapter into a standalone notebook, without Sphinx or a kernel.

``book/_ext/vgcourse_standalone.py`` on a hand-made book (a glue record, a bibliography, labels
and figure numbers as a build would give them): each role and directive of the chapters as plain
Markdown, the figure cells, the cells the download leaves out or rewrites, and the install cell
of the exercises. The whole book's downloads are checked on a real build by
``tests/test_published_book.py``.
"""

from __future__ import annotations

import json

import nbformat
import pytest
import vgcourse_standalone as sa

BASE = "https://example.org/book/"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
       "RU5ErkJggg==")
BIB = """@article{glorot2010,
  author = {Glorot, Xavier and Bengio, Yoshua},
  title = {Understanding the difficulty of training deep feedforward neural networks},
  journal = {AISTATS}, year = {2010}, url = {\\url{https://example.org/g}}
}
@inproceedings{he2015,
  author = {He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
  title = {Delving Deep into Rectifiers}, booktitle = {ICCV}, year = {2015}
}
"""
CODE = '''def helper():
    return 1


def shown(x):
    """Doc."""
    return 2 * x
'''


@pytest.fixture
def book(tmp_path) -> sa.Book:
    """A two-chapter book: 01_x glued a number, Markdown and a figure; 02_y has a section."""
    src, executed = tmp_path / "book", tmp_path / "jupyter_execute"
    src.mkdir()
    executed.mkdir()
    (src / "01_x.md").write_text("# One\n")
    (src / "code.py").write_text(CODE)
    (src / "refs.bib").write_text(BIB)
    glue = {"n": {"data": {"text/plain": "0.123456"}},
            "md": {"data": {"text/markdown": "**bold** {glue:text}`n:.1f`"}},
            "fig": {"data": {"image/png": PNG, "text/plain": "<Figure>"}}}
    (executed / "01_x.glue.json").write_text(json.dumps(glue))
    (executed / "02_y.glue.json").write_text(json.dumps({"k": {"data": {"text/plain": "7"}}}))
    return sa.Book(
        source_dir=src, executed_dir=executed,
        sources={"01_x": src / "01_x.md", "02_y": src / "02_y.md"},
        titles={"01_x": "One", "02_y": "Chapter Two"},
        labels={"fig-a": ("01_x", "fig-a", ""), "sec-b": ("02_y", "sec-b", "Section B"),
                "sec-here": ("01_x", "sec-here", "Here")},
        equations={"eq-1": ("01_x", 3)},
        fignumbers={"01_x": {"figure": {"fig-a": (1, 2)}}},
        base_url=BASE, bibfiles=(src / "refs.bib",), package=("vgcourse", "9.9"),
        packages_url=BASE + "packages/")


def text(source: str, chapter) -> str:
    return sa.convert_text(source, chapter)


def test_glued_values_are_pasted_as_myst_nb_formats_them(book):
    ch = sa.Chapter(book, "01_x")
    assert text("r = {glue:text}`n:.2f`, raw {glue:text}`n`", ch) == (
        f"r = {0.123456:.2f}, raw 0.123456")
    assert text("{glue:md}`md`", ch) == "**bold** {glue:text}`n:.1f`"
    assert text("{glue:text}`02_y.md::k:s`", ch) == "7"
    assert text("{glue:math}`n`", ch) == "$0.123456$"
    assert text("{glue:text}`nope`", ch) == "<nope>"
    assert ch.warnings == ["nothing glued under 'nope'"]


def test_citations_read_author_year_and_the_bibliography_lists_them(book):
    ch = sa.Chapter(book, "01_x")
    assert text("{cite:p}`he2015,glorot2010`", ch) == (
        "(He et al., 2015; Glorot and Bengio, 2010)")
    assert text("{cite:t}`glorot2010`", ch) == "Glorot and Bengio (2010)"
    assert text("{cite:year}`he2015` {cite:author}`he2015`", ch) == "2015 He et al."
    assert text("{cite:p}`missing`", ch) == "(missing, ?)"
    assert ch.warnings == ["no bibliography entry 'missing'"]
    cell = sa.bibliography_cell(ch)
    lines = cell.source.splitlines()
    assert lines[:2] == ["## Bibliography", ""]
    assert lines[2].startswith("- Xavier Glorot and Yoshua Bengio. Understanding the")
    assert "https://example.org/g" in lines[2] and "\\url" not in lines[2]
    assert lines[3].startswith("- Kaiming He, Xiangyu Zhang, Shaoqing Ren, and Jian Sun.")
    assert sa.bibliography_cell(sa.Chapter(book, "02_y")) is None


def test_references_become_text_and_links_to_the_online_book(book):
    ch = sa.Chapter(book, "01_x")
    assert text("{numref}`fig-a`", ch) == "Fig. 1.2"
    assert text("{numref}`Figure %s <fig-a>`", ch) == "Figure 1.2"
    assert text("{eq}`eq-1`", ch) == "(3)"
    assert text("{ref}`sec-b`", ch) == f"[Section B]({BASE}02_y.html#sec-b)"
    assert text("{ref}`sec-here`", ch) == "Here"
    assert text("{doc}`02_y`", ch) == f"[Chapter Two]({BASE}02_y.html)"
    assert text("{doc}`the next <02_y>`", ch) == f"[the next]({BASE}02_y.html)"
    assert text("[next](02_y.md) [there](#sec-b) [web](https://x.org/a.md)", ch) == (
        f"[next]({BASE}02_y.html) [there]({BASE}02_y.html#sec-b) [web](https://x.org/a.md)")
    assert text("{math}`x^2` {code}`f()` {term}`gradient <grad>`", ch) == "$x^2$ `f()` gradient"
    assert ch.warnings == []
    assert text("{ref}`nowhere` {eq}`none` {frob}`z`", ch) == "nowhere none z"
    assert ch.warnings == ["no target 'nowhere'", "no equation 'none'", "unknown role {frob}"]


def test_without_an_online_address_page_links_are_plain_text(book):
    from dataclasses import replace

    ch = sa.Chapter(replace(book, base_url=""), "01_x")
    assert text("{ref}`sec-b` and {doc}`02_y`", ch) == "Section B and Chapter Two"


def test_targets_and_equation_labels_are_dropped(book):
    ch = sa.Chapter(book, "01_x")
    assert text("(sec-here)=\n# Here\n$$ a = b $$ (eq-1)\nend", ch) == "# Here\n$$ a = b $$\nend"


def test_directives_become_markdown_and_figure_places(book):
    ch = sa.Chapter(book, "01_x")
    source = ("Before.\n\n```{glue:figure} fig\n:name: fig-a\n\nThe {glue:text}`n:.1f` "
              "curve.\n```\n\n:::{note}\nMind {math}`x`.\n:::\n\n```{math}\na=b\n```\n"
              "```{literalinclude} code.py\n:pyobject: shown\n```\n"
              "```{bibliography}\n```\n```{frob} arg\nkept {math}`y`\n```")
    parts = sa.convert_markdown(source, ch)
    assert parts == [
        "Before.",
        sa.ShowFigure("fig"),
        "**Fig. 1.2.** The 0.1 curve.",
        "> **Note**\n>\n> Mind $x$.",
        "$$\na=b\n$$",
        '```python\ndef shown(x):\n    """Doc."""\n    return 2 * x\n```',
        "kept $y$",
    ]
    assert ch.warnings == ["unknown directive {frob}: its body is kept as text"]


def test_a_yaml_option_block_is_read(book):
    ch = sa.Chapter(book, "01_x")
    parts = sa.convert_markdown("```{glue:figure} fig\n---\nname: fig-a\n---\nCap.\n```", ch)
    assert parts == [sa.ShowFigure("fig"), "**Fig. 1.2.** Cap."]


def _executed_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata={"jupytext": {}, "mystnb": {}, "kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    record = nbformat.v4.new_output("display_data", data={"text/plain": "0.12"},
                                    metadata={"scrapbook": {"name": "n", "mime_prefix": "app"}})
    shown = nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"},
                                   metadata={"scrapbook": {"name": "fig", "mime_prefix": ""}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# One\n\nIt is {glue:text}`n:.2f` {cite:p}`glorot2010`."),
        nbformat.v4.new_code_cell("from myst_nb import glue\nglue('n', 0.12, display=False)",
                                  outputs=[record, shown]),
        nbformat.v4.new_code_cell("import altair", metadata={"tags": ["book-only"]}),
        nbformat.v4.new_markdown_cell("```{glue:figure} fig\n:name: fig-a\n\nCap.\n```"),
        nbformat.v4.new_raw_cell("raw"),
    ]
    return nb


def test_the_standalone_notebook_runs_without_the_book(book):
    ch = sa.Chapter(book, "01_x")
    nb = sa.standalone_notebook(_executed_notebook(), ch)
    nbformat.validate(nb)
    assert ch.warnings == []
    assert set(nb.metadata) == {"kernelspec"}
    kinds = [(c.cell_type, c.metadata.get("tags", [None])[0]) for c in nb.cells]
    assert kinds == [("code", "install-course-package"), ("code", "import-show-glued"),
                     ("markdown", None), ("code", None), ("code", "show-glued"),
                     ("markdown", None), ("raw", None), ("markdown", None)]
    install = nb.cells[0].source
    assert 'if _course_package != "9.9":' in install
    assert f"%pip install --quiet vgcourse==9.9 --find-links {BASE}packages/" in install
    assert nb.cells[1].source.endswith("from vgcourse.glue import show_glued")
    assert nb.cells[2].source == "# One\n\nIt is 0.12 (Glorot and Bengio, 2010)."
    code = nb.cells[3]
    assert code.source.startswith("from vgcourse.glue import glue\n")
    assert [o.data for o in code.outputs] == [{"text/plain": "<Figure>"}]
    assert "scrapbook" not in code.outputs[0].metadata
    show = nb.cells[4]
    assert show.source == 'show_glued("fig")' and show.outputs[0].data["image/png"] == PNG
    assert nb.cells[5].source == "**Fig. 1.2.** Cap."
    assert nb.cells[7].source.startswith("## Bibliography\n\n- Xavier Glorot")
    assert all("altair" not in c.source for c in nb.cells)


def test_a_code_cell_still_using_myst_nb_is_a_warning(book):
    ch = sa.Chapter(book, "01_x")
    sa.convert_code_cell(nbformat.v4.new_code_cell("import myst_nb"), ch)
    assert ch.warnings == ["a code cell still uses myst_nb (only `from myst_nb import glue` is "
                           "replaced)"]


def test_chapter_notebook_reads_the_executed_notebook(book):
    nbformat.write(_executed_notebook(), book.executed_dir / "01_x.ipynb")
    nb, warnings = sa.chapter_notebook(book, "01_x")
    assert warnings == [] and nb.cells[0].metadata["tags"] == ["install-course-package"]


def test_the_install_cell_goes_before_the_first_code_cell_once():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# ps1"),
                                         nbformat.v4.new_code_cell("import numpy")])
    old = sa.install_cell("vgcourse", "0.1")
    assert "--find-links" not in old.source
    assert sa.add_install_cell(nb, old)
    assert [c.source for c in nb.cells] == ["# ps1", old.source, "import numpy"]
    assert not sa.add_install_cell(nb, sa.install_cell("vgcourse", "0.1"))
    new = sa.install_cell("vgcourse", "0.2", BASE + "packages/")
    assert sa.add_install_cell(nb, new)
    assert [c.source for c in nb.cells] == ["# ps1", new.source, "import numpy"]
    only_text = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x")])
    assert sa.add_install_cell(only_text, new) and only_text.cells[-1] is new


def test_a_source_path_is_a_document_only_with_a_source_suffix(book):
    assert book.path2doc("02_y.md") == "02_y"
    assert book.path2doc("sub/02_y.ipynb") == "sub/02_y"
    assert book.path2doc("02_y") is None
