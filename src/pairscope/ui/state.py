# mypy: disable-error-code="no-untyped-call"
"""The one data store of a browser session: the selection, the results, the job and the status.

Views only read from :class:`ExplorerState` and set its parameters; all work against the core goes
through a :class:`~pairscope.ui.backend.Backend` on a worker thread, and results come back to the
session's event loop through ``schedule`` (``Document.add_next_tick_callback`` when served).

Derived values are kept current by watchers, so every view reads the same numbers:

- ``network``: the :class:`pairscope.pairs.Network` of the selection (rule on the dates in range,
  thresholds, excluded dates, months, hand edits, coherence pruning; :func:`pairscope.pairs.
  make_network`), with ``network_error`` / ``network_notes`` when it cannot be built as asked;
- ``view_means``: each computed pair's mean coherence over the map view (``view``; the whole burst
  when None): what the matrix, the pairs table, the network's colours and the pruning use;
- ``stale``: why the views no longer match the inputs ("Outdated: ... Press Compute."), or "".

The URL keeps the pair rule as written (``pairs=max:24``), explicit pairs only for hand-picked
networks, and the edits, view, colormap and clicked pixel (:meth:`ExplorerState.query`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import param
import xarray as xr

from pairscope.errors import PairscopeError
from pairscope.pipeline import Cancelled
from pairscope.ui.backend import (
    GEOMETRY_LAYERS,
    LAYERS,
    Backend,
    BurstDates,
    CatalogInfo,
    UserError,
    as_date,
    day,
)
from pairscope.ui.jobs import JobSlots, shared_slots
from pairscope.ui.messages import explain
from pairscope.ui.settings import CatalogRefused, Settings

if TYPE_CHECKING:
    from pairscope.pairs import Network

RULES = {
    "sequential": "Sequential: each date with its next N",
    "max": "Maximum temporal baseline (days)",
    "exact": "Exact temporal baselines (days, comma separated)",
    "reference": "Single reference date",
    "all": "All pairs",
    "manual": "Hand-picked pairs",
}
#: "render" keeps the render definition's colormap; the others are titiler names.
COLORMAPS = (
    "render", "viridis", "cividis", "magma", "inferno", "plasma", "greys_r", "twilight",
    "twilight_shifted", "rdbu_r", "hsv",
)  # fmt: skip
#: Colormaps that wrap around (the same colour at both ends): the only honest ones for phase.
CYCLIC_COLORMAPS = ("twilight", "twilight_shifted", "hsv")
BURST_HINT = "write it like T117_249435_IW2 (also 117_249435_IW2, T117-249435-IW2 or 249435 IW2)."
#: Where the status area's help link for burst ids points.
BURST_HELP_URL = (
    "https://asf.alaska.edu/trainings/tutorials/"
    "working-with-sentinel-1-burst-products-from-the-alaska-satellite-facility/"
)
#: Fewer samples per window than this: the sample coherence says little (1 sample: always 1).
MIN_SAMPLES = 4
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Every URL parameter the explorer reads; others are reported as ignored.
QUERY_KEYS = (
    "catalog burst pol start end pairs pair window layer geometry bias colormap max_days "
    "max_bperp exclude months add drop min_coherence connected view pixel"
).split()
#: Parameters whose change changes :meth:`ExplorerState.query` (what keeps the URL current).
URL_PARAMS = (
    "catalog burst polarization start end rule rule_value reference manual_pairs pair_list pair "
    "window_azimuth window_range layer geometry bias_corrected colormap max_days max_bperp "
    "excluded months added dropped min_coherence keep_connected view pixel"
).split()
#: Parameters the network is built from.
NETWORK_INPUTS = (
    "burst_dates start end rule rule_value reference manual_pairs max_days max_bperp excluded "
    "months added dropped min_coherence keep_connected view_means"
).split()
#: Parameters that change what a computed pair is (a change makes the shown results outdated).
RECIPE = "catalog burst polarization window_azimuth window_range bias_corrected geometry".split()

Schedule = Callable[[Callable[[], None]], None]


# -- URL spellings ----------------------------------------------------------------------------------
def parse_date(text: str) -> np.datetime64:
    """``YYYYMMDD`` or ``YYYY-MM-DD`` to ``datetime64[ns]``."""
    t = text.strip()
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", t)
    if not m:
        raise UserError(f"Date {t!r} is not a date.", "Write dates as YYYYMMDD, e.g. 20240809.")
    try:
        return as_date(as_date(f"{m[1]}-{m[2]}-{m[3]}", "D"))
    except ValueError as exc:
        raise UserError(f"Date {t!r} does not exist.", "Write dates as YYYYMMDD.") from exc


def pair_key(reference: np.datetime64, secondary: np.datetime64) -> str:
    return f"{day(reference)}_{day(secondary)}"


def parse_pairs(text: str) -> list[tuple[np.datetime64, np.datetime64]]:
    """``YYYYMMDD_YYYYMMDD,...`` to a list of (reference, secondary), reference first in time."""
    out = []
    for chunk in re.split(r"[,;\s]+", text.strip()):
        if not chunk:
            continue
        parts = re.split(r"[_/:]", chunk)
        if len(parts) != 2:
            raise UserError(
                f"Pair {chunk!r} is not two dates.",
                "Write pairs as YYYYMMDD_YYYYMMDD, separated by commas.",
            )
        a, b = parse_date(parts[0]), parse_date(parts[1])
        if a == b:
            raise UserError(f"Pair {chunk!r} uses the same date twice.", "Pick two dates.")
        out.append((min(a, b), max(a, b)))
    return list(dict.fromkeys(out))


def format_pairs(pairs: Sequence[tuple[np.datetime64, np.datetime64]]) -> str:
    return ",".join(pair_key(a, b) for a, b in pairs)


def parse_months(text: str) -> list[int]:
    """``5,6,7``, ``5-10`` or ``may-oct`` (months to keep) to sorted month numbers; a range may
    wrap the year end (``11-2``: November to February)."""
    names = {n.lower(): i for i, n in enumerate(MONTH_NAMES, start=1)}

    def one(t: str) -> int:
        t = t.strip().lower()[:3] if not t.strip().isdigit() else t.strip()
        m = int(t) if t.isdigit() else names.get(t, 0)
        if not 1 <= m <= 12:
            raise UserError(f"Month {t!r} is not a month.", "Write months as 1-12 or Jan-Dec.")
        return m

    out: set[int] = set()
    for chunk in re.split(r"[,;\s]+", text.strip()):
        if not chunk:
            continue
        if "-" in chunk:
            a, _, b = chunk.partition("-")
            lo, hi = one(a), one(b)
            span = range(lo, hi + 1) if lo <= hi else [*range(lo, 13), *range(1, hi + 1)]
            out.update(span)
        else:
            out.add(one(chunk))
    return sorted(out)


def format_months(months: Sequence[int]) -> str:
    return ",".join(str(m) for m in sorted(months))


def _number(text: str, what: str, lo: float, hi: float | None = None) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise UserError(f"{what} {_short(text)!r} is not a number.", "") from None
    if not (value >= lo and (hi is None or value <= hi)):
        bound = f"{lo:g}..{hi:g}" if hi is not None else f">= {lo:g}"
        raise UserError(f"{what} {value:g} is outside {bound}.", "")
    return value


def _short(text: str, n: int = 60) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 3] + "..."


def _fmt(value: float) -> str:
    return f"{round(float(value), 2):.10g}"


def parse_window(text: str) -> tuple[int, int]:
    """``5x21`` (azimuth x range looks) to ``(5, 21)``: the core's one window parser
    (:func:`pairscope.compute.parse_window`), with the app's wording on failure."""
    from pairscope.compute import parse_window as core_parse_window

    try:
        return core_parse_window(text.strip().replace("X", "x"))
    except (ValueError, TypeError):
        raise UserError(
            f"Window {text!r} is not azimuth x range looks.", "Write it like 5x21 (both >= 1)."
        ) from None


def rule_from_text(text: str) -> tuple[str, str, str | None, str]:
    """A pair rule of the one grammar (``all``, ``max:24``, ``exact:12,24``, ``seq:2``,
    ``ref:YYYYMMDD`` or explicit pairs; :func:`pairscope.pairs.parse_pair_rule`) as the sidebar's
    ``(rule, rule_value, reference, manual_pairs)``."""
    from pairscope.errors import PairRuleError
    from pairscope.pairs import parse_pair_rule

    try:
        rule = parse_pair_rule(text)
    except PairRuleError as exc:
        raise UserError(str(exc), "") from None
    if rule.kind == "all":
        return "all", "", None, ""
    if rule.kind == "max":
        return "max", f"{rule.days[0]:g}", None, ""
    if rule.kind == "exact":
        return "exact", ",".join(f"{d:g}" for d in rule.days), None, ""
    if rule.kind == "seq":
        return "sequential", str(rule.neighbours), None, ""
    if rule.kind == "ref":
        return "reference", "", _iso(as_date(rule.reference)), ""
    return "manual", "", None, ",".join(p.label for p in rule.pairs)


def _iso(date: np.datetime64) -> str:
    return str(as_date(date, "D"))


class ExplorerState(param.Parameterized):
    """Selection, results and job status of one session (never shared between sessions)."""

    # selection ------------------------------------------------------------------------------------
    catalog = param.String(default="", doc="STAC API URL or static catalog path")
    burst = param.String(default="", doc="burst id, any spelling")
    polarization: param.Selector[str] = param.Selector(default="VV", objects=["VV", "VH", "HH", "HV"])
    start: param.Selector[str | None] = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False)
    end: param.Selector[str | None] = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False)
    rule: param.Selector[str] = param.Selector(default="sequential", objects=list(RULES))
    rule_value = param.String(default="1", doc="N, days, or comma separated days")
    reference: param.Selector[str | None] = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False)
    manual_pairs = param.String(default="", doc="YYYYMMDD_YYYYMMDD,...")
    window_azimuth = param.Integer(default=5, bounds=(1, 501), label="Window azimuth looks")
    window_range = param.Integer(default=21, bounds=(1, 2001), label="Window range looks")
    bias_corrected = param.Boolean(default=False, label="Bias-corrected coherence")
    geometry: param.Selector[str] = param.Selector(default="radar", objects=["radar", "map"])
    layer: param.Selector[str] = param.Selector(default="coherence", objects=list(LAYERS))
    colormap: param.Selector[str] = param.Selector(default="render", objects=list(COLORMAPS))
    pair: param.Selector[str | None] = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False)
    pixel = param.Tuple(default=None, length=2, allow_None=True, doc="clicked (x, y)")
    # network limits and edits (pairscope.pairs.NetworkLimits), coherence pruning
    max_days = param.Number(default=None, allow_None=True, bounds=(0, None),
                            label="Max temporal baseline [days]")  # fmt: skip
    max_bperp = param.Number(default=None, allow_None=True, bounds=(0, None),
                             label="Max perpendicular baseline [m]")  # fmt: skip
    excluded = param.List(default=[], item_type=str, doc="excluded dates, YYYYMMDD")
    months = param.List(default=[], item_type=int, doc="months to keep (1-12); empty: all")
    added = param.List(default=[], item_type=str, doc="pairs added by hand, YYYYMMDD_YYYYMMDD")
    dropped = param.List(default=[], item_type=str, doc="pairs dropped by hand")
    min_coherence = param.Number(default=None, allow_None=True, bounds=(0, 1),
                                 label="Minimum mean coherence")  # fmt: skip
    keep_connected = param.Boolean(default=True, label="Keep the network connected")
    view = param.Tuple(default=None, length=4, allow_None=True,
                       doc="map view (x0, x1, y0, y1) in the maps' coordinates; None: all")  # fmt: skip

    # results (read by the views) ---------------------------------------------------------------
    catalog_info = param.Parameter(default=None, doc="CatalogInfo of the open catalog")
    burst_dates = param.Parameter(default=None, doc="BurstDates of the current burst")
    results = param.Dict(default={}, doc="pair key -> xr.Dataset")
    pair_list = param.List(default=[], doc="computed (reference, secondary) in order")
    pair_means = param.Dict(default={}, doc="pair key -> mean coherence")
    geometry_layers = param.Parameter(default=None, doc="xr.Dataset of look-vector layers")
    version = param.Integer(default=0, doc="bumped whenever results change")
    network = param.Parameter(default=None, doc="pairs.Network of the selection, or None")
    network_error = param.String(default="", doc="why no network could be built")
    network_notes = param.List(default=[], doc="limits that could not be applied, said")
    view_means = param.Dict(default={}, doc="pair key -> mean coherence over the map view")
    stale = param.String(default="", doc="why the shown results no longer match the inputs")

    # job and status --------------------------------------------------------------------------
    busy = param.Boolean(default=False)
    progress = param.Integer(default=0, bounds=(0, 100))
    status = param.String(default="")
    status_kind: param.Selector[str] = param.Selector(default="info", objects=["info", "success", "warning", "danger"])
    status_link = param.Tuple(default=None, length=2, allow_None=True,
                              doc="(text, URL) of a help link shown with the status")  # fmt: skip

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        *,
        default_catalog: str,
        schedule: Schedule | None = None,
        client: str = "local",
        slots: JobSlots | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.settings = settings
        self.backend = backend
        self.default_catalog = default_catalog
        #: Who this session's jobs count against (the remote address in a served app), and the
        #: server's job slots (a cap per server and per client: :mod:`pairscope.ui.jobs`).
        self.client = client
        self.slots = slots or shared_slots(settings.max_jobs, settings.max_jobs_per_client)
        self._schedule: Schedule = schedule or (lambda fn: fn())
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._geometry_key: tuple[str, ...] | None = None
        self._pending_pair: str | None = None
        self._applying = 0
        self._notices: list[str] = []
        self._last_compute: dict[str, Any] = {}
        self._layer_pending = False
        if not self.catalog:
            self.catalog = default_catalog
        # derived values, kept current whoever changes the inputs (the person, the URL, a job)
        # (one watcher and one batched update, so each view redraws once per change)
        self.param.watch(self._derive, sorted({*NETWORK_INPUTS, *RECIPE, "version", "view",
                                               "results"} - {"view_means"}))  # fmt: skip

    # -- reacting to edits ------------------------------------------------------------------------
    def connect(self) -> None:
        """React to edits made by the person (not to values set by the app itself)."""
        self.param.watch(
            self._edited, ["catalog", "burst", "polarization", "layer", "geometry", "pair"]
        )
        self.param.watch(self._layer_edited, ["layer"])

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        self._applying += 1
        try:
            yield
        finally:
            self._applying -= 1

    def _edited(self, *events: param.parameterized.Event) -> None:
        if self._applying:
            return
        names = {e.name for e in events}
        if names & {"catalog", "burst", "geometry"}:
            # another grid: the view and the clicked pixel no longer mean anything
            self.param.update(view=None, pixel=None)
        if names & {"catalog", "burst"}:
            self.param.update(excluded=[], added=[], dropped=[])
        if "catalog" in names:
            self.catalog_info = None
            self.load()
        elif names & {"burst", "polarization"}:
            self.select_burst()
        elif "geometry" in names and self.results:
            self.compute()
        elif names & {"layer", "pair"}:
            self.ensure_layer()

    def _layer_edited(self, event: param.parameterized.Event) -> None:
        """Wrapped phase never keeps a non-cyclic colormap picked for another layer."""
        if self._applying or event.new != "phase":
            return
        if self.colormap not in ("render", *CYCLIC_COLORMAPS):
            old = self.colormap
            self.colormap = "render"
            self.say(
                f"Colormap {old} is not cyclic, so the wrapped phase is drawn with its own cyclic "
                "colormap (twilight); pick another cyclic one in the list if you like.",
                "info",
            )

    # -- messages -------------------------------------------------------------------------------
    def say(
        self, message: str, kind: str = "info", *, final: bool = False,
        link: tuple[str, str] | None = None,
    ) -> None:  # fmt: skip
        """Show a message (plain text; ``link``: a help link shown after it); ``final`` messages
        (a job's outcome) also carry pending URL notices."""
        if final and self._notices:
            message = f"{message} Note: {' '.join(self._notices)}"
            kind = "warning" if kind in ("info", "success") else kind
            self._notices = []
        self.param.update(status=message, status_kind=kind, status_link=link)

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, UserError | CatalogRefused):
            link = getattr(exc, "link", None)
            self.say(str(exc), "danger", link=link)
            return
        if not isinstance(exc, PairscopeError):
            traceback.print_exception(exc)
        # one table from error class to what a visitor reads (pairscope.ui.messages)
        self.say(str(explain(exc, "The selection is unchanged")), "danger")

    # -- URL ------------------------------------------------------------------------------------
    def apply_query(self, query: Mapping[str, str]) -> bool:
        """Set the selection from URL query values; returns True when a view should be computed.

        Bad values never raise: every one is reported at once in the status area (and again
        with the outcome of the first job) and left at its default.
        """
        problems: list[str] = []
        updates: dict[str, Any] = {}

        def attempt(fn: Callable[[], None]) -> None:
            try:
                fn()
            except (UserError, CatalogRefused, ValueError) as exc:
                problems.append(str(exc))

        unknown = [k for k in query if k not in QUERY_KEYS and not k.startswith("bokeh-")]
        if unknown:
            problems.append(
                "Unknown parameter" + ("s " if len(unknown) > 1 else " ")
                + ", ".join(repr(_short(k, 30)) for k in unknown) + "."
            )
        if "catalog" in query:
            attempt(lambda: updates.__setitem__("catalog", self.settings.check_catalog(query["catalog"])))
        if "burst" in query:
            updates["burst"] = query["burst"].strip()
        if "pol" in query:
            pol = query["pol"].strip().upper()
            if pol in self.param.polarization.objects:
                updates["polarization"] = pol
            else:
                problems.append(f"Polarization {_short(pol)!r} is not one of VV, VH, HH, HV.")
        if "pairs" in query:

            def _pairs() -> None:
                text = query["pairs"].strip()
                if ":" in text or text.lower() == "all":  # a rule of the one grammar
                    rule, value, reference, manual = rule_from_text(text)
                    updates.update(rule=rule, rule_value=value or self.rule_value)
                    if reference is not None:
                        updates["reference"] = reference
                    return
                pairs = parse_pairs(text)
                if pairs:
                    updates.update(rule="manual", manual_pairs=format_pairs(pairs))
                    lo = min(p[0] for p in pairs)
                    hi = max(p[1] for p in pairs)
                    updates.update(start=_iso(lo), end=_iso(hi))

            attempt(_pairs)
        for name in ("start", "end"):
            if name in query:
                attempt(partial(lambda n: updates.__setitem__(n, _iso(parse_date(query[n]))), name))
        if "pair" in query:
            attempt(lambda: setattr(self, "_pending_pair", pair_key(*parse_pairs(query["pair"])[0])))
        if "window" in query:

            def _window() -> None:
                az, rg = parse_window(query["window"])
                updates.update(window_azimuth=az, window_range=rg)

            attempt(_window)
        if "layer" in query:
            layer = query["layer"].strip().lower()
            layer = "incidence" if layer == "incidence_angle" else layer
            if layer in LAYERS:
                updates["layer"] = layer
            else:
                problems.append(f"Layer {_short(layer)!r} is unknown; layers are {', '.join(LAYERS)}.")
        if "geometry" in query:
            geo = query["geometry"].strip().lower()
            if geo in ("radar", "map"):
                updates["geometry"] = geo
            else:
                problems.append(f"Geometry {_short(geo)!r} must be radar or map.")
        if "bias" in query:
            updates["bias_corrected"] = query["bias"].strip().lower() in ("1", "true", "yes", "on")
        if "colormap" in query:
            cmap = query["colormap"].strip().lower()
            if cmap in COLORMAPS:
                updates["colormap"] = cmap
            else:
                problems.append(f"Colormap {_short(cmap)!r} is unknown; colormaps are "
                                f"{', '.join(COLORMAPS)}.")  # fmt: skip
        if "max_days" in query:
            attempt(lambda: updates.__setitem__(
                "max_days", _number(query["max_days"], "Maximum temporal baseline", 0)))
        if "max_bperp" in query:
            attempt(lambda: updates.__setitem__(
                "max_bperp", _number(query["max_bperp"], "Maximum perpendicular baseline", 0)))
        if "min_coherence" in query:
            attempt(lambda: updates.__setitem__(
                "min_coherence", _number(query["min_coherence"], "Minimum coherence", 0, 1)))
        if "connected" in query:
            updates["keep_connected"] = query["connected"].strip().lower() not in (
                "0", "false", "no", "off")  # fmt: skip
        if "exclude" in query:
            attempt(lambda: updates.__setitem__("excluded", sorted(
                {day(parse_date(t)) for t in re.split(r"[,;\s]+", query["exclude"]) if t})))
        if "months" in query:
            attempt(lambda: updates.__setitem__("months", parse_months(query["months"])))
        for key, name in (("add", "added"), ("drop", "dropped")):
            if key in query:
                attempt(partial(lambda k, n: updates.__setitem__(
                    n, [pair_key(a, b) for a, b in parse_pairs(query[k])]), key, name))
        if "view" in query:

            def _view() -> None:
                bits = [float(v) for v in query["view"].split(",")]
                if len(bits) != 4 or not all(np.isfinite(bits)) or bits[0] == bits[1] or (
                        bits[2] == bits[3]):  # fmt: skip
                    raise UserError(f"View {_short(query['view'])!r} is not x0,x1,y0,y1.", "")
                updates["view"] = (min(bits[:2]), max(bits[:2]), min(bits[2:]), max(bits[2:]))

            attempt(_view)
        if "pixel" in query:

            def _pixel() -> None:
                bits = [float(v) for v in query["pixel"].split(",")]
                if len(bits) != 2 or not all(np.isfinite(bits)):
                    raise UserError(f"Pixel {_short(query['pixel'])!r} is not x,y.", "")
                updates["pixel"] = (bits[0], bits[1])

            attempt(_pixel)
        with self._quiet(), param.parameterized.batch_call_watchers(self):
            for name in ("start", "end"):
                if name in updates:
                    self.param[name].objects = [updates[name]]
            self.param.update(**updates)
        if problems:
            self._notices = ["Some URL parameters were ignored: " + " ".join(problems)]
            self.say(self._notices[0], "warning")
        return bool(query.get("burst"))

    def rule_text(self) -> str:
        """The pair rule of the sidebar in the one grammar (``max:24``, ``seq:2``...), as the URL
        and ``pairscope compute --pairs`` write it; explicit pairs for a hand-picked network."""
        dates = list(self.burst_dates.dates) if self.burst_dates is not None else []
        return self.rule_spelling(dates, self.rule, self.rule_value, self.reference,
                                  self.manual_pairs)  # fmt: skip

    def _full_range(self) -> tuple[str | None, str | None]:
        bd = self.burst_dates
        if bd is None or not bd.dates:
            return None, None
        return _iso(bd.dates[0]), _iso(bd.dates[-1])

    def query(self) -> dict[str, str]:
        """The selection as URL query values (what a shared link must carry)."""
        q: dict[str, str] = {}
        if self.catalog and self.catalog != self.default_catalog:
            q["catalog"] = self.catalog
        if self.burst:
            q["burst"] = self.burst
        q["pol"] = self.polarization
        first, last = self._full_range()
        if self.rule != "manual":
            if self.start and self.start != first:
                q["start"] = day(self.start)
            if self.end and self.end != last:
                q["end"] = day(self.end)
        try:
            q["pairs"] = self.rule_text()
        except UserError:
            if self.rule == "manual" and self.manual_pairs:
                q["pairs"] = self.manual_pairs
        if self.max_days is not None:
            q["max_days"] = _fmt(self.max_days)
        if self.max_bperp is not None:
            q["max_bperp"] = _fmt(self.max_bperp)
        if self.excluded:
            q["exclude"] = ",".join(sorted(self.excluded))
        if self.months:
            q["months"] = format_months(self.months)
        if self.added:
            q["add"] = ",".join(self.added)
        if self.dropped:
            q["drop"] = ",".join(self.dropped)
        if self.min_coherence is not None:
            q["min_coherence"] = _fmt(self.min_coherence)
        if not self.keep_connected:
            q["connected"] = "0"
        if self.pair:
            q["pair"] = self.pair
        q["window"] = f"{self.window_azimuth}x{self.window_range}"
        q["layer"] = self.layer
        q["geometry"] = self.geometry
        if self.bias_corrected:
            q["bias"] = "1"
        if self.colormap != "render":
            q["colormap"] = self.colormap
        if self.view is not None:
            q["view"] = ",".join(_fmt(v) for v in self.view)
        if self.pixel is not None:
            q["pixel"] = ",".join(_fmt(v) for v in self.pixel)
        return q

    # -- pair rules -------------------------------------------------------------------------------
    def selected_dates(self, info: BurstDates, start: str | None, end: str | None) -> list[Any]:
        lo = as_date(start, "D") if start else None
        hi = as_date(end, "D") if end else None
        out = []
        for d in info.dates:
            dd = as_date(d, "D")
            if (lo is None or dd >= lo) and (hi is None or dd <= hi):
                out.append(as_date(d))
        return out

    @staticmethod
    def rule_spelling(
        dates: Sequence[np.datetime64],
        rule: str,
        value: str,
        reference: str | None,
        manual: str,
    ) -> str:
        """The sidebar's rule in the one grammar (:func:`pairscope.pairs.parse_pair_rule`);
        bad values -> UserError saying what to type."""

        def number(what: str) -> int:
            try:
                n = int(str(value).strip())
            except ValueError:
                raise UserError(f"{what} {_short(value)!r} is not a whole number.",
                                "Type e.g. 12.") from None  # fmt: skip
            if n < 1:
                raise UserError(f"{what} must be at least 1 (got {n}).", "")
            return n

        if rule == "all":
            return "all"
        if rule == "max":
            return f"max:{number('Maximum temporal baseline')}"
        if rule == "exact":
            try:
                days = [int(v) for v in re.split(r"[,;\s]+", str(value).strip()) if v]
            except ValueError:
                raise UserError(
                    f"Temporal baselines {_short(value)!r} are not whole days.", "Type e.g. 12,24."
                ) from None
            if not days:
                raise UserError("No temporal baseline given.", "Type e.g. 12,24.")
            return "exact:" + ",".join(str(d) for d in days)
        if rule == "sequential":
            return f"seq:{number('N')}"
        if rule == "reference":
            if reference:
                return f"ref:{day(parse_date(reference))}"
            if not dates:
                raise UserError("No reference date.", "Pick a reference date.")
            return f"ref:{day(dates[0])}"
        if rule == "manual":
            pairs = parse_pairs(manual)
            if not pairs:
                raise UserError("No hand-picked pairs.", "Type pairs as YYYYMMDD_YYYYMMDD,...")
            return format_pairs(pairs)
        raise UserError(f"Unknown pair rule {rule!r}.", "")

    @staticmethod
    def form_pairs(
        dates: Sequence[np.datetime64],
        rule: str,
        value: str,
        reference: str | None,
        manual: str,
    ) -> list[tuple[np.datetime64, np.datetime64]]:
        """Pairs for a rule through :func:`pairscope.pairs.select_pairs`; bad values -> UserError."""
        from pairscope.pairs import select_pairs

        if len(dates) < 2 and rule != "manual":
            raise UserError(
                f"The date range holds {len(dates)} date(s); a pair needs two.",
                "Widen the date range.",
            )
        text = ExplorerState.rule_spelling(dates, rule, value, reference, manual)
        if rule == "manual":
            known = {as_date(d, "D") for d in dates}
            for a, b in parse_pairs(manual):
                for d in (a, b):
                    if as_date(d, "D") not in known:
                        raise UserError(
                            f"Date {day(d)} of pair {pair_key(a, b)} is not an acquisition of "
                            "this burst in the date range.",
                            "Pick dates from the date lists.",
                        )
        try:
            pairs_out = select_pairs(list(dates), rule=text)
        except (ValueError, TypeError) as exc:
            raise UserError(f"Could not form pairs: {exc}", "Change the pair rule.") from exc
        out = [(as_date(p.reference), as_date(p.secondary)) for p in pairs_out]
        if not out:
            raise UserError(
                "The pair rule gives no pairs for these dates.",
                "Widen the date range or relax the rule.",
            )
        return out

    # -- the network ------------------------------------------------------------------------------
    def build_network(
        self, snap: Mapping[str, Any], coherence: Mapping[str, float] | None = None
    ) -> tuple[Network, list[str]]:
        """The :class:`pairscope.pairs.Network` of a selection (a :meth:`_snapshot` or the state
        itself) and notes on limits that could not be applied; bad values -> UserError."""
        from pairscope.errors import PairscopeError
        from pairscope.pairs import NetworkLimits, make_network

        info: BurstDates | None = snap["burst_dates"]
        if info is None:
            raise UserError("No burst dates yet.", "Open a burst.")
        dates = self.selected_dates(info, snap["start"], snap["end"])
        if len(dates) < 2 and snap["rule"] != "manual":
            raise UserError(
                f"The date range holds {len(dates)} date(s); a pair needs two.",
                "Widen the date range.",
            )
        text = self.rule_spelling(dates, snap["rule"], snap["rule_value"], snap["reference"],
                                  snap["manual_pairs"])  # fmt: skip
        notes: list[str] = []
        baselines = None
        if info.perpendicular_baselines is not None:
            baselines = dict(zip(info.dates, info.perpendicular_baselines, strict=True))
        max_bperp = snap["max_bperp"]
        if max_bperp is not None and baselines is None:
            notes.append("The maximum perpendicular baseline is not applied: this catalog has no "
                         "orbits, so the baselines are unknown.")  # fmt: skip
            max_bperp = None
        known = {day(d) for d in dates}
        try:
            limits = NetworkLimits(
                max_temporal_baseline=snap["max_days"],
                max_perpendicular_baseline=max_bperp,
                exclude=tuple(parse_date(d) for d in snap["excluded"] if d in known),
                months=tuple(snap["months"]),
                add=tuple(k for k in snap["added"] if set(k.split("_")) <= known),
                drop=tuple(snap["dropped"]),
            )
            network = make_network(
                dates, text, limits=limits, baselines=baselines, coherence=coherence,
                min_coherence=snap["min_coherence"], keep_connected=bool(snap["keep_connected"]),
            )  # fmt: skip
        except PairscopeError as exc:
            raise UserError(f"Could not form pairs: {exc}.", "Change the pair rule or the limits."
                            ) from None  # fmt: skip
        if snap["min_coherence"] is not None and not coherence:
            notes.append("The minimum coherence applies once pairs are computed.")
        if not network.candidates:
            raise UserError(
                "The pair rule and limits give no pairs for these dates.",
                "Widen the date range or relax the rule or the limits.",
            )
        return network, notes

    def _derive(self, *events: param.parameterized.Event) -> None:
        """Means over the view, the network and the outdated note, in one batched update."""
        names = {e.name for e in events}
        updates: dict[str, Any] = {}
        means = self.view_means
        if not events or names & {"version", "view", "results"}:
            means = {key: region_mean(ds["coherence"], self.view)
                     for key, ds in self.results.items()}  # fmt: skip
            updates["view_means"] = means
        network: Network | None = None
        error, notes = "", list[str]()
        if self.burst_dates is not None:
            try:
                network, notes = self.build_network(self._selection(), means)
            except UserError as exc:
                error = str(exc)
        if network is None or self.network is None or network != self.network:
            updates["network"] = network  # (equal networks do not redraw the views)
        updates.update(network_error=error, network_notes=notes, stale=self.outdated(network))
        self.param.update(**updates)

    def network_keys(self) -> list[str] | None:
        """Keys of the network's candidate pairs (what Compute computes), or None."""
        net = self.network
        return None if net is None else [p.label for p in net.candidates]

    def shown_pairs(self) -> list[tuple[np.datetime64, np.datetime64]]:
        """The computed pairs the views show: those of the current network (all computed pairs
        when there is no network), in date order."""
        keys = self.network_keys()
        if keys is None:
            return list(self.pair_list)
        wanted = set(keys)
        return [(a, b) for a, b in self.pair_list if pair_key(a, b) in wanted]

    def toggle_date(self, date: Any) -> None:
        """Exclude a date from the network, or bring it back (a click on its node)."""
        key = day(date)
        if key in self.excluded:
            self.excluded = [d for d in self.excluded if d != key]
            self.say(f"Date {key} is back in the network.", "info")
        else:
            self.excluded = sorted([*self.excluded, key])
            self.say(f"Date {key} excluded: its pairs left the network (drawn hollow; click it "
                     "again to bring it back).", "info")  # fmt: skip

    def toggle_pair(self, key: str) -> None:
        """Drop a pair of the network, or add one that is not in it (clicks on the network)."""
        a, b = parse_pairs(key)[0]
        key = pair_key(a, b)
        keys = set(self.network_keys() or [])
        if key in keys:
            self.param.update(added=[k for k in self.added if k != key],
                              dropped=sorted({*self.dropped, key}))  # fmt: skip
            self.say(f"Pair {key} dropped from the network.", "info")
        else:
            self.param.update(dropped=[k for k in self.dropped if k != key],
                              added=sorted({*self.added, key}))  # fmt: skip
            done = key in self.results
            self.say(f"Pair {key} added to the network" + (
                "." if done else "; press Compute to compute it."), "info")  # fmt: skip

    # -- what the views show --------------------------------------------------------------------
    def outdated(self, network: Any = "state") -> str:
        """Why the shown results no longer match the inputs ("" when they do, or when nothing
        is computed); ``network``: the network to check (default: the state's)."""
        if isinstance(network, str):
            network = self.network
        last = self._last_compute
        if not self.results or not last:
            return ""
        reasons = []
        names = {"catalog": "the catalog", "burst": "the burst", "polarization": "the polarization",
                 "geometry": "the output geometry", "bias_corrected": "the bias correction"}  # fmt: skip
        for name, words in names.items():
            if getattr(self, name) != last.get(name):
                reasons.append(f"{words} changed")
        old = f"{last.get('window_azimuth')}x{last.get('window_range')}"
        new = f"{self.window_azimuth}x{self.window_range}"
        if old != new:
            reasons.append(f"the window changed from {old} to {new}")
        keys = None if network is None else [p.label for p in network.candidates]
        if keys is not None and not reasons:
            missing = [k for k in keys if k not in self.results]
            if missing:
                n = len(missing)
                reasons.append(f"{n} pair{'s' if n != 1 else ''} of the network "
                               f"{'are' if n != 1 else 'is'} not computed")  # fmt: skip
        if not reasons:
            return ""
        text = "; ".join(reasons)
        return f"Outdated: {text[0].upper()}{text[1:]}. Press Compute."

    # -- jobs -----------------------------------------------------------------------------------
    def cancel(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._cancel.set()

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the current job finished (tests, benchmarks), and any job its end started
        (a layer asked for while it ran starts as it ends, on a new thread)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (thread := self._thread) is not None:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if self._thread is thread or (deadline is not None and time.monotonic() >= deadline):
                return

    def _submit(self, job: Callable[[threading.Event], None], what: str) -> None:
        previous, old_cancel = self._thread, self._cancel
        old_cancel.set()
        cancel = threading.Event()
        self._cancel = cancel
        self.param.update(busy=True, progress=0)
        self.say(what + "...", "info")

        def waiting(server: int, mine: int) -> None:
            text = (f"{what}: waiting for a free slot ({server} job(s) running on this server, "
                    f"{mine} of yours; at most {self.slots.per_server} and "
                    f"{self.slots.per_client} per visitor)...")  # fmt: skip
            self._schedule(lambda: self.say(text, "info"))

        def run() -> None:
            if previous is not None:
                previous.join()
            try:
                with self.slots.slot(self.client, cancel, waiting):
                    if cancel.is_set():
                        return
                    job(cancel)
            except Cancelled:
                pass  # cancelled while waiting: a newer job or the person took over
            except BaseException as exc:  # noqa: BLE001 - every failure goes to the status area
                err = exc
                self._schedule(lambda: self._fail(err))
            finally:
                if self._cancel is cancel:
                    self._schedule(self._idle)

        thread = threading.Thread(target=run, name="pairscope-job", daemon=True)
        self._thread = thread
        thread.start()

    def _idle(self) -> None:
        self.busy = False
        if self._layer_pending:
            self.ensure_layer()

    def _snapshot(self) -> dict[str, Any]:
        names = (
            "catalog burst polarization start end rule rule_value reference manual_pairs "
            "window_azimuth window_range bias_corrected geometry layer pair max_days max_bperp "
            "excluded months added dropped min_coherence keep_connected"
        ).split()
        snap = {n: getattr(self, n) for n in names}
        snap["catalog_info"] = self.catalog_info
        snap["burst_dates"] = self.burst_dates
        return snap

    _selection = _snapshot

    def load(self, *, compute: bool = False) -> None:
        """Open the catalog, resolve the burst, list its dates; then compute if asked."""
        try:
            location = self.settings.check_catalog(self.catalog)
        except CatalogRefused as exc:
            self.say(str(exc), "danger")
            return
        snap = self._snapshot()
        snap["catalog"] = location
        self._submit(lambda cancel: self._load_job(snap, cancel, compute), "Opening catalog")

    def load_cached(self, *, compute: bool = False) -> bool:
        """What :meth:`load` would show, applied now if every part of it is already in the
        backend's cache (``Backend.cached_only``): the catalog, the burst's dates and, with
        ``compute``, every pair of the network and the layer asked for. True when it was; else
        nothing changes and :meth:`load` has the work to do.

        Nothing is opened, read or computed, so a served page may call it when its session is
        created (the HTTP GET, which must start no work): a shared URL of pairs computed before
        then arrives with its maps drawn, with no job and no round trip after the page loads."""
        only = getattr(self.backend, "cached_only", None)
        if only is None:
            return False
        try:
            location = self.settings.check_catalog(self.catalog)
        except CatalogRefused:
            return False
        snap = dict(self._snapshot(), catalog=location)
        updates: list[Callable[[], None]] = []
        schedule, self._schedule = self._schedule, updates.append
        try:
            with only():
                self._load_job(snap, threading.Event(), compute)
        except Exception:  # noqa: BLE001 - not cached (or failing): the job will say why
            return False
        finally:
            self._schedule = schedule
        for update in updates:  # all or nothing: applied only once everything was found
            update()
        return True

    def select_burst(self, *, compute: bool = False) -> None:
        """Resolve the typed burst against the open catalog and list its dates."""
        if self.catalog_info is None:
            self.load(compute=compute)
            return
        snap = self._snapshot()
        self._submit(lambda cancel: self._load_job(snap, cancel, compute), "Reading burst dates")

    def compute(self) -> None:
        """Compute coherence and phase for the pairs of the current network (pairs computed
        before with the same settings are reused)."""
        if self.burst_dates is None or self.catalog_info is None:
            self.load(compute=True)
            return
        snap = self._snapshot()
        last = self._last_compute
        if last and all(last.get(n) == snap[n] for n in RECIPE):
            snap["reuse"] = dict(self.results)
        self._submit(lambda cancel: self._compute_job(snap, cancel), "Computing")

    def _resolve_burst(self, text: str, info: CatalogInfo) -> str:
        from pairscope.bursts import parse_burst_id

        known = [b.burst_id for b in info.bursts]
        if not text.strip():
            return known[0]
        try:
            canonical = str(parse_burst_id(text).canonical)
        except (ValueError, TypeError, KeyError) as exc:
            err = UserError(f"Unknown burst id {_short(text.strip(), 40)!r}: {BURST_HINT}", "")
            err.link = ("How burst ids are written", BURST_HELP_URL)  # type: ignore[attr-defined]
            raise err from exc
        if canonical not in known:
            shown = ", ".join(known[:6]) + (" ..." if len(known) > 6 else "")
            raise UserError(
                f"Burst {canonical} is not in this catalog.", f"Bursts here: {shown}."
            )
        return canonical

    def _load_job(self, snap: dict[str, Any], cancel: threading.Event, compute: bool) -> None:
        location = snap["catalog"]
        info: CatalogInfo
        old = snap["catalog_info"]
        if old is not None and old.location == location:
            info = old
        else:
            info = self.backend.open_catalog(location)
            self._schedule(lambda: self._apply_catalog(info))
        if cancel.is_set():
            return
        burst = self._resolve_burst(snap["burst"], info)
        dates = self.backend.burst_dates(location, burst, snap["polarization"])
        if cancel.is_set():
            return
        self._schedule(lambda: self._apply_dates(burst, dates))
        if compute:
            snap = dict(snap, catalog=location, burst=burst, catalog_info=info, burst_dates=dates)
            # dates outside the new burst's range fall back to the full range
            known = {_iso(d) for d in dates.dates}
            if snap["start"] not in known:
                snap["start"] = _iso(dates.dates[0])
            if snap["end"] not in known:
                snap["end"] = _iso(dates.dates[-1])
            self._compute_job(snap, cancel)
        else:
            self._schedule(
                lambda: self.say(
                    f"{burst}: {len(dates.dates)} dates. Pick dates and a pair rule, then "
                    "press Compute.",
                    "info",
                    final=True,
                )
            )

    def _apply_catalog(self, info: CatalogInfo) -> None:
        with self._quiet():
            self.param.update(catalog_info=info, catalog=info.location)

    def _apply_dates(self, burst: str, dates: BurstDates) -> None:
        iso = [_iso(d) for d in dates.dates]
        pols = [p for p in dates.polarizations if p in ("VV", "VH", "HH", "HV")]
        with self._quiet(), param.parameterized.batch_call_watchers(self):
            for name in ("start", "end", "reference"):
                self.param[name].objects = iso
            updates: dict[str, Any] = {"burst": burst, "burst_dates": dates}
            if self.start not in iso:
                updates["start"] = iso[0]
            if self.end not in iso:
                updates["end"] = iso[-1]
            if self.reference not in iso:
                updates["reference"] = iso[0]
            if pols:
                self.param.polarization.objects = pols
                if self.polarization not in pols:
                    updates["polarization"] = pols[0]
            self.param.update(**updates)

    def _compute_job(self, snap: dict[str, Any], cancel: threading.Event) -> None:
        network, _ = self.build_network(snap)
        pairs = [(as_date(p.reference), as_date(p.secondary)) for p in network.candidates]
        window = (int(snap["window_azimuth"]), int(snap["window_range"]))
        # pairs computed before with the same recipe are reused, not recomputed
        reuse: dict[str, xr.Dataset] = snap.get("reuse") or {}
        results: dict[str, xr.Dataset] = {}
        means: dict[str, float] = {}
        done: list[tuple[np.datetime64, np.datetime64]] = []
        failures: list[str] = []
        n = len(pairs)
        for i, (a, b) in enumerate(pairs):
            if cancel.is_set():
                break
            key = pair_key(a, b)
            ds = reuse.get(key)
            if ds is None:
                try:
                    ds = self.backend.compute_pair(
                        snap["catalog"], snap["burst"], snap["polarization"], a, b, window,
                        bool(snap["bias_corrected"]), snap["geometry"],
                        amplitude=snap["layer"] == "amplitude",
                    )  # fmt: skip
                except UserError as exc:
                    if i == 0 and n == 1:
                        raise
                    failures.append(f"{key}: {exc.message}")
                    if len(failures) == n or (i == 0 and "window" in exc.message.lower()):
                        raise
                    continue
            results[key] = ds
            means[key] = float(np.nanmean(ds["coherence"].values))
            done.append((a, b))
            pct = int(round(100 * (i + 1) / n))
            self._schedule(partial(self._progress, pct, f"Pair {len(done)} of {n} computed"))
        geometry_layers = None
        if snap["layer"] in GEOMETRY_LAYERS and not cancel.is_set() and done:
            geometry_layers = self._geometry(snap)
        cancelled = cancel.is_set() and len(done) + len(failures) < n
        self._schedule(
            lambda: self._apply_results(
                snap, results, means, done, failures, n, cancelled, geometry_layers
            )
        )

    def _progress(self, pct: int, text: str) -> None:
        self.param.update(progress=pct)
        self.say(text, "info")

    def _geometry(self, snap: dict[str, Any]) -> xr.Dataset | None:
        return self.backend.compute_geometry(
            snap["catalog"], snap["burst"], snap["polarization"], snap["geometry"]
        )

    def _apply_results(
        self,
        snap: dict[str, Any],
        results: dict[str, xr.Dataset],
        means: dict[str, float],
        done: list[tuple[np.datetime64, np.datetime64]],
        failures: list[str],
        n: int,
        cancelled: bool,
        geometry_layers: xr.Dataset | None,
    ) -> None:
        last = self._last_compute
        same_grid = not last or all(last.get(n) == snap[n] for n in ("catalog", "burst",
                                                                      "geometry"))  # fmt: skip
        snap = {k: v for k, v in snap.items() if k != "reuse"}
        self._last_compute = snap
        keys = list(results)
        wanted = self._pending_pair or snap["pair"]
        self._pending_pair = None
        selected = wanted if wanted in results else (keys[0] if keys else None)
        with param.parameterized.batch_call_watchers(self):
            self.param.pair.objects = keys
            updates: dict[str, Any] = {
                "results": results,
                "pair_means": means,
                "pair_list": done,
                "pair": selected,
                "progress": 100 if not cancelled else self.progress,
            }
            if not same_grid:  # another grid: the old view and pixel mean nothing there
                updates.update(pixel=None, view=None)
            if geometry_layers is not None:
                updates["geometry_layers"] = geometry_layers
                self._geometry_key = (snap["catalog"], snap["burst"], snap["polarization"],
                                      snap["geometry"])  # fmt: skip
            elif self._geometry_key != (snap["catalog"], snap["burst"], snap["polarization"],
                                        snap["geometry"]):  # fmt: skip
                updates["geometry_layers"] = None
                self._geometry_key = None
            updates["version"] = self.version + 1
            self.param.update(**updates)
        az, rg = int(snap["window_azimuth"]), int(snap["window_range"])
        w = f"{az}x{rg}"
        few = ""
        if az * rg < MIN_SAMPLES:
            few = (f" A {w} window holds {az * rg} sample{'s' if az * rg != 1 else ''}: the sample "
                   "coherence of so few samples is 1 or close to it by construction, whatever the "
                   f"scene. Use at least {MIN_SAMPLES} samples (e.g. 3x3; 5x21 is usual).")  # fmt: skip
        if cancelled:
            left = n - len(done) - len(failures)
            failed = f", {len(failures)} failed" if failures else ""
            self.say(f"Cancelled: {len(done)} of {n} pairs computed{failed}; {left} not computed "
                     "(press Compute to finish them)." + few, "warning", final=True)  # fmt: skip
        elif failures:
            self.say(
                f"{len(done)} of {n} pairs computed; skipped: " + "; ".join(failures[:3]) + few,
                "warning",
                final=True,
            )
        else:
            self.say(f"{len(done)} pair(s) of {snap['burst']} computed with a {w} window." + few,
                     "warning" if few else "success", final=True)  # fmt: skip

    def ensure_layer(self) -> None:
        """Compute what the current layer needs and is missing (look vectors, amplitude).

        While a job runs this waits for it (a new job would cancel the running one)."""
        if self.busy:
            self._layer_pending = True
            return
        self._layer_pending = False
        if self.layer in GEOMETRY_LAYERS:
            self.ensure_geometry()
        elif self.layer == "amplitude":
            self.ensure_amplitude()

    def ensure_amplitude(self) -> None:
        ds = self.current()
        if ds is None or "amplitude" in ds or not self.pair:
            return
        key = self.pair
        a, b = parse_pairs(key)[0]
        last = self._last_compute

        def job(cancel: threading.Event) -> None:
            out = self.backend.compute_pair(
                last["catalog"], last["burst"], last["polarization"], a, b,
                (int(last["window_azimuth"]), int(last["window_range"])),
                bool(last["bias_corrected"]), last["geometry"], amplitude=True,
            )  # fmt: skip
            if cancel.is_set():
                return

            def apply() -> None:
                if self.results.get(key) is None:
                    return
                self.param.update(results={**self.results, key: out}, version=self.version + 1)
                self.say(f"Amplitude of {key} ready.", "success")

            self._schedule(apply)

        self._submit(job, f"Computing the amplitude of {key}")

    def ensure_geometry(self) -> None:
        """Compute the look-vector layers if the current layer needs them and they are missing."""
        if self.layer not in GEOMETRY_LAYERS or self.burst_dates is None:
            return
        key = (self.catalog, self.burst, self.polarization, self.geometry)
        if self._geometry_key == key and self.geometry_layers is not None:
            return
        snap = self._snapshot()

        def job(cancel: threading.Event) -> None:
            ds = self._geometry(snap)
            if cancel.is_set():
                return

            def apply() -> None:
                self._geometry_key = key
                self.param.update(geometry_layers=ds, version=self.version + 1)
                self.say(f"Look-vector layers of {snap['burst']} ready.", "success")

            self._schedule(apply)

        self._submit(job, "Computing look vectors")

    # -- reading results ----------------------------------------------------------------------
    def current(self) -> xr.Dataset | None:
        return self.results.get(self.pair) if self.pair else None

    def layer_data(self, layer: str) -> xr.DataArray | None:
        if layer in GEOMETRY_LAYERS:
            ds = self.geometry_layers
            return None if ds is None or layer not in ds else ds[layer]
        ds = self.current()
        return None if ds is None or layer not in ds else ds[layer]

    def pixel_index(self, ds: xr.Dataset) -> tuple[int, int] | None:
        """(row, column) of the clicked pixel in a result's grid, or None outside it."""
        if self.pixel is None:
            return None
        return grid_index(ds["coherence"], *self.pixel)

    def pixel_series(self) -> list[dict[str, Any]]:
        """Coherence of the clicked pixel (the estimate of its window) for every shown pair."""
        if self.pixel is None:
            return []
        baselines = {}
        bd = self.burst_dates
        if bd is not None and bd.perpendicular_baselines is not None:
            baselines = {day(d): b for d, b in zip(bd.dates, bd.perpendicular_baselines,
                                                   strict=True)}  # fmt: skip
        out = []
        for (a, b) in self.shown_pairs():
            key = pair_key(a, b)
            ds = self.results.get(key)
            if ds is None:
                continue
            found = self.pixel_index(ds)
            if found is None:
                continue
            iy, ix = found
            value = float(ds["coherence"].values[iy, ix])
            bperp = (baselines[day(b)] - baselines[day(a)]) if day(a) in baselines and day(
                b) in baselines else float("nan")  # fmt: skip
            out.append(
                {
                    "pair": key,
                    "reference": a,
                    "secondary": b,
                    "temporal_baseline": int((b - a) / np.timedelta64(1, "D")),
                    "perpendicular_baseline": float(bperp),
                    "coherence": value,
                }
            )
        return out


def grid_index(da: xr.DataArray, x: float, y: float) -> tuple[int, int] | None:
    """(row, column) of the cell of a 2-D grid nearest to (x, y) in its coordinates (sample
    indices where it has none), or None when (x, y) lies outside the grid."""
    ydim, xdim = da.dims[-2], da.dims[-1]
    xs = da[xdim].values if xdim in da.coords else np.arange(da.sizes[xdim])
    ys = da[ydim].values if ydim in da.coords else np.arange(da.sizes[ydim])
    hx = abs(float(xs[1] - xs[0])) / 2 if xs.size > 1 else 0.5
    hy = abs(float(ys[1] - ys[0])) / 2 if ys.size > 1 else 0.5
    if not (min(xs[0], xs[-1]) - hx <= x <= max(xs[0], xs[-1]) + hx) or not (
        min(ys[0], ys[-1]) - hy <= y <= max(ys[0], ys[-1]) + hy
    ):
        return None
    return int(np.abs(ys - y).argmin()), int(np.abs(xs - x).argmin())


def region(da: xr.DataArray, view: tuple[float, float, float, float] | None) -> xr.DataArray:
    """The part of a 2-D grid inside ``view`` = (x0, x1, y0, y1) in its coordinates (sample
    indices where it has none); the whole grid when ``view`` is None."""
    if view is None:
        return da
    x0, x1, y0, y1 = view
    ydim, xdim = da.dims[-2], da.dims[-1]
    xs = da[xdim].values if xdim in da.coords else np.arange(da.sizes[xdim])
    ys = da[ydim].values if ydim in da.coords else np.arange(da.sizes[ydim])
    cols = np.flatnonzero((xs >= min(x0, x1)) & (xs <= max(x0, x1)))
    rows = np.flatnonzero((ys >= min(y0, y1)) & (ys <= max(y0, y1)))
    if not cols.size or not rows.size:
        return da.isel({ydim: slice(0, 0), xdim: slice(0, 0)})
    return da.isel({ydim: slice(rows[0], rows[-1] + 1), xdim: slice(cols[0], cols[-1] + 1)})


def region_mean(da: xr.DataArray, view: tuple[float, float, float, float] | None) -> float:
    """Mean of the finite values of ``da`` inside ``view`` (NaN when none)."""
    values = np.asarray(region(da, view).values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def pixel_matrix(
    dates: Sequence[np.datetime64], rows: Sequence[Mapping[str, Any]]
) -> tuple[list[str], np.ndarray]:
    """The clicked pixel's coherence as a symmetric date x date matrix (MintPy's
    plot_coherence_matrix): NaN where no pair was computed, 1 on the diagonal."""
    labels = [day(d) for d in dates]
    where = {d: i for i, d in enumerate(labels)}
    m = np.full((len(labels), len(labels)), np.nan)
    np.fill_diagonal(m, 1.0)
    for r in rows:
        i, j = where.get(day(r["reference"])), where.get(day(r["secondary"]))
        if i is not None and j is not None:
            m[i, j] = m[j, i] = float(r["coherence"])
    return labels, m
