"""``glue`` for the chapter notebooks you download from the book, where ``myst_nb`` is absent.

A chapter of the book computes its numbers and figures and *glues* them with
``myst_nb.glue(name, value, display=False)``; the book then pastes them into its text. The
notebook a chapter page offers for download already has those numbers in its text, and it
calls this module instead of ``myst_nb``: :func:`glue` keeps the value under its name (and
shows it at once when ``display`` is true, as ``myst_nb.glue`` does), and :func:`show_glued`
shows a kept value where the chapter shows it, for example a figure under its caption.

Examples
--------
>>> from vgcourse.glue import glue, glued
>>> glue("answer", 42, display=False)
>>> glued("answer")
42
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue", "glued", "show_glued"]

_GLUED: dict[str, Any] = {}


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Keep ``variable`` under ``name``; show it now if ``display`` (as ``myst_nb.glue``).

    Parameters
    ----------
    name : str
        The name the chapter's text uses for the value.
    variable : object
        The value: a number, a Markdown object, a matplotlib figure ...
    display : bool, default True
        Show the value in the cell's output now.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"glue: name must be a non-empty str, got {name!r}")
    _GLUED[name] = variable
    if display:
        _display(variable)


def glued(name: str) -> Any:
    """The value kept under ``name`` by :func:`glue`.

    Raises
    ------
    KeyError
        If nothing was glued under ``name`` (run the cells above first).
    """
    try:
        return _GLUED[name]
    except KeyError:
        known = ", ".join(sorted(_GLUED)) or "none yet"
        raise KeyError(
            f"nothing glued under {name!r}: run the cells above this one first "
            f"(glued so far: {known})"
        ) from None


def show_glued(name: str) -> None:
    """Show the value kept under ``name`` (a figure appears as an image)."""
    _display(glued(name))


def _display(value: Any) -> None:
    from IPython.display import display  # a notebook kernel always has IPython

    display(value)
