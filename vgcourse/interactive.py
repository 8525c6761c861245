"""Interactive figures for the online book: a Vega-Lite chart shown in the reader's browser.

A chapter computes its data on a grid over the parameter that is the lesson (a weight scale, a
depth, a spectral radius), describes the chart with Altair (or any object with a ``to_dict()``
that returns a Vega-Lite specification, or the specification itself), and shows it with
:func:`interactive_figure`. The output is HTML that holds the specification as JSON and no
script: the book's extension ``vgcourse_interactive`` serves Vega, Vega-Lite and vega-embed
from the book itself and draws every such figure when the page loads, so the page needs no
server and no network.

Examples
--------
>>> spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json",
...         "data": {"values": [{"x": 1, "y": 2}]}, "mark": "point",
...         "encoding": {"x": {"field": "x", "type": "quantitative"}}}
>>> figure = interactive_figure(spec, "one point at x = 1")
>>> 'class="vgcourse-interactive"' in figure._repr_html_()
True
"""

from __future__ import annotations

import html
import json
from typing import Any

from ._palette import OKABE_ITO

__all__ = ["PALETTE", "InteractiveFigure", "interactive_figure"]

#: Line colours for the interactive figures, the same colour-blind-safe palette as the static
#: ones (``vgcourse.plots``): pass as ``alt.Scale(range=PALETTE)``.
PALETTE: list[str] = list(OKABE_ITO)

#: The class of the HTML element the book's script finds and draws into.
FIGURE_CLASS = "vgcourse-interactive"


class InteractiveFigure:
    """A Vega-Lite specification and the text that says what it shows, as notebook HTML.

    Parameters
    ----------
    spec : dict
        The Vega-Lite specification (``$schema``, ``data`` inline).
    description : str
        The figure's text alternative: what the figure shows and what its controls change.
    """

    def __init__(self, spec: dict[str, Any], description: str) -> None:
        self.spec = spec
        self.description = description

    def __repr__(self) -> str:
        # what a notebook without HTML shows (and the PDF of the book): the text alternative
        return f"[Interactive figure, in the online book: {self.description}]"

    def _repr_html_(self) -> str:
        # "</" inside a <script> would end it early; JSON allows "<\/" for "</".
        payload = json.dumps(self.spec, separators=(",", ":"), allow_nan=False)
        payload = payload.replace("</", "<\\/")
        label = html.escape(self.description, quote=True)
        return (
            f'<div class="{FIGURE_CLASS}" role="group" aria-label="{label}">'
            f'<div class="{FIGURE_CLASS}-view"></div>'
            f'<p class="{FIGURE_CLASS}-alt">{html.escape(self.description)}</p>'
            f'<script type="application/json" class="{FIGURE_CLASS}-spec">{payload}</script>'
            "</div>"
        )


def interactive_figure(chart: Any, description: str) -> InteractiveFigure:
    """Wrap a Vega-Lite chart for the online book.

    Parameters
    ----------
    chart : altair.Chart or dict
        An Altair chart (anything whose ``to_dict()`` returns a Vega-Lite specification) or
        the specification itself. Its data must be inline (``data.values``): the book reads
        no file and no network.
    description : str
        What the figure shows, in a sentence or two: the figure's text alternative, read by
        screen readers and shown before the chart is drawn (and without JavaScript).

    Returns
    -------
    InteractiveFigure
        Displayed by Jupyter (and by the book) as HTML that the book's script draws.

    Raises
    ------
    TypeError
        If ``chart`` is neither a dict nor has a ``to_dict()``, or ``description`` is not a str.
    ValueError
        If the specification has no ``$schema``, holds non-finite numbers, or ``description``
        is empty.

    Examples
    --------
    >>> interactive_figure({"mark": "point"}, "a point")
    Traceback (most recent call last):
    ...
    ValueError: chart must be a Vega-Lite specification with a '$schema', got keys ['mark']
    """
    if not isinstance(description, str):
        raise TypeError(f"description must be a str, got {type(description).__name__}")
    if not description.strip():
        raise ValueError("description must say what the figure shows, got an empty string")
    if isinstance(chart, dict):
        spec = chart
    elif callable(getattr(chart, "to_dict", None)):
        spec = chart.to_dict()
    else:
        raise TypeError(
            "chart must be an Altair chart or a Vega-Lite dict, got "
            f"{type(chart).__name__}"
        )
    if "$schema" not in spec:
        raise ValueError(
            "chart must be a Vega-Lite specification with a '$schema', got keys "
            f"{sorted(spec)}"
        )
    try:
        json.dumps(spec, allow_nan=False)
    except ValueError as err:
        raise ValueError(f"chart must hold only finite numbers (JSON has no NaN): {err}") from err
    return InteractiveFigure(spec, description.strip())
