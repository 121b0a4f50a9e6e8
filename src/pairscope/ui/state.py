# mypy: disable-error-code="no-untyped-call"
"""The one data store of a browser session: the selection, the results, the job and the status.

Views only read from :class:`ExplorerState` and set its parameters; all work against the core goes
through a :class:`~pairscope.ui.backend.Backend` on a worker thread, and results come back to the
session's event loop through ``schedule`` (``Document.add_next_tick_callback`` when served).
"""

from __future__ import annotations

import contextlib
import re
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import param
import xarray as xr

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
from pairscope.ui.settings import CatalogRefused, Settings

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
BURST_HINT = (
    "Type a burst id in any spelling, e.g. T117_249435_IW2, 117_249435_IW2, "
    "T117-249435-IW2 or '249435 IW2', or click a footprint on the map."
)

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

    # results (read by the views) ---------------------------------------------------------------
    catalog_info = param.Parameter(default=None, doc="CatalogInfo of the open catalog")
    burst_dates = param.Parameter(default=None, doc="BurstDates of the current burst")
    results = param.Dict(default={}, doc="pair key -> xr.Dataset")
    pair_list = param.List(default=[], doc="computed (reference, secondary) in order")
    pair_means = param.Dict(default={}, doc="pair key -> mean coherence")
    geometry_layers = param.Parameter(default=None, doc="xr.Dataset of look-vector layers")
    version = param.Integer(default=0, doc="bumped whenever results change")

    # job and status --------------------------------------------------------------------------
    busy = param.Boolean(default=False)
    progress = param.Integer(default=0, bounds=(0, 100))
    status = param.String(default="")
    status_kind: param.Selector[str] = param.Selector(default="info", objects=["info", "success", "warning", "danger"])

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        *,
        default_catalog: str,
        schedule: Schedule | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.settings = settings
        self.backend = backend
        self.default_catalog = default_catalog
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

    # -- reacting to edits ------------------------------------------------------------------------
    def connect(self) -> None:
        """React to edits made by the person (not to values set by the app itself)."""
        self.param.watch(
            self._edited, ["catalog", "burst", "polarization", "layer", "geometry", "pair"]
        )

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
        if "catalog" in names:
            self.catalog_info = None
            self.load()
        elif names & {"burst", "polarization"}:
            self.select_burst()
        elif "geometry" in names and self.results:
            self.compute()
        elif names & {"layer", "pair"}:
            self.ensure_layer()

    # -- messages -------------------------------------------------------------------------------
    def say(self, message: str, kind: str = "info", *, final: bool = False) -> None:
        """Show a message; ``final`` messages (a job's outcome) also carry pending URL notices."""
        if final and self._notices:
            message = f"{message} Note: {' '.join(self._notices)}"
            kind = "warning" if kind in ("info", "success") else kind
            self._notices = []
        self.param.update(status=message, status_kind=kind)

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, UserError | CatalogRefused):
            self.say(str(exc), "danger")
        else:
            traceback.print_exception(exc)
            self.say(
                f"Something went wrong: {type(exc).__name__}: {exc}. The selection is unchanged; "
                "try another burst, dates or window.",
                "danger",
            )

    # -- URL ------------------------------------------------------------------------------------
    def apply_query(self, query: Mapping[str, str]) -> bool:
        """Set the selection from URL query values; returns True when a view should be computed.

        Bad values never raise: each one is reported in the status area and left at its default.
        """
        problems: list[str] = []
        updates: dict[str, Any] = {}

        def attempt(fn: Callable[[], None]) -> None:
            try:
                fn()
            except (UserError, CatalogRefused, ValueError) as exc:
                problems.append(str(exc))

        if "catalog" in query:
            attempt(lambda: updates.__setitem__("catalog", self.settings.check_catalog(query["catalog"])))
        if "burst" in query:
            updates["burst"] = query["burst"].strip()
        if "pol" in query:
            pol = query["pol"].strip().upper()
            if pol in self.param.polarization.objects:
                updates["polarization"] = pol
            else:
                problems.append(f"Polarization {pol!r} is not one of VV, VH, HH, HV.")
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
                problems.append(f"Layer {layer!r} is unknown; layers are {', '.join(LAYERS)}.")
        if "geometry" in query:
            geo = query["geometry"].strip().lower()
            if geo in ("radar", "map"):
                updates["geometry"] = geo
            else:
                problems.append(f"Geometry {geo!r} must be radar or map.")
        if "bias" in query:
            updates["bias_corrected"] = query["bias"].strip().lower() in ("1", "true", "yes", "on")
        with self._quiet(), param.parameterized.batch_call_watchers(self):
            for name in ("start", "end"):
                if name in updates:
                    self.param[name].objects = [updates[name]]
            self.param.update(**updates)
        if problems:
            self._notices = ["Some URL parameters were ignored: " + " ".join(problems)]
            self.say(self._notices[0], "warning")
        return bool(query.get("burst"))

    def query(self) -> dict[str, str]:
        """The selection as URL query values (what a shared link must carry)."""
        q: dict[str, str] = {}
        if self.catalog and self.catalog != self.default_catalog:
            q["catalog"] = self.catalog
        if self.burst:
            q["burst"] = self.burst
        q["pol"] = self.polarization
        if self.pair_list:
            q["pairs"] = format_pairs(self.pair_list)
        elif self.rule == "manual" and self.manual_pairs:
            q["pairs"] = self.manual_pairs
        if self.pair:
            q["pair"] = self.pair
        q["window"] = f"{self.window_azimuth}x{self.window_range}"
        q["layer"] = self.layer
        q["geometry"] = self.geometry
        if self.bias_corrected:
            q["bias"] = "1"
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

        def number(what: str) -> int:
            try:
                n = int(str(value).strip())
            except ValueError:
                raise UserError(f"{what} {value!r} is not a whole number.", "Type e.g. 12.") from None
            if n < 1:
                raise UserError(f"{what} must be at least 1 (got {n}).", "")
            return n

        text: str
        if rule == "all":
            text = "all"
        elif rule == "max":
            text = f"max:{number('Maximum temporal baseline')}"
        elif rule == "exact":
            try:
                days = [int(v) for v in re.split(r"[,;\s]+", str(value).strip()) if v]
            except ValueError:
                raise UserError(
                    f"Temporal baselines {value!r} are not whole days.", "Type e.g. 12,24."
                ) from None
            if not days:
                raise UserError("No temporal baseline given.", "Type e.g. 12,24.")
            text = "exact:" + ",".join(str(d) for d in days)
        elif rule == "sequential":
            text = f"seq:{number('N')}"
        elif rule == "reference":
            ref = parse_date(reference) if reference else dates[0]
            text = f"ref:{day(ref)}"
        elif rule == "manual":
            pairs = parse_pairs(manual)
            if not pairs:
                raise UserError("No hand-picked pairs.", "Type pairs as YYYYMMDD_YYYYMMDD,...")
            known = {as_date(d, "D") for d in dates}
            for a, b in pairs:
                for d in (a, b):
                    if as_date(d, "D") not in known:
                        raise UserError(
                            f"Date {day(d)} of pair {pair_key(a, b)} is not an acquisition of "
                            "this burst in the date range.",
                            "Pick dates from the date lists.",
                        )
            text = format_pairs(pairs)
        else:
            raise UserError(f"Unknown pair rule {rule!r}.", "")
        try:
            pairs_out = select_pairs(list(dates), rule=text)
        except (ValueError, TypeError) as exc:
            raise UserError(f"Could not form pairs: {exc}", "Change the pair rule.") from exc
        out = [
            (as_date(p.reference), as_date(p.secondary)) for p in pairs_out
        ]
        if not out:
            raise UserError(
                "The pair rule gives no pairs for these dates.",
                "Widen the date range or relax the rule.",
            )
        return out

    # -- jobs -----------------------------------------------------------------------------------
    def cancel(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._cancel.set()

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the current job finished (tests, benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _submit(self, job: Callable[[threading.Event], None], what: str) -> None:
        previous, old_cancel = self._thread, self._cancel
        old_cancel.set()
        cancel = threading.Event()
        self._cancel = cancel
        self.param.update(busy=True, progress=0)
        self.say(what + "...", "info")

        def run() -> None:
            if previous is not None:
                previous.join()
            try:
                job(cancel)
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
            "window_azimuth window_range bias_corrected geometry layer pair"
        ).split()
        snap = {n: getattr(self, n) for n in names}
        snap["catalog_info"] = self.catalog_info
        snap["burst_dates"] = self.burst_dates
        return snap

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

    def select_burst(self, *, compute: bool = False) -> None:
        """Resolve the typed burst against the open catalog and list its dates."""
        if self.catalog_info is None:
            self.load(compute=compute)
            return
        snap = self._snapshot()
        self._submit(lambda cancel: self._load_job(snap, cancel, compute), "Reading burst dates")

    def compute(self) -> None:
        """Compute coherence and phase for the pairs of the current selection."""
        if self.burst_dates is None or self.catalog_info is None:
            self.load(compute=True)
            return
        snap = self._snapshot()
        self._submit(lambda cancel: self._compute_job(snap, cancel), "Computing")

    def _resolve_burst(self, text: str, info: CatalogInfo) -> str:
        from pairscope.bursts import parse_burst_id

        known = [b.burst_id for b in info.bursts]
        if not text.strip():
            return known[0]
        try:
            canonical = str(parse_burst_id(text).canonical)
        except (ValueError, TypeError, KeyError) as exc:
            raise UserError(f"Unknown burst id {text!r}: {exc}.", BURST_HINT) from exc
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
        info: BurstDates = snap["burst_dates"]
        dates = self.selected_dates(info, snap["start"], snap["end"])
        pairs = self.form_pairs(
            dates, snap["rule"], snap["rule_value"], snap["reference"], snap["manual_pairs"]
        )
        window = (int(snap["window_azimuth"]), int(snap["window_range"]))
        results: dict[str, xr.Dataset] = {}
        means: dict[str, float] = {}
        done: list[tuple[np.datetime64, np.datetime64]] = []
        failures: list[str] = []
        n = len(pairs)
        for i, (a, b) in enumerate(pairs):
            if cancel.is_set():
                break
            key = pair_key(a, b)
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
            self._schedule(partial(self._progress, pct, f"Pair {i + 1} of {n}"))
        geometry_layers = None
        if snap["layer"] in GEOMETRY_LAYERS and not cancel.is_set() and done:
            geometry_layers = self._geometry(snap)
        cancelled = cancel.is_set()
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
                "pixel": None,
                "progress": 100 if not cancelled else self.progress,
            }
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
        if cancelled:
            self.say(f"Cancelled: {len(done)} of {n} pairs computed and shown.", "warning",
                     final=True)  # fmt: skip
        elif failures:
            self.say(
                f"{len(done)} of {n} pairs computed; skipped: " + "; ".join(failures[:3]),
                "warning",
                final=True,
            )
        else:
            w = f"{snap['window_azimuth']}x{snap['window_range']}"
            self.say(f"{len(done)} pair(s) of {snap['burst']} computed with a {w} window.",
                     "success", final=True)  # fmt: skip

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

    def pixel_series(self) -> list[dict[str, Any]]:
        """Coherence of the clicked pixel for every computed pair."""
        if self.pixel is None:
            return []
        x, y = self.pixel
        out = []
        for (a, b) in self.pair_list:
            key = pair_key(a, b)
            ds = self.results.get(key)
            if ds is None:
                continue
            coh = ds["coherence"]
            ydim, xdim = coh.dims[-2], coh.dims[-1]
            xs = coh[xdim].values if xdim in coh.coords else np.arange(coh.sizes[xdim])
            ys = coh[ydim].values if ydim in coh.coords else np.arange(coh.sizes[ydim])
            if not (min(xs[0], xs[-1]) <= x <= max(xs[0], xs[-1])) or not (
                min(ys[0], ys[-1]) <= y <= max(ys[0], ys[-1])
            ):
                continue
            ix = int(np.abs(xs - x).argmin())
            iy = int(np.abs(ys - y).argmin())
            value = float(coh.values[iy, ix])
            out.append(
                {
                    "pair": key,
                    "reference": a,
                    "secondary": b,
                    "temporal_baseline": int((b - a) / np.timedelta64(1, "D")),
                    "coherence": value,
                }
            )
        return out
