/* Draws the book's interactive figures (vgcourse.interactive_figure): every
   div.vgcourse-interactive holds its Vega-Lite specification as JSON; vega-embed (served by the
   book, _static/vendor/vega) draws it as SVG, with its controls (sliders and selectors, native
   form elements, so they work from the keyboard). When every figure of the page is drawn,
   document.documentElement gets data-vgcourse-interactive="ready" (or "failed"), which the
   browser test waits for. */
(function () {
  "use strict";

  // Vega, then Vega-Lite, then vega-embed (each needs the one before), from this script's folder.
  const base = document.currentScript.src.replace(/vgcourse-interactive\.js(\?.*)?$/, "");
  const libraries = ["vendor/vega/vega.min.js", "vendor/vega/vega-lite.min.js",
                     "vendor/vega/vega-embed.min.js"];
  function load(i) {
    if (i === libraries.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = base + libraries[i];
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${script.src}`));
      document.head.appendChild(script);
    }).then(() => load(i + 1));
  }

  function label(container, view) {
    // The SVG's own name is the figure's text alternative; the controls get theirs from
    // vega-embed's <label> elements.
    const svg = view.querySelector("svg");
    if (svg) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", container.getAttribute("aria-label") || "");
    }
  }

  function draw(container) {
    const source = container.querySelector("script.vgcourse-interactive-spec");
    const view = container.querySelector(".vgcourse-interactive-view");
    const spec = JSON.parse(source.textContent);
    return vegaEmbed(view, spec, { actions: false, renderer: "svg" }).then((result) => {
      label(container, view);
      result.view.addSignalListener("width", () => label(container, view));
      result.view.runAsync().then(() => label(container, view));
      container.dataset.rendered = "true";
      return result;
    });
  }

  function drawAll() {
    const figures = Array.from(document.querySelectorAll("div.vgcourse-interactive"));
    load(0).then(() => Promise.all(figures.map(draw))).then(
      () => { document.documentElement.dataset.vgcourseInteractive = "ready"; },
      (error) => {
        document.documentElement.dataset.vgcourseInteractive = "failed";
        console.error("vgcourse: an interactive figure could not be drawn:", error);
      }
    );
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
