// pairscope: loaded after BokehJS, before any document is drawn (`pairscope serve`).
//
// BokehJS reads every scalar visual's colour, alpha, width and font (axes, ticks, grids, titles,
// labels, borders) from CSS custom properties (--bk-line-color, ...) with getComputedStyle, on
// every paint and layout pass. On a page just laid out again each of those reads is a style
// recalculation of the whole page: Chrome's profile of opening the Learn tab spent ~1.9 s in
// getPropertyValue, of a first pixel click ~0.36 s. pairscope styles no visual through CSS, so
// the visuals take their models' values directly (what BokehJS does when the property is unset).
(function () {
  "use strict";
  try {
    const visual = Bokeh.require("core/visuals/visual");
    visual.VisualProperties.prototype._get_css_value = function () {
      return "";
    };
    window.pairscopeVisualsFromModels = true;
  } catch (err) {
    // another BokehJS without this module: its visuals read CSS as before (slower, not wrong)
    window.pairscopeVisualsFromModels = false;
  }
})();
