# mypy: disable-error-code="no-untyped-call"
"""Learn: what the numbers of the current pair mean.

The estimator (CEOS-ARD eq. 18-19) as maths (MathML, typeset by the browser itself); the
estimator's bias (Touzi et al. 1999, :func:`pairscope.coherence.expected_sample_coherence`) and the
phase noise (:func:`pairscope.coherence.phase_std`) for the chosen window over the measured
coherence histogram; on the demo catalog the simulation's true coherence beside the estimate
(:func:`pairscope.sim.demo.true_pair_coherence`) and its error; a window slider that recomputes live;
the look geometry of the clicked pixel (:func:`pairscope.geometry.look_geometry` on the date's
orbit) and the fringe scale (one cycle = lambda / 2 of line-of-sight motion).

Each figure is built once, when the tab is first shown, and then changes in place: the curves,
histograms, diagram and titles are plain Bokeh data sources and properties; the three truth maps
pan and zoom together and are resampled to their figures' pixels for the range shown, as the
explorer's maps (:class:`pairscope.ui.views.maps.LinkedImages`). A new window built five new
figures before (~0.6-0.7 s of the server's loop here, and the browser's building and layout of
them); as HoloViews DynamicMaps fed by ``Pipe`` s the maps' updates then still cost a walk of the
whole page's models each.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import panel as pn
from bokeh.core.properties import value
from bokeh.models import ColumnDataSource, HoverTool, LinearColorMapper, Range1d
from bokeh.models.annotations import LabelSet, Legend, LegendItem, Span
from bokeh.plotting import figure

from pairscope import geometry, render
from pairscope.ui.backend import UserError
from pairscope.ui.messages import as_text, explain
from pairscope.ui.services import LEARN_HIST_BINS as HIST_BINS
from pairscope.ui.services import (
    PHASE_STD_NOISE,
    PixelGeometry,
    Runner,
    TruthComparison,
    bias_curves,
    coherence_histogram,
    fringe_cycle,
    pixel_geometry,
    pixel_location,
    truth_comparison,
)
from pairscope.ui.state import ExplorerState, parse_pairs
from pairscope.ui.views.maps import Image, LinkedImages, index_frame
from pairscope.ui.views.style import wrap_row

PLOT_HEIGHT = 300
MAP_HEIGHT = 260
#: Narrowest a plot may get before the plots of a row wrap under each other (they grow with the
#: window; none is wider than the main area).
MIN_WIDTH = 360
#: The bias and phase-noise plots: as wide as their titles (Bokeh draws a title on one line, so
#: a narrower figure widened the page); they go under each other when the window is narrow.
CURVES_MIN_WIDTH = 580

# The formulas as MathML, which the browser typesets itself (no script to load: KaTeX's was ~0.3 MB
# of every page's JavaScript for one tab).
def _row(*parts: str) -> str:
    return f"<mrow>{''.join(parts)}</mrow>"


def _mi(name: str) -> str:
    return f"<mi>{name}</mi>"


_UNSTRETCHED = frozenset("()/")


def _mo(op: str) -> str:
    if op in _UNSTRETCHED:  # at the height of the text, not stretched to a fraction beside them
        return f'<mo stretchy="false">{op}</mo>'
    return f"<mo>{op}</mo>"


def _mn(number: str) -> str:
    return f"<mn>{number}</mn>"


def _frac(top: str, bottom: str) -> str:
    return f"<mfrac>{top}{bottom}</mfrac>"


def _sample(date: str, conjugate: bool = False) -> str:
    """s_{date,k}, with ^* for the complex conjugate."""
    index = _row(_mn(date), _mo(","), _mi("k"))
    if conjugate:
        return f"<msubsup>{_mi('s')}{index}{_mo('*')}</msubsup>"
    return f"<msub>{_mi('s')}{index}</msub>"


_BAR = '<mo lspace="0" rspace="0">|</mo>'  # an absolute value's bar (no operator spacing)
_SUM = f"<munderover><mo>&#8721;</mo>{_row(_mi('k'), _mo('='), _mn('1'))}{_mi('L')}</munderover>"
_GAMMA2 = f"<msup>{_mi('&#947;')}{_mn('2')}</msup>"
_PRODUCT = _row(_SUM, _sample("1"), _sample("2", conjugate=True))


def _power(date: str) -> str:
    return _row(_SUM, f"<msup>{_row(_BAR, _sample(date), _BAR)}{_mn('2')}</msup>")


def _math(*parts: str) -> str:
    return f'<math class="ps-formula" display="inline">{"".join(parts)}</math>'


def _note(text: str) -> str:
    return f'<mspace width="0.8em"/><mtext>{text}</mtext>'


#: CEOS-ARD eq. 18 (coherence) and 19 (phase) of the sample window (L samples).
FORMULA_COHERENCE = _math(
    _mi("&#947;"), _mo("="),
    _frac(_row(_BAR, _PRODUCT, _BAR),
          f"<msqrt>{_power('1')}<mspace width='0.3em'/>{_power('2')}</msqrt>"),
    _note("(CEOS-ARD eq. 18)"))  # fmt: skip
FORMULA_PHASE = _math(_mi("&#966;"), _mo("="), _mi("arg"), _mo("("), _PRODUCT, _mo(")"),
                      _note("(eq. 19)"))  # fmt: skip
#: Touzi et al. (1999): the expected sample coherence; the phase noise bound; phase to motion.
FORMULA_BIAS = _math(
    _mi("E"), _BAR, f"<mover>{_mi('&#947;')}{_mo('^')}</mover>", _BAR, _mo("="),
    _frac(_row(_mi("&#915;"), _mo("("), _mi("L"), _mo(")"), _mi("&#915;"), _mo("("), _mn("3"),
               _mo("/"), _mn("2"), _mo(")")),
          _row(_mi("&#915;"), _mo("("), _mi("L"), _mo("+"), _mn("1"), _mo("/"), _mn("2"),
               _mo(")"))),
    f"<mmultiscripts>{_mi('F')}{_mn('2')}<none/><mprescripts/>{_mn('3')}<none/></mmultiscripts>",
    _row(_mo("("), _mn("3"), _mo("/"), _mn("2"), _mo(","), _mi("L"), _mo(","), _mi("L"), _mo(";"),
         _mi("L"), _mo("+"), _mn("1"), _mo("/"), _mn("2"), _mo(","), _mn("1"), _mo(";"), _GAMMA2,
         _mo(")")),
    f"<msup>{_row(_mo('('), _mn('1'), _mo('&#8722;'), _GAMMA2, _mo(')'))}{_mi('L')}</msup>",
)  # fmt: skip
FORMULA_PHASE_NOISE = _math(
    f"<msub>{_mi('&#963;')}{_mi('&#966;')}</msub>", _mo("&#8805;"),
    _frac(f"<msqrt>{_mn('1')}{_mo('&#8722;')}{_GAMMA2}</msqrt>",
          _row(_mi("&#947;"), f"<msqrt>{_mn('2')}{_mi('L')}</msqrt>")))  # fmt: skip
FORMULA_MOTION = _math(
    _mi("&#916;"), f"<msub>{_mi('r')}<mtext>LOS</mtext></msub>", _mo("="),
    _frac(_mi("&#955;"), _row(_mn("4"), _mi("&#960;"))), _mi("&#916;"), _mi("&#966;"))  # fmt: skip


def formulas_html(*formulas: str) -> str:
    """Formulas side by side, wrapping onto the next line when the page is narrow."""
    items = "".join(f'<div class="ps-formula-item">{f}</div>' for f in formulas)
    return ('<div style="display:flex;flex-wrap:wrap;align-items:center;gap:0.4em 2.5em;'
            f'font-size:1.2em;margin:0.3em 0">{items}</div>')


FORMULAS = formulas_html(FORMULA_COHERENCE, FORMULA_PHASE)
TOUZI = formulas_html(FORMULA_BIAS, FORMULA_PHASE_NOISE, FORMULA_MOTION)


# -- plain functions (tested without a browser) -----------------------------------------------






















# -- plots ------------------------------------------------------------------------------------
def curves_data(looks: int, measured: np.ndarray | None, sidebar_looks: int | None
                ) -> tuple[dict[str, dict[str, Any]], tuple[str, str]]:  # fmt: skip
    """The columns of the bias and phase-noise plots' sources (``bias_curve``: Touzi's expected
    sample coherence for ``looks``; ``bias_side``: the sidebar window's, when it differs;
    ``phase_curve``: the Cramer-Rao phase standard deviation; ``bias_hist`` / ``phase_hist``: the
    measured histogram, highest bar 1 and 110 deg) and their titles. The curves and the
    histogram are computed once for both plots."""
    curves = bias_curves(looks)
    g = curves["true"].to_numpy()
    side: dict[str, Any] = {"x": [], "y": []}
    if sidebar_looks and sidebar_looks != looks:
        other = bias_curves(sidebar_looks)
        side = {"x": other["true"].to_numpy(), "y": other["expected"].to_numpy()}
    hist: dict[str, Any] = {"left": [], "right": [], "top": []}
    share = np.zeros(0)
    if measured is not None:
        share, edges = coherence_histogram(measured)
        hist = {"left": edges[:-1], "right": edges[1:]}
    peak = share.max() if share.size and share.max() > 0 else 1.0
    floor = float(curves["expected"].iloc[0])
    columns = {
        "bias_curve": {"x": g, "y": curves["expected"].to_numpy()}, "bias_side": side,
        "phase_curve": {"x": g, "y": curves["phase_std_deg"].to_numpy()},
        "bias_hist": {**hist, "top": share / peak} if measured is not None else hist,
        "phase_hist": {**hist, "top": 110.0 * share / peak} if measured is not None else hist,
    }  # fmt: skip
    return columns, (f"Sample coherence bias, {looks} looks: pure noise reads {floor:.2f}",
                     f"Phase noise (Cramer-Rao), {looks} looks; uniform phase: 104 deg")


def _curve_figure(y_end: float, xlabel: str, ylabel: str) -> Any:
    return figure(height=PLOT_HEIGHT, sizing_mode="stretch_width", min_width=CURVES_MIN_WIDTH,
                  x_range=Range1d(start=0.0, end=1.0), y_range=Range1d(start=0.0, end=y_end),
                  x_axis_label=xlabel, y_axis_label=ylabel, title=" ", toolbar_location="above",
                  tools="pan,wheel_zoom,box_zoom,reset,save")  # fmt: skip


def truth_titles(tc: TruthComparison, looks: int) -> tuple[str, str, str]:
    return ("True coherence (simulation)", f"Estimate, {looks} looks",
            f"Error: mean {tc.mean_error:+.3f} (Touzi {tc.predicted_bias:+.3f})")


def truth_images(tc: TruthComparison, looks: int) -> list[Image]:
    """The truth, the estimate and their difference as :meth:`LinkedImages.show` draws them:
    values, palette, colour limits, colour bar label, title."""
    viridis, diverging = list(render.palette("viridis")), list(render.palette("rdbu_r"))
    coh = "coherence [0-1]"
    titles = truth_titles(tc, looks)
    diff = "estimate - truth"
    return [(index_frame(np.asarray(tc.truth.values), coh), viridis, (0.0, 1.0), coh, titles[0]),
            (index_frame(np.asarray(tc.estimate.values), coh), viridis, (0.0, 1.0), coh, titles[1]),
            (index_frame(np.asarray(tc.error.values), diff), diverging, (-0.4, 0.4), diff, titles[2])]


def look_data(g: PixelGeometry) -> dict[str, dict[str, Any]]:
    """The look diagram's columns, in the target's east-north-up frame (km): line of sight,
    local vertical and ground; target and sensor; their labels."""
    r_km = g.slant_range / 1000.0
    horiz = float(np.hypot(g.enu[0], g.enu[1])) * r_km
    up = float(g.enu[2]) * r_km
    return {
        "lines": {"x0": [0.0, 0.0, -0.15 * horiz], "y0": [0.0, 0.0, 0.0],
                  "x1": [horiz, 0.0, 1.1 * horiz], "y1": [up, up * 0.45, 0.0],
                  "what": ["line of sight", "local vertical", "ground (tangent plane)"],
                  "colour": ["#1f77b4", "#2ca02c", "#8c564b"]},
        "points": {"x": [0.0, horiz], "y": [0.0, up], "what": ["target", "sensor"],
                   "colour": ["#d62728", "#ff7f0e"]},
        "labels": {"x": [0.04 * horiz, horiz, 0.06 * horiz, 0.5 * horiz],
                   "y": [0.06 * up, 0.92 * up, -0.05 * up, 0.54 * up],
                   "text": [f"incidence {g.incidence:.1f} deg", "sensor", "target",
                            f"slant range {r_km:.1f} km"]},
    }  # fmt: skip


def look_markdown(g: PixelGeometry, where: str) -> str:
    def v(a: np.ndarray, f: str = "+.4f") -> str:
        return ", ".join(format(float(x), f) for x in a)

    heading = math.degrees(math.atan2(g.enu[0], g.enu[1])) % 360.0
    return "\n".join([
        f"#### Pixel {where}",
        f"lat {g.latitude:.5f}, lon {g.longitude:.5f}, h {g.height:.0f} m; zero-Doppler time "
        f"{str(g.azimuth_time)[:23]}",
        "| | x / east | y / north | z / up |", "|---|---|---|---|",
        f"| sensor, ECEF [km] | {v(g.sensor / 1000, '.3f').replace(', ', ' | ')} |",
        f"| target, ECEF [km] | {v(g.target / 1000, '.3f').replace(', ', ' | ')} |",
        f"| look vector, ECEF (antenna to target) | {v(g.look).replace(', ', ' | ')} |",
        f"| line of sight, ENU (target to sensor) | {v(g.enu).replace(', ', ' | ')} |",
        "",
        f"Incidence (ellipsoid normal) {g.incidence:.2f} deg = arccos(up {g.enu[2]:.4f}); slant "
        f"range {g.slant_range / 1000:.3f} km; the sensor is seen towards azimuth {heading:.1f} deg "
        "from north (right-looking).",
    ])  # fmt: skip


def fringe_plot(wavelength: float = geometry.SENTINEL1_WAVELENGTH, cycles: int = 3) -> Any:
    """The phase of line-of-sight motion over a few cycles (drawn once)."""
    half = fringe_cycle(wavelength) * 100.0  # cm
    d = np.linspace(0.0, cycles * half, 600)
    phase = np.angle(np.exp(1j * 4 * np.pi * d / (wavelength * 100.0)))
    fig = figure(height=110, sizing_mode="stretch_width", min_width=MIN_WIDTH, toolbar_location=None,
                 x_range=Range1d(start=0.0, end=float(d[-1])), y_range=Range1d(start=0.0, end=1.0),
                 x_axis_label="line-of-sight motion [cm]",
                 title=f"Fringe scale: one cycle = lambda/2 = {half:.2f} cm of line-of-sight "
                       f"motion (lambda = {wavelength * 100:.2f} cm)")  # fmt: skip
    fig.yaxis.visible = False
    fig.grid.visible = False
    colours = LinearColorMapper(palette=list(render.palette("twilight")), low=-math.pi,
                               high=math.pi)  # fmt: skip
    mapped: dict[str, Any] = {"color_mapper": colours}  # missing in bokeh's type stub
    fig.image(image=[np.vstack([phase, phase]).astype(np.float32)], x=0.0, y=0.0,
              dw=float(d[-1]), dh=1.0, **mapped)  # fmt: skip
    return fig


class LearnView(pn.viewable.Viewer):
    """Formulas, bias and phase-noise curves for a live window, truth vs estimate, look geometry."""

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.runner = Runner()
        self.pixel_runner = Runner()
        self.active = False
        #: Whether the tab is on screen (the app clears it when another tab is shown): a hidden
        #: tab recomputes when it is shown again, not on every change.
        self.shown = True
        self.measured: np.ndarray | None = None
        self.truth: TruthComparison | None = None
        self.azimuth = pn.widgets.IntSlider(name="Window azimuth looks", start=1, end=15,
                                            value=min(15, state.window_azimuth), width=260,
                                            css_classes=["ps-learn-azimuth"])  # fmt: skip
        self.range = pn.widgets.IntSlider(name="Window range looks", start=1, end=61,
                                          value=min(61, state.window_range), width=260,
                                          css_classes=["ps-learn-range"])  # fmt: skip
        self.message = pn.pane.Alert("Compute a pair (sidebar) to see its numbers here.",
                                     alert_type="info", sizing_mode="stretch_width",
                                     css_classes=["ps-learn-message"], margin=(5, 5))  # fmt: skip
        self.formulas = pn.pane.HTML(FORMULAS, sizing_mode="stretch_width",
                                     css_classes=["ps-learn-formulas"])  # fmt: skip
        self.touzi = pn.pane.HTML(TOUZI, sizing_mode="stretch_width")
        self.explain = pn.pane.Markdown(
            "L is the number of samples in the window (azimuth x range). Sentinel-1 SLCs are "
            "oversampled, so fewer of them are independent than L: the real bias and phase noise "
            "sit a little above these curves. s1, s2: the two coregistered SLCs; the sums run over "
            "the window's valid samples.", sizing_mode="stretch_width")  # fmt: skip
        # the plots are built when the tab is first shown (activate): a session that never opens
        # Learn does not pay for them (~0.5 s of the session's document); then they change in
        # place
        self.curves = pn.pane.Bokeh(None, sizing_mode="stretch_width", min_width=CURVES_MIN_WIDTH)
        self.phase = pn.pane.Bokeh(None, sizing_mode="stretch_width", min_width=CURVES_MIN_WIDTH)
        self._sources: dict[str, ColumnDataSource] = {}
        self._legend: dict[str, LegendItem] = {}
        # one pane per map; the maps share their ranges (they pan and zoom together)
        self.truth_panes = [
            pn.pane.Bokeh(None, sizing_mode="stretch_width", min_width=MIN_WIDTH,
                          height=MAP_HEIGHT + 10, css_classes=["ps-learn-map"])
            for _ in range(3)
        ]  # fmt: skip
        self.truth_maps: LinkedImages | None = None  # the truth maps, once drawn
        self.truth_text = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.diagram = pn.pane.Bokeh(None, width=450)
        self.look_text = pn.pane.Markdown("Click a pixel of a map (Explore tab) to see its look "
                                          "geometry here.", sizing_mode="stretch_width")  # fmt: skip
        self.fringe = pn.pane.Bokeh(None, sizing_mode="stretch_width")
        self.azimuth.param.watch(self._window_changed, "value_throttled")
        self.range.param.watch(self._window_changed, "value_throttled")
        state.param.watch(self._pair_changed, ["pair", "version", "catalog", "burst",
                                               "polarization"])  # fmt: skip
        state.param.watch(self._pixel_changed, ["pixel"])
        state.param.watch(self._sidebar_window, ["window_azimuth", "window_range"])

    def _window(self) -> tuple[int, int]:
        return int(self.azimuth.value or 1), int(self.range.value or 1)

    def _looks(self) -> int:
        az, rg = self._window()
        return az * rg

    def say(self, text: str, kind: str = "info") -> None:
        """Show ``text`` as text (never as HTML / Markdown: it may carry a visitor's input)."""
        self.message.param.update(object=as_text(text), alert_type=kind)

    def activate(self) -> None:
        """Called when the tab is shown: recompute for the current pair and pixel."""
        if self.fringe.object is None:  # first shown: the plots that need no pair
            sidebar = int(self.state.window_azimuth) * int(self.state.window_range)
            self._build_curves()
            self._draw_curves(self._looks(), None, sidebar)
            self.fringe.object = fringe_plot()
        self.active = self.shown = True
        self.recompute()
        self.update_pixel()

    def _pair_changed(self, *_: Any) -> None:
        """A new pair, result, catalog, burst or polarization: recompute now when the tab is on
        screen (a hidden tab recomputes when shown: :meth:`activate`)."""
        if self.active and self.shown:
            self.recompute()
            self.update_pixel()

    def _pixel_changed(self, *_: Any) -> None:
        if self.active and self.shown:
            self.update_pixel()

    def _window_changed(self, *_: Any) -> None:
        self.recompute()

    def _sidebar_window(self, *_: Any) -> None:
        """The sidebar's window (or the QA view's best match) moves the sliders too."""
        self.azimuth.value = max(self.azimuth.start, min(self.azimuth.end, self.state.window_azimuth))
        self.range.value = max(self.range.start, min(self.range.end, self.state.window_range))
        if self.active and self.shown:
            self.recompute()

    def _failed(self, exc: BaseException) -> None:
        self.say(explain(exc, "The Learn tab could not compute this pair").__str__(), "danger")

    # -- the window, the curves and the truth -----------------------------------------------------
    def recompute(self) -> None:
        state = self.state
        looks = self._looks()
        sidebar = int(state.window_azimuth) * int(state.window_range)
        if not state.pair:
            self._draw_curves(looks, None, sidebar)
            self.say("Compute a pair (sidebar) to see its measured coherence and truth here.")
            return
        ref, sec = parse_pairs(state.pair)[0]
        window = self._window()
        location, burst, pol = state.catalog, state.burst, state.polarization
        backend = state.backend
        self.say(f"Computing {state.pair} with a {window[0]}x{window[1]} window...")

        def work() -> tuple[np.ndarray, TruthComparison | None, str]:
            ds = backend.compute_pair(location, burst, pol, ref, sec, window, False, "radar")
            coh = ds["coherence"]
            note = ""
            try:
                tc: TruthComparison | None = truth_comparison(
                    backend, location, ref, sec, pol, coh, window[0] * window[1], burst_id=burst
                )
            except FileNotFoundError:
                tc, note = None, ("The true coherence is known only on the simulated demo catalog "
                                  "(pairscope demo build).")  # fmt: skip
            return np.asarray(coh.values), tc, note

        def done(result: tuple[np.ndarray, TruthComparison | None, str]) -> None:
            measured, tc, note = result
            self.measured, self.truth = measured, tc
            self._draw_curves(looks, measured, sidebar)
            if tc is not None:
                if self.truth_maps is None:  # first drawn: the figures, kept from now on
                    self.truth_maps = LinkedImages(3, height=MAP_HEIGHT, min_width=MIN_WIDTH)
                    for pane, m in zip(self.truth_panes, self.truth_maps.maps, strict=True):
                        pane.object = m.fig
                # (the truth is the pair's, not the window's: its image is sent when it changed)
                self.truth_maps.show(truth_images(tc, looks))
                self.truth_text.object = (
                    f"Estimate minus truth over the burst: mean {tc.mean_error:+.4f}, RMSE "
                    f"{tc.rmse:.4f}. Touzi's curve predicts a mean bias of "
                    f"{tc.predicted_bias:+.4f} for {looks} independent looks; the rest is "
                    "speckle, the window straddling class borders and phase gradients (fringes) "
                    "inside the window."
                )  # fmt: skip
            else:
                for pane in self.truth_panes:
                    pane.object = None
                self.truth_maps = None
                self.truth_text.object = note
            finite = measured[np.isfinite(measured)]
            mean = float(finite.mean()) if finite.size else math.nan
            self.say(f"{state.pair}, window {window[0]}x{window[1]} ({looks} looks): mean "
                     f"coherence {mean:.3f}.", "success")  # fmt: skip

        self.runner.submit(work, done, self._failed)

    # -- the clicked pixel --------------------------------------------------------------------------
    def update_pixel(self) -> None:
        state = self.state
        ds = state.current()
        if ds is None or not state.pair:
            return
        ref, _sec = parse_pairs(state.pair)[0]
        coh = ds["coherence"]
        if state.pixel is not None:
            x, y = state.pixel
            where = f"({x:.0f}, {y:.0f})"
        else:
            ydim, xdim = coh.dims[-2], coh.dims[-1]
            xs = coh[xdim].values if xdim in coh.coords else np.arange(coh.sizes[xdim])
            ys = coh[ydim].values if ydim in coh.coords else np.arange(coh.sizes[ydim])
            x, y = float(xs[len(xs) // 2]), float(ys[len(ys) // 2])
            where = f"({x:.0f}, {y:.0f}), the scene centre (click a map to pick another)"
        if "height" not in ds.coords:
            where += "; height 0 m on the ellipsoid (this grid carries no terrain height)"
        location, burst, pol, backend = state.catalog, state.burst, state.polarization, state.backend

        def work() -> PixelGeometry:
            found = pixel_location(ds, x, y)
            if found is None:
                raise UserError("The clicked point has no latitude/longitude.",
                                "Click inside the computed map.")  # fmt: skip
            return pixel_geometry(backend.orbit(location, burst, pol, ref), *found)

        def done(g: PixelGeometry) -> None:
            self._draw_look(g)
            self.look_text.object = look_markdown(g, where)

        def failed(exc: BaseException) -> None:
            self.diagram.object = None
            self.look_text.object = as_text(f"Look geometry unavailable: {explain(exc, 'pixel')}")

        self.pixel_runner.submit(work, done, failed)

    # -- the figures, built once and changed in place -----------------------------------------------
    def _build_curves(self) -> None:
        bias = _curve_figure(1.02, "true coherence [0-1] (grey: measured histogram, scaled)",
                             "expected sample coherence [0-1]")  # fmt: skip
        phase = _curve_figure(110.0, "coherence [0-1] (grey: measured histogram, scaled)",
                              "phase standard deviation [deg]")  # fmt: skip
        src = self._sources
        for name in ("bias_hist", "bias_curve", "bias_side", "phase_hist", "phase_curve"):
            src[name] = ColumnDataSource(data={})
        for fig, hist in ((bias, "bias_hist"), (phase, "phase_hist")):
            fig.quad(left="left", right="right", bottom=0.0, top="top", source=src[hist],
                     color="#bbbbbb", line_color=None, alpha=0.7)  # fmt: skip
        unbiased = bias.line([0.0, 1.0], [0.0, 1.0], color="black", line_dash="dotted")
        side = bias.line("x", "y", source=src["bias_side"], color="#ff7f0e", line_dash="dashed")
        curve = bias.line("x", "y", source=src["bias_curve"], color="#1f77b4", line_width=3)
        self._floor = Span(location=0.0, dimension="width", line_color="#d62728",
                           line_dash="dashed", line_width=1)  # fmt: skip
        bias.add_layout(self._floor)
        # labels are values (a plain string set later would name a data column)
        self._legend = {"unbiased": LegendItem(label=value("unbiased"), renderers=[unbiased]),
                        "side": LegendItem(label=value("sidebar"), renderers=[side], visible=False),
                        "curve": LegendItem(label=value("E|gamma_hat|"), renderers=[curve])}
        bias.add_layout(Legend(items=list(self._legend.values()), location="bottom_right"))
        phase.line("x", "y", source=src["phase_curve"], color="#9467bd", line_width=3)
        phase.add_layout(Span(location=math.degrees(PHASE_STD_NOISE), dimension="width",
                              line_color="#d62728", line_dash="dashed", line_width=1))  # fmt: skip
        self.curves.object, self.phase.object = bias, phase

    def _draw_curves(self, looks: int, measured: np.ndarray | None, sidebar: int | None) -> None:
        """The window's curves, the measured histogram and the titles, into the figures."""
        from pairscope.ui.views.maps import set_data

        columns, (bias_title, phase_title) = curves_data(looks, measured, sidebar)
        for name, data in columns.items():
            set_data(self._sources[name], data)
        self._floor.location = float(columns["bias_curve"]["y"][0])
        self._legend["curve"].label = value(f"E|gamma_hat|, {looks} looks")
        shown = bool(len(columns["bias_side"]["x"]))
        self._legend["side"].update(label=value(f"{sidebar} looks (sidebar)"), visible=shown)
        self.curves.object.title.text = bias_title
        self.phase.object.title.text = phase_title

    def _draw_look(self, g: PixelGeometry) -> None:
        """The clicked pixel's look geometry into the diagram (built at the first pixel)."""
        from pairscope.ui.views.maps import set_data

        columns = look_data(g)
        if "look_lines" not in self._sources:
            fig = figure(width=430, height=PLOT_HEIGHT, match_aspect=True, title="Look geometry "
                         "of the clicked pixel", x_axis_label="horizontal towards the sensor [km]",
                         y_axis_label="up [km]", toolbar_location="above",
                         tools="pan,wheel_zoom,reset,save")  # fmt: skip
            for name in ("lines", "points", "labels"):
                self._sources[f"look_{name}"] = ColumnDataSource(data=columns[name])
            lines = fig.segment("x0", "y0", "x1", "y1", source=self._sources["look_lines"],
                                color="colour", line_width=2)  # fmt: skip
            fig.scatter("x", "y", source=self._sources["look_points"], size=12, color="colour")
            fig.add_layout(LabelSet(x="x", y="y", text="text", source=self._sources["look_labels"],
                                    text_font_size="10pt", text_align="left"))  # fmt: skip
            fig.add_tools(HoverTool(renderers=[lines], tooltips=[("", "@what")]))
            self.diagram.object = fig
            return
        for name in ("lines", "points", "labels"):
            set_data(self._sources[f"look_{name}"], columns[name])

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("### Learn: the estimator, its bias and noise, truth and geometry"),
            self.formulas,
            self.touzi,
            self.explain,
            wrap_row(self.azimuth, self.range),
            self.message,
            # rows wrap (wrap_row) so that no part is wider than the main area
            wrap_row(self.curves, self.phase),
            wrap_row(*self.truth_panes, css_classes=["ps-learn-maps"]),
            self.truth_text,
            wrap_row(self.diagram, pn.Column(self.look_text, min_width=MIN_WIDTH,
                                             sizing_mode="stretch_width")),  # fmt: skip
            self.fringe,
            sizing_mode="stretch_width",
            css_classes=["ps-learn"],
        )


__all__ = [
    "HIST_BINS", "PHASE_STD_NOISE", "LearnView", "PixelGeometry", "TruthComparison", "bias_curves",
    "coherence_histogram", "fringe_cycle", "look_markdown", "pixel_geometry", "pixel_location",
    "truth_comparison",
]  # fmt: skip
