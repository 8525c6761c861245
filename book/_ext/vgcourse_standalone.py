"""A chapter of the book as a notebook that stands alone: the conversion, without Sphinx.

Not an extension: ``vgcourse_downloads`` (the Sphinx hook) collects what the conversion needs
from the book's build into a :class:`Book` (plain data: titles, labels, figure numbers,
equation numbers, the executed notebooks and their glued values, the bibliography files) and
calls :func:`standalone_notebook` for each chapter; the tests call it on hand-made data, with
no Sphinx application, build or kernel. From the executed notebook (myst-nb's
``jupyter_execute/<chapter>.ipynb``) it makes a notebook that runs top to bottom where only
torch, numpy, matplotlib, a kernel and the course package are installed:

* its first cell installs the course package (:func:`install_cell`) where it is missing and
  does nothing where it is installed;
* ``from myst_nb import glue`` becomes ``from vgcourse.glue import glue``, and every glued
  figure is shown, by a cell calling ``show_glued``, where the chapter shows it, under its
  caption (that cell carries the build's image, so the figure is there before the first run);
* cells tagged ``book-only`` (the online book's interactive figures, built with Altair) are
  left out;
* the Markdown is plain: glued values are filled in from the build's own execution, citations
  read "(Glorot and Bengio, 2010)" with the bibliography at the end, figure, section and page
  references are text (pages link to the online book, :attr:`Book.base_url`),
  ``{literalinclude}`` is the code it includes; an unknown role or directive is a warning
  (:attr:`Chapter.warnings`, which the hook reports: an error of a ``-W`` build).

It reads myst-nb's glue records (``<chapter>.glue.json``, ``scrapbook`` output metadata) and
pastes glued text with myst-nb's own ``format_plain_text``; ``{literalinclude}`` is read with
Sphinx's ``LiteralIncludeReader`` used as a library; citations come from pybtex.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace

import nbformat

#: A MyST role: ``{name}`content```.
ROLE = re.compile(r"\{([\w.:+-]*)\}(`+)(.+?)\2", re.DOTALL)
#: The opening line of a MyST directive (backtick or colon fence).
DIRECTIVE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[^}]+)\}\s*(?P<arg>.*)$")
#: A target line, ``(label)=``.
TARGET = re.compile(r"^\s*\([\w.:-]+\)=\s*$")
#: ``$$ ... $$ (label)``: the closing line of a labelled display equation.
EQ_LABEL = re.compile(r"^(\s*.*\$\$)\s*\([\w.:-]+\)\s*$")
#: A Markdown link to a page of the book: ``[text](01_x.md)`` or ``[text](#label)``.
LOCAL_LINK = re.compile(r"\]\((?!https?:|mailto:)([^)\s]*?)(\.md|\.ipynb)?(#[^)\s]*)?\)")
ADMONITIONS = {"note", "important", "warning", "tip", "hint", "caution", "attention",
               "danger", "error", "seealso", "admonition"}
#: Cells with this tag build what only the online book shows (its interactive figures, drawn
#: with Altair): the download leaves them out.
BOOK_ONLY_TAG = "book-only"
#: The tag of the install cell (so that a notebook that has it is recognised).
INSTALL_TAG = "install-course-package"
CITE_ROLES = {"cite", "cite:p", "cite:ps", "cite:t", "cite:ts", "cite:alp", "cite:author",
              "cite:year", "cite:yearpar"}
GLUE_IMPORT = re.compile(r"^(\s*)from myst_nb import glue\b", re.MULTILINE)


# --------------------------------------------------------------------------------------------
# The install cell
# --------------------------------------------------------------------------------------------


def install_cell(name: str, version: str, packages_url: str = "") -> nbformat.NotebookNode:
    """The first cell of every download: install the package where it is missing.

    pip looks for it on the package index and, with ``packages_url``, in the book's copy of
    the wheel (``packages/index.html`` lists it).
    """
    find_links = f" --find-links {packages_url}" if packages_url else ""
    source = (
        f"# Run this cell first: it installs the course package, {name} {version}, where it\n"
        "# is missing (Google Colab, a fresh environment) and does nothing where it is there.\n"
        "from importlib.metadata import PackageNotFoundError, version\n"
        "\n"
        "try:\n"
        f'    _course_package = version("{name}")\n'
        "except PackageNotFoundError:\n"
        "    _course_package = None\n"
        f'if _course_package != "{version}":\n'
        f"    %pip install --quiet {name}=={version}{find_links}\n"
        f'    version("{name}")  # a PackageNotFoundError here: pip could not install it'
    )
    return nbformat.v4.new_code_cell(source, metadata={"tags": [INSTALL_TAG]})


def add_install_cell(notebook: nbformat.NotebookNode, cell: nbformat.NotebookNode) -> bool:
    """Put ``cell`` (an :func:`install_cell`) before the first code cell of ``notebook``, in
    place; an older install cell is replaced. False (and ``notebook`` untouched) when it already
    has exactly this one."""
    tags = cell.metadata["tags"]
    kept = [c for c in notebook.cells if c.metadata.get("tags") == tags]
    if [c.source for c in kept] == [cell.source]:
        return False
    notebook.cells = [c for c in notebook.cells if c not in kept]
    first = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"),
                 len(notebook.cells))
    notebook.cells.insert(first, cell)
    return True


# --------------------------------------------------------------------------------------------
# What the conversion needs from the build
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """What the conversion needs from the book's build, as plain data.

    ``sources``: docname -> source file; ``titles``: docname -> title; ``labels``: a target or
    named figure -> ``(docname, node id, section title or "")``; ``equations``: label ->
    ``(docname, number)``; ``fignumbers``: docname -> figure type -> node id -> number parts
    (Sphinx's ``toc_fignumbers``); ``executed_dir``: the executed notebooks and their glue
    records (``<docname>.ipynb``, ``<docname>.glue.json``).
    """

    source_dir: Path
    executed_dir: Path
    sources: dict[str, Path] = field(default_factory=dict)
    source_suffixes: tuple[str, ...] = (".md", ".ipynb", ".rst")
    titles: dict[str, str] = field(default_factory=dict)
    labels: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    equations: dict[str, tuple[str, int]] = field(default_factory=dict)
    fignumbers: dict[str, dict[str, dict[str, tuple]]] = field(default_factory=dict)
    #: The online book's address (``html_baseurl``); without it, page links are plain text.
    base_url: str = ""
    figure_format: str = "Fig. %s"
    bibfiles: tuple[Path, ...] = ()
    source_encoding: str = "utf-8-sig"
    #: ``(name, version)`` of the course package, and where the book serves its wheel.
    package: tuple[str, str] = ("vgcourse", "0")
    packages_url: str = ""

    def path2doc(self, path: str) -> str | None:
        """The docname of a source path relative to the book's folder (as Sphinx's
        ``path2doc``: a path without a source suffix is no document)."""
        path = Path(path)
        if path.suffix not in self.source_suffixes:
            return None
        return path.with_suffix("").as_posix()

    def executed_notebook(self, docname: str) -> Path:
        return self.executed_dir / f"{docname}.ipynb"

    def glue_data(self, docname: str) -> dict[str, dict]:
        """``{name: mime bundle}`` of every value ``docname`` glued (empty if it glued none)."""
        path = self.executed_dir / f"{docname}.glue.json"
        if not path.is_file():
            return {}
        return {name: output.get("data", {})
                for name, output in json.loads(path.read_text(encoding="utf-8")).items()}


@dataclass
class Chapter:
    """One chapter being converted: the book's data, the citations met so far and the
    warnings of its conversion."""

    book: Book
    docname: str
    cited: list[str] = field(default_factory=list)
    glue: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def glued(self, key: str) -> dict:
        """The mime bundle glued under ``key`` (``doc::key`` for another chapter)."""
        docname, _, name = key.rpartition("::")
        docname = (self.book.path2doc(docname) if docname else None) or self.docname
        if docname not in self.glue:
            self.glue[docname] = self.book.glue_data(docname)
        data = self.glue[docname]
        if name not in data:
            self.warn(f"nothing glued under {key!r}")
            return {"text/plain": repr(f"<{key}>")}
        return data[name]

    def page_url(self, docname: str, anchor: str = "") -> str:
        base = self.book.base_url
        if not base:
            return ""
        return f"{base.rstrip('/')}/{docname}.html{anchor}"

    def label(self, label: str) -> tuple[str, str, str] | None:
        """``(docname, node id, title)`` of a ``(label)=`` target or a named figure."""
        return self.book.labels.get(label)

    def figure_number(self, docname: str, node_id: str) -> str | None:
        numbers = self.book.fignumbers.get(docname, {})
        for figtype in ("figure", "table", "code-block"):
            if node_id in numbers.get(figtype, {}):
                return ".".join(map(str, numbers[figtype][node_id]))
        return None

    @cached_property
    def bibliography(self):
        """Every entry of the book's bibliography files (a pybtex ``BibliographyData``)."""
        from pybtex.database import BibliographyData, parse_file

        data = BibliographyData()
        for path in self.book.bibfiles:
            for key, entry in parse_file(str(path)).entries.items():
                data.entries[key] = entry
        return data


# --------------------------------------------------------------------------------------------
# Roles -> plain Markdown
# --------------------------------------------------------------------------------------------


def _title_and_target(content: str) -> tuple[str | None, str]:
    """``"text <target>"`` -> ``("text", "target")``; ``"target"`` -> ``(None, "target")``."""
    found = re.fullmatch(r"\s*(.*?)\s*<([^<>]+)>\s*", content, re.DOTALL)
    return (found.group(1), found.group(2)) if found else (None, content.strip())


def _text_of(bundle: dict, chapter: Chapter, what: str) -> str:
    for mime in ("text/markdown", "text/latex", "text/plain"):
        if mime in bundle:
            text = "".join(bundle[mime]) if isinstance(bundle[mime], list) else bundle[mime]
            return text.strip()
    chapter.warn(f"{what}: no text to paste")
    return ""


def glue_role(name: str, content: str, chapter: Chapter) -> str:
    """``{glue:text}`key:fmt```, ``{glue:md}``, ``{glue:math}``, ``{glue}``, as myst-nb pastes."""
    from myst_nb.core.variables import format_plain_text

    if name == "glue:text":
        key, fmt = content.rsplit(":", 1) if ":" in content else (content, "s")
        plain = chapter.glued(key.strip()).get("text/plain", "")
        return format_plain_text("".join(plain) if isinstance(plain, list) else plain, fmt)
    bundle = chapter.glued(content.strip())
    text = _text_of(bundle, chapter, content)
    if name == "glue:math" and not text.startswith("$"):
        return f"${text}$"
    if "text/markdown" not in bundle and "text/latex" not in bundle:
        return format_plain_text(text, "")
    return text


def cite_role(name: str, content: str, chapter: Chapter) -> str:
    """Author-year citations, as sphinxcontrib-bibtex's ``author_year`` style writes them."""
    keys = [k.strip() for k in content.split(",") if k.strip()]
    parts = []
    for key in keys:
        if key not in chapter.bibliography.entries:
            chapter.warn(f"no bibliography entry {key!r}")
            parts.append((key, "?"))
            continue
        if key not in chapter.cited:
            chapter.cited.append(key)
        parts.append(_author_year(chapter.bibliography.entries[key]))
    if name in {"cite:t", "cite:ts"}:
        return ", ".join(f"{a} ({y})" for a, y in parts)
    if name == "cite:author":
        return ", ".join(a for a, _ in parts)
    if name == "cite:year":
        return ", ".join(y for _, y in parts)
    if name == "cite:yearpar":
        return "(" + "; ".join(y for _, y in parts) + ")"
    inner = "; ".join(f"{a}, {y}" for a, y in parts)
    return inner if name == "cite:alp" else f"({inner})"


def _author_year(entry) -> tuple[str, str]:
    from pybtex.richtext import Text

    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text")
             for p in people]
    if not names:
        author = Text.from_latex(entry.fields.get("organization", entry.fields.get(
            "title", "Anonymous"))).render_as("text")
    elif len(names) == 1:
        author = names[0]
    elif len(names) == 2:
        author = f"{names[0]} and {names[1]}"
    else:
        author = f"{names[0]} et al."
    return author, entry.fields.get("year", "n.d.")


def ref_role(name: str, content: str, chapter: Chapter) -> str:
    """``{doc}``, ``{ref}``, ``{numref}``, ``{eq}`` as text (pages: links to the online book)."""
    title, target = _title_and_target(content)
    if name == "doc":
        docname = chapter.book.path2doc(target.lstrip("/")) or target.lstrip("/")
        text = title or chapter.book.titles.get(docname, target)
        url = chapter.page_url(docname)
        return f"[{text}]({url})" if url else text
    if name == "eq":
        found = chapter.book.equations.get(target)
        if not found:
            chapter.warn(f"no equation {target!r}")
            return target
        return f"({found[1]})"
    found = chapter.label(target)
    if found is None:
        chapter.warn(f"no target {target!r}")
        return title or target
    docname, node_id, section = found
    if name == "numref":
        number = chapter.figure_number(docname, node_id) or "?"
        template = title or chapter.book.figure_format
        return template.replace("%s", number).replace("{number}", number)
    text = title or section or target
    if docname != chapter.docname and chapter.page_url(docname):
        return f"[{text}]({chapter.page_url(docname, '#' + node_id)})"
    return text


def convert_role(match: re.Match, chapter: Chapter) -> str:
    name, content = match.group(1), match.group(3)
    if name.startswith("glue"):
        return glue_role(name, content, chapter)
    if name in CITE_ROLES:
        return cite_role(name, content, chapter)
    if name in {"doc", "ref", "numref", "eq", "any"}:
        return ref_role("ref" if name == "any" else name, content, chapter)
    if name == "math":
        return f"${content}$"
    if name in {"code", "samp", "file", "kbd", "command", "literal"}:
        return f"`{content}`"
    if name in {"term", "abbr", "sub", "sup", "guilabel", "menuselection", "download"}:
        return _title_and_target(content)[0] or re.sub(r"\s*\(.*\)$", "", content)
    chapter.warn(f"unknown role {{{name}}}")
    return content


def convert_text(text: str, chapter: Chapter) -> str:
    """Roles, targets, equation labels and local links of a run of Markdown, made plain."""
    text = ROLE.sub(lambda m: convert_role(m, chapter), text)
    lines = [EQ_LABEL.sub(r"\1", line) for line in text.split("\n") if not TARGET.match(line)]
    text = "\n".join(lines)
    return LOCAL_LINK.sub(lambda m: _local_link(m, chapter), text)


def _local_link(match: re.Match, chapter: Chapter) -> str:
    path, suffix, anchor = match.group(1), match.group(2), match.group(3) or ""
    if not suffix and not (not path and anchor):
        return match.group(0)  # an image or a web page: left as written
    docname = path or chapter.docname
    if not path:  # [text](#label): a target of this book
        found = chapter.label(anchor[1:])
        if found:
            docname, anchor = found[0], "#" + found[1]
    return f"]({chapter.page_url(docname, anchor) or anchor})"


# --------------------------------------------------------------------------------------------
# Directives -> plain Markdown (and the cells that show glued figures)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShowFigure:
    """The place of a glued figure: a cell showing ``key`` goes there."""

    key: str


@dataclass
class Block:
    """A directive: its name, argument, options and body lines."""

    name: str
    argument: str
    options: dict[str, str]
    body: list[str]


def _read_block(lines: list[str], start: int) -> tuple[Block, int]:
    """The directive opening at ``lines[start]`` and the index after its closing fence."""
    head = DIRECTIVE.match(lines[start])
    fence, indent = head.group("fence"), len(head.group("indent"))
    end = start + 1
    closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    while end < len(lines) and not closing.match(lines[end]):
        end += 1
    inner = [line[indent:] if line[:indent].isspace() else line for line in lines[start + 1:end]]
    options, body = {}, inner
    if inner and inner[0].strip() == "---":  # a YAML block of options
        stop = next((i for i in range(1, len(inner)) if inner[i].strip() == "---"), 0)
        import yaml

        options = {str(k): str(v) for k, v in (yaml.safe_load("\n".join(inner[1:stop]))
                                               or {}).items()}
        body = inner[stop + 1:]
    else:
        count = 0
        for line in inner:
            option = re.match(r"^:([\w-]+):\s*(.*)$", line)
            if not option:
                break
            options[option.group(1)] = option.group(2).strip()
            count += 1
        body = inner[count:]
    block = Block(head.group("name").strip(), head.group("arg").strip(), options, body)
    return block, end + 1


def _literalinclude(block: Block, chapter: Chapter) -> str:
    """The code a ``{literalinclude}`` includes, read as the book reads it (Sphinx's reader,
    used as a library: it needs only the source encoding of the configuration)."""
    from sphinx.directives.code import LiteralIncludeReader

    source = chapter.book.sources[chapter.docname].parent / block.argument
    options = {k: (v if v else True) for k, v in block.options.items()}
    config = SimpleNamespace(source_encoding=chapter.book.source_encoding)
    text, _ = LiteralIncludeReader(str(source), options, config).read()
    language = block.options.get("language", "python")
    return f"```{language}\n{text.rstrip()}\n```"


def convert_block(block: Block, chapter: Chapter) -> list:
    """A directive as Markdown text, or as a :class:`ShowFigure` plus its caption for a
    figure."""
    body = "\n".join(block.body).strip()
    name = block.name
    if name in {"glue:figure", "glue", "glue:", "glue:any"}:
        caption = convert_markdown(body, chapter) if body else []
        number = None
        if "name" in block.options and chapter.label(block.options["name"]):
            docname, node_id, _ = chapter.label(block.options["name"])
            number = chapter.figure_number(docname, node_id)
        if caption and number and isinstance(caption[0], str):
            label = chapter.book.figure_format % number
            caption[0] = f"**{label}.** {caption[0]}"
        return [ShowFigure(block.argument), *caption]
    if name == "glue:md":
        return [convert_text(_text_of(chapter.glued(block.argument), chapter, name), chapter)]
    if name == "glue:math":
        text = _text_of(chapter.glued(block.argument), chapter, name).strip("$")
        return [f"$$\n{text}\n$$"]
    if name == "literalinclude":
        return [_literalinclude(block, chapter)]
    if name in {"code-block", "code", "sourcecode"}:
        return [f"```{block.argument}\n{body}\n```"]
    if name == "math":
        return [f"$$\n{body}\n$$"]
    if name in {"bibliography", "tableofcontents", "contents"}:
        return []
    if name in ADMONITIONS:
        title = block.argument if name == "admonition" else name.capitalize()
        inner = [p for p in convert_markdown(body, chapter) if isinstance(p, str)]
        quoted = "\n".join("> " + line if line else ">" for line in
                           f"**{title}**\n\n{chr(10).join(inner)}".split("\n"))
        return [quoted]
    chapter.warn(f"unknown directive {{{name}}}: its body is kept as text")
    return [convert_text(body, chapter)]


def convert_markdown(source: str, chapter: Chapter) -> list:
    """A Markdown cell as plain Markdown strings and :class:`ShowFigure` figure places."""
    lines = source.split("\n")
    parts: list = []
    text: list[str] = []
    index = 0
    while index < len(lines):
        if DIRECTIVE.match(lines[index]):
            block, index = _read_block(lines, index)
            if text:
                parts.append(convert_text("\n".join(text), chapter))
                text = []
            parts += convert_block(block, chapter)
        else:
            text.append(lines[index])
            index += 1
    if text:
        parts.append(convert_text("\n".join(text), chapter))
    return [p.strip("\n") if isinstance(p, str) else p
            for p in parts if not isinstance(p, str) or p.strip()]


# --------------------------------------------------------------------------------------------
# The notebook
# --------------------------------------------------------------------------------------------


def convert_code_cell(cell: nbformat.NotebookNode, chapter: Chapter) -> nbformat.NotebookNode:
    """The code cell with ``vgcourse.glue`` for ``myst_nb`` and without the glue records."""
    cell.source = GLUE_IMPORT.sub(r"\1from vgcourse.glue import glue", cell.source)
    if "myst_nb" in cell.source:
        chapter.warn("a code cell still uses myst_nb (only `from myst_nb import glue` is "
                     "replaced)")
    outputs = []
    for output in cell.get("outputs", []):
        meta = output.get("metadata", {})
        if "scrapbook" in meta:
            if meta["scrapbook"].get("mime_prefix"):
                continue  # a display=False record: the value is in the text now
            meta.pop("scrapbook")
        outputs.append(output)
    cell.outputs = outputs
    return cell


def show_cell(key: str, chapter: Chapter) -> nbformat.NotebookNode:
    """A cell showing the glued ``key``, with the build's output of it."""
    bundle = chapter.glued(key)
    output = nbformat.v4.new_output("display_data", data=bundle)
    cell = nbformat.v4.new_code_cell(
        f'show_glued("{key}")', outputs=[output], metadata={"tags": ["show-glued"]}
    )
    return cell


def bibliography_cell(chapter: Chapter) -> nbformat.NotebookNode | None:
    """``## Bibliography``: the entries the chapter cites, in the book's plain style, by author."""
    if not chapter.cited:
        return None
    from pybtex.database import BibliographyData, Entry
    from pybtex.plugin import find_plugin

    data = BibliographyData()
    for key in chapter.cited:  # \url{x} is x (pybtex's LaTeX reader does not know \url)
        entry = chapter.bibliography.entries[key]
        fields = {k: re.sub(r"\\url\{([^}]*)\}", r"\1", v) for k, v in entry.fields.items()}
        data.add_entry(key, Entry(entry.type, fields=fields, persons=entry.persons))
    style = find_plugin("pybtex.style.formatting", "plain")()
    entries = sorted(style.format_entries(data.entries.values()),
                     key=lambda e: _author_year(data.entries[e.key]))
    items = [f"- {' '.join(e.text.render_as('text').split())}" for e in entries]
    return nbformat.v4.new_markdown_cell("## Bibliography\n\n" + "\n".join(items))


def standalone_notebook(notebook: nbformat.NotebookNode, chapter: Chapter
                        ) -> nbformat.NotebookNode:
    """The download of ``chapter``, made from its executed ``notebook`` (changed in place and
    returned); what went wrong is in ``chapter.warnings``."""
    book = chapter.book
    cells = [install_cell(*book.package, book.packages_url)]
    for cell in notebook.cells:
        if BOOK_ONLY_TAG in cell.metadata.get("tags", []):
            continue  # the online book's interactive figures (Altair): not in the download
        if cell.cell_type == "code":
            cells.append(convert_code_cell(cell, chapter))
            continue
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        for part in convert_markdown(cell.source, chapter):
            if isinstance(part, str):
                cells.append(nbformat.v4.new_markdown_cell(part))
            else:
                cells.append(show_cell(part.key, chapter))
    if any(c.cell_type == "code" and "show_glued(" in c.source for c in cells):
        cells.insert(1, nbformat.v4.new_code_cell(
            "# Shows the chapter's figures where the book shows them.\n"
            "from vgcourse.glue import show_glued", metadata={"tags": ["import-show-glued"]}))
    bibliography = bibliography_cell(chapter)
    if bibliography is not None:
        cells.append(bibliography)
    notebook.cells = cells
    for key in ("jupytext", "mystnb"):
        notebook.metadata.pop(key, None)
    return notebook


def chapter_notebook(book: Book, docname: str) -> tuple[nbformat.NotebookNode, list[str]]:
    """The download of chapter ``docname`` from the build's executed notebook, and the warnings
    of its conversion."""
    chapter = Chapter(book, docname)
    notebook = nbformat.read(book.executed_notebook(docname), as_version=4)
    return standalone_notebook(notebook, chapter), chapter.warnings
