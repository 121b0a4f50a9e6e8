"""The one pair recipe: acquisitions -> stack -> estimate -> corrections -> baselines -> geometry -> map.

Every caller that turns SLCs into pair layers goes through here: the app's backend (and its QA and
Learn tabs), ``pairscope compute``, the CEOS-ARD comparison and the demo's product writer. So the
science is the same wherever a user looks:

- the estimator: :func:`pairscope.coherence.estimate_pairs` (boxcar sample coherence over the valid
  samples, CEOS-ARD GSLC eq. 18-19), with the optional Touzi bias correction using each pixel's own
  number of looks (``valid_count``), never the nominal window size;
- amplitude: :func:`pairscope.coherence.estimate_amplitude` over the same samples;
- perpendicular baselines: one point per burst (:func:`baseline_point`: the centre of the burst
  footprint on the ellipsoid) and one stack reference, so the network plot, the exported items and
  the pairs tables show the same number: ``B_perp(pair) = B(secondary) - B(reference)`` with
  ``B(date)`` the baseline of that date against the burst's first date (the convention SBAS tools
  and ASF Vertex use for a stack);
- look geometry from the reference date's orbit with the orbit's look side
  (``sar:observation_direction``), over the stack's latitude / longitude (/ height) grid;
- map output: :func:`pairscope.geometry.geocode` to the snapped UTM grid (mean, circular mean for the
  phase, nearest for counts). CEOS-ARD stacks are already on a map grid and are not geocoded.

:class:`Recipe` holds the settings; :func:`compute_pairs` applies it to a stack in memory or on dask;
:func:`run_pairs` starts from a catalog (open the acquisitions, read the stack, orbits, baselines).
Progress goes to a ``progress(fraction, text)`` callback and ``cancel()`` is polled between stages;
a cancelled run raises :class:`Cancelled`.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from pairscope import coherence, geometry
from pairscope._types import Window
from pairscope.errors import InputError, PairscopeError
from pairscope.pairs import Pair, PairRule, as_date, format_day, select_pairs

if TYPE_CHECKING:
    from pairscope.io.catalog import StacCatalog

__all__ = [
    "Cancelled",
    "Recipe",
    "acquisition_baselines",
    "baseline_point",
    "burst_look_layers",
    "compute_amplitude",
    "compare_representations",
    "compute_pairs",
    "date_baselines",
    "look_layers",
    "look_side_of",
    "pair_baselines",
    "run_pairs",
]

Progress = Callable[[float, str], None]
Cancel = Callable[[], bool]
OutputGeometry = Literal["radar", "map"]

#: Look-geometry layers computed by :func:`look_layers` (``incidence`` is the ellipsoid-normal
#: incidence angle of CEOS-ARD, in degrees).
LOOK_LAYERS = geometry.LAYERS


class Cancelled(PairscopeError):
    """The caller asked to stop (``cancel()`` returned True); nothing partial is returned."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How pairs are computed. Every setting that changes a result is here (and in :meth:`key`).

    - ``window``: boxcar ``(azimuth, range)`` samples (``(y, x)`` pixels on a map grid);
    - ``bias_corrected``: Touzi et al. (1999) correction with L = valid samples of each pixel;
    - ``amplitude``: add the multilooked amplitude (dB) of the pair;
    - ``geometry``: ``"radar"`` keeps the stack's grid, ``"map"`` geocodes radar stacks to UTM;
    - ``spacing``: map cell size in m; ``crs``: map CRS (None: the UTM zone of the footprint);
    - ``look_layers``: add the reference date's look-vector and incidence layers;
    - ``convention``: sign of the perpendicular baseline (``"vertex"`` as ASF Vertex and
      asf_search; ``"isce"`` as ISCE2 / isce3 / dolphin).
    """

    window: Window = (5, 21)
    bias_corrected: bool = False
    amplitude: bool = False
    geometry: OutputGeometry = "radar"
    spacing: float = 20.0
    crs: Any = None
    look_layers: bool = False
    convention: str = "vertex"

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", coherence.check_window(self.window))
        if self.geometry not in ("radar", "map"):
            raise InputError(
                f"output geometry must be 'radar' or 'map', got {self.geometry!r}"
            )
        spacing = float(self.spacing)
        if not np.isfinite(spacing) or spacing <= 0:
            raise InputError(f"map spacing must be a positive number of metres, got {self.spacing!r}")
        object.__setattr__(self, "spacing", spacing)
        if self.convention not in ("vertex", "isce"):
            raise InputError(
                f"baseline convention must be 'vertex' or 'isce', got {self.convention!r}"
            )

    def key(self) -> tuple[Any, ...]:
        """Plain, hashable form of every setting that changes a result (cache keys, digests)."""
        return (
            self.window, self.bias_corrected, self.amplitude, self.geometry, self.spacing,
            str(self.crs) if self.crs is not None else None, self.look_layers, self.convention,
        )  # fmt: skip


# ------------------------------------------------------------------------------------- baselines
def baseline_point(footprint: Any, height: float = 0.0) -> tuple[float, float, float]:
    """The point where a burst's perpendicular baselines are evaluated: the area centroid of its
    footprint (GeoJSON geometry, ring of ``(lon, lat)`` or ``[w, s, e, n]`` bbox; the point ASF
    calls the burst centre) on the WGS84 ellipsoid, or at a known DEM height. ``(lat, lon, h)``;
    :func:`pairscope.geometry.baseline_point`."""
    if footprint is None:
        raise InputError(
            "the burst has no footprint to place its baselines: its items need a geometry or a bbox"
        )
    values = list(footprint) if isinstance(footprint, list | tuple) else None
    if values is not None and len(values) == 4 and all(isinstance(v, int | float) for v in values):
        w, s_, e, n = (float(v) for v in values)
        footprint = {"type": "Polygon",
                     "coordinates": [[[w, s_], [e, s_], [e, n], [w, n], [w, s_]]]}  # fmt: skip
    try:
        return geometry.baseline_point(footprint, height)
    except (TypeError, ValueError, KeyError) as err:
        raise InputError(f"cannot place the burst's baselines on its footprint: {err}") from None


def date_baselines(
    orbits: Sequence[Any], point: tuple[float, float, float], convention: str = "vertex",
    *, look_side: str = "right",
) -> np.ndarray:
    """Perpendicular baseline (m) of each date against the first, at ``point`` (lat, lon, h), in
    ``convention`` (``vertex``: positive towards the scene, as ASF Vertex; ``isce``: positive for a
    larger look angle, as ISCE2 / dolphin): :func:`pairscope.geometry.stack_baselines`."""
    if not orbits:
        return np.zeros(0)
    lat, lon, h = point
    ds = geometry.stack_baselines(list(orbits), lat, lon, h, reference=0,
                                  look_side="left" if look_side == "left" else "right",
                                  convention="isce" if convention == "isce" else "vertex")  # fmt: skip
    return np.asarray(ds["perpendicular_baseline"].values, dtype=np.float64)


def acquisition_baselines(
    acquisitions: Sequence[Any], orbits: Sequence[Any], convention: str = "vertex"
) -> dict[str, float] | None:
    """``{YYYYMMDD: metres}`` of each acquisition against the first (the burst's reference), at
    the first one's footprint centre (:func:`baseline_point`) with its look side: the one
    definition the app's network, ``pairscope compute`` and the tables use. ``orbits`` are the
    acquisitions' (None where one has none: then None)."""
    if not acquisitions or any(o is None for o in orbits):
        return None
    first = acquisitions[0]
    point = baseline_point(first.item.geometry or first.item.bbox)
    values = date_baselines(orbits, point, convention, look_side=look_side_of(first))
    return {format_day(a.date): float(v) for a, v in zip(acquisitions, values, strict=True)}


def pair_baselines(
    dates: Sequence[Any], baselines: Sequence[float], pairs: Sequence[Any]
) -> np.ndarray:
    """``B(secondary) - B(reference)`` for each pair, from the per-date baselines."""
    by_day = {format_day(d): float(b) for d, b in zip(dates, baselines, strict=True)}
    out = []
    for ref, sec in _pair_dates(pairs):
        try:
            out.append(by_day[format_day(sec)] - by_day[format_day(ref)])
        except KeyError as err:
            raise InputError(f"no baseline for date {err.args[0]}: give every pair's dates") from None
    return np.array(out, dtype=np.float64)


# -------------------------------------------------------------------------------- look geometry
def look_layers(
    latitude: Any,
    longitude: Any,
    height: Any,
    orbit: Any,
    *,
    look_side: str = "right",
    max_samples: tuple[int, int] | None = None,
) -> xr.Dataset:
    """Look vectors (antenna -> target, ECEF), line of sight (target -> sensor, ENU) and incidence
    (deg, ellipsoid normal) of ``orbit`` over 2-D latitude / longitude (/ height, default 0) grids.

    ``max_samples`` decimates the grid to at most that many (rows, columns) (look vectors are
    smooth); the decimated rows / columns are kept as coordinates of the grid's dims.
    """
    lat = _as_grid(latitude)
    lon = _as_grid(longitude)
    dims = lat.dims
    step = (1, 1)
    if max_samples is not None:
        step = (max(1, -(-lat.shape[0] // max_samples[0])), max(1, -(-lat.shape[1] // max_samples[1])))
    sel = {dims[0]: slice(None, None, step[0]), dims[1]: slice(None, None, step[1])}
    lat, lon = lat.isel(sel), lon.isel(sel)
    hgt = _as_grid(height).isel(sel) if height is not None else xr.zeros_like(lat)
    side = str(look_side).lower()
    if side not in ("right", "left"):
        raise InputError(f"look side must be 'right' or 'left', got {look_side!r}")
    look = geometry.look_geometry(
        orbit, np.asarray(lat.values, np.float64), np.asarray(lon.values, np.float64),
        np.asarray(hgt.values, np.float64), look_side="left" if side == "left" else "right",
    )  # fmt: skip
    layers = {}
    for name in LOOK_LAYERS:
        source = "incidence_angle" if name == "incidence" else name
        values = np.asarray(look[source].values, dtype=np.float32).reshape(lat.shape)
        attrs = {"units": "deg" if name == "incidence" else "1"}
        layers[name] = (dims, values, attrs)
    coords: dict[str, Any] = {
        str(d): (lat[d].values if d in lat.coords else np.arange(0, _full(latitude, d), s))
        for d, s in zip(dims, step, strict=True)
    }
    coords["latitude"] = (dims, np.asarray(lat.values))
    coords["longitude"] = (dims, np.asarray(lon.values))
    return xr.Dataset(layers, coords=coords, attrs={"look_side": look_side})


def burst_look_layers(
    catalog: Any,
    acquisition: Any,
    stack: xr.DataArray,
    orbit: Any,
    *,
    max_samples: tuple[int, int] | None = None,
) -> tuple[xr.Dataset, str] | None:
    """The look layers of a burst, by one rule for the app and ``pairscope compute``: the layers
    the catalog publishes on the stack's grid when it has them
    (:func:`pairscope.io.layers.open_look_layers`), else computed from ``orbit`` (the
    acquisition's) with the acquisition's look side (``sar:observation_direction``) over the
    stack's latitude / longitude / height. Returns the layers with 2-D ``latitude`` /
    ``longitude`` coords and a note of their source, or None without either."""
    from pairscope.io.layers import open_look_layers

    rows, cols = stack.shape[-2:]
    lat = stack["latitude"] if "latitude" in stack.coords else None
    lon = stack["longitude"] if "longitude" in stack.coords else None
    published = open_look_layers(catalog, acquisition, (rows, cols))
    if published is not None:
        layers, source = published
        if lat is not None and lon is not None:
            layers = layers.assign_coords(latitude=(("azimuth", "range"), np.asarray(lat.values)),
                                          longitude=(("azimuth", "range"), np.asarray(lon.values)))
        if max_samples is not None:
            step = (max(1, -(-rows // max_samples[0])), max(1, -(-cols // max_samples[1])))
            layers = layers.isel(azimuth=slice(None, None, step[0]), range=slice(None, None, step[1]))
            layers = layers.assign_coords(azimuth=np.arange(0, rows, step[0]),
                                          range=np.arange(0, cols, step[1]))
        layers.attrs["look_side"] = look_side_of(acquisition)
        return layers, source
    if orbit is None or lat is None or lon is None:
        return None
    side = look_side_of(acquisition)
    height = stack["height"] if "height" in stack.coords else None
    layers = look_layers(lat, lon, height, orbit, look_side=side, max_samples=max_samples)
    how = "the stack's heights" if height is not None else "the WGS84 ellipsoid (height 0)"
    return layers, f"{side}-looking orbit of {acquisition.item.id} over {how}"


def look_side_of(acquisition: Any) -> str:
    """The look side of an acquisition's orbit: its item's ``sar:observation_direction``
    (``right`` when absent, as for every Sentinel-1 product)."""
    item = getattr(acquisition, "item", None)
    props = getattr(item, "properties", None) or {}
    side = str(props.get("sar:observation_direction", "right")).lower()
    if side not in ("right", "left"):
        raise InputError(f"sar:observation_direction of {getattr(item, 'id', '?')} is {side!r}: "
                         "expected right or left")  # fmt: skip
    return side


def _as_grid(values: Any) -> xr.DataArray:
    if isinstance(values, xr.DataArray):
        return values
    arr = np.asarray(values)
    return xr.DataArray(arr, dims=("azimuth", "range"))


def _full(grid: Any, dim: Any) -> int:
    return int(grid.sizes[dim]) if isinstance(grid, xr.DataArray) else int(np.shape(grid)[0])


# ---------------------------------------------------------------------------------------- pairs
def _pair_dates(pairs: Sequence[Any]) -> list[tuple[np.datetime64, np.datetime64]]:
    out = []
    for p in pairs:
        if hasattr(p, "reference") and hasattr(p, "secondary"):
            out.append((as_date(p.reference), as_date(p.secondary)))
        else:
            ref, sec = p
            out.append((as_date(ref), as_date(sec)))
    return out


def _resolve_pairs(stack: xr.DataArray, pairs: Any) -> list[Pair]:
    if isinstance(pairs, str | PairRule):
        return select_pairs(stack["date"].values, rule=pairs)
    out = [Pair.make(r, s) for r, s in _pair_dates(list(pairs))]
    if not out:
        raise InputError("no pairs given: select at least one (reference, secondary) pair")
    return out


def _is_radar(stack: xr.DataArray) -> bool:
    return tuple(stack.dims[-2:]) == ("azimuth", "range")


def _check(cancel: Cancel | None, progress: Progress | None, fraction: float, text: str) -> None:
    if cancel is not None and cancel():
        raise Cancelled(f"cancelled before {text}")
    if progress is not None:
        progress(fraction, text)


def compute_pairs(
    stack: xr.DataArray,
    pairs: Any,
    recipe: Recipe | None = None,
    *,
    orbit: Any = None,
    look_side: str = "right",
    baselines: Mapping[Any, float] | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    sums: coherence.DateSums | None = None,
) -> xr.Dataset:
    """Pair layers of ``stack`` (dims ``("date", azimuth, range)`` or ``("date", y, x)``, numpy or
    dask) for ``pairs`` (a rule such as ``"seq:1"``, or ``(reference, secondary)`` tuples / ``Pair``).
    ``sums``: a `pairscope.coherence.DateSums` of the loaded stack, for callers that compute its
    pairs a few at a time (each date's power sums then made once).

    Returns a Dataset with ``coherence``, ``phase``, ``valid_count`` (and ``amplitude``) on
    ``("pair", ...)``; ``perpendicular_baseline`` on ``pair`` when ``baselines`` (date -> metres
    against the burst's first date, :func:`date_baselines`) are given; the look layers of ``orbit``
    (the reference date's) when ``recipe.look_layers``; geocoded when ``recipe.geometry == "map"``
    and the stack is in radar geometry.
    """
    recipe = recipe or Recipe()
    if not isinstance(stack, xr.DataArray) or stack.ndim != 3 or stack.dims[0] != "date":
        raise InputError(
            "stack must be an xarray.DataArray with dims ('date', azimuth, range) or ('date', y, x); "
            f"got {type(stack).__name__} with dims {getattr(stack, 'dims', None)}"
        )
    window = coherence.check_window(recipe.window, stack.shape)
    chosen = _resolve_pairs(stack, pairs)
    _check(cancel, progress, 0.05, f"estimating {len(chosen)} pair(s) with a {window[0]}x{window[1]} window")
    ds = coherence.estimate_pairs(stack, chosen, window, bias_corrected=recipe.bias_corrected,
                                  sums=sums)
    if recipe.amplitude:
        _check(cancel, progress, 0.45, "amplitude")
        ds = ds.assign(amplitude=_amplitude(stack, chosen, window))
    if baselines is not None:
        dates = list(baselines)
        values = pair_baselines(dates, [baselines[d] for d in dates], chosen)
        ds = ds.assign_coords(
            perpendicular_baseline=("pair", values, {
                "units": "m", "convention": recipe.convention,
                "definition": "B(secondary) - B(reference) at the burst footprint centre",
            })
        )  # fmt: skip
    if recipe.look_layers:
        if orbit is None or "latitude" not in stack.coords:
            raise InputError(
                "look layers need the reference date's orbit and the stack's latitude/longitude grid"
            )
        _check(cancel, progress, 0.6, "look geometry")
        layers = look_layers(stack["latitude"], stack["longitude"],
                             stack["height"] if "height" in stack.coords else None, orbit,
                             look_side=look_side)  # fmt: skip
        ds = ds.assign({k: layers[k] for k in LOOK_LAYERS})
    if recipe.geometry == "map" and _is_radar(stack):
        _check(cancel, progress, 0.75, "geocoding")
        ds = geocode_result(ds, spacing=recipe.spacing, crs=recipe.crs)
    ds.attrs["pipeline"] = repr(recipe)
    _check(cancel, progress, 1.0, "done")
    return ds


def _amplitude(stack: xr.DataArray, pairs: Sequence[Pair], window: Window) -> xr.DataArray:
    lookup = {format_day(d): k for k, d in enumerate(stack["date"].values)}
    layers = []
    for p in pairs:
        a = np.asarray(stack.isel(date=lookup[format_day(p.reference)]).values)
        b = np.asarray(stack.isel(date=lookup[format_day(p.secondary)]).values)
        layers.append(coherence.estimate_amplitude(a, b, window))
    dims = ("pair", *(str(d) for d in stack.dims[1:]))
    return xr.DataArray(np.stack(layers), dims=dims,
                        attrs={"units": "dB", "long_name": "amplitude (uncalibrated)"})


def compute_amplitude(stack: xr.DataArray, pairs: Any, recipe: Recipe | None = None) -> xr.DataArray:
    """Only the ``amplitude`` layer of :func:`compute_pairs` (same grid, same samples), for a
    caller that already holds the pair's coherence and phase."""
    recipe = recipe or Recipe()
    window = coherence.check_window(recipe.window, stack.shape)
    chosen = _resolve_pairs(stack, pairs)
    amp = _amplitude(stack, chosen, window)
    coords = {k: v for k, v in stack.coords.items() if k != "date" and "date" not in v.dims}
    ds = xr.Dataset({"amplitude": amp}, coords=coords)
    if recipe.geometry == "map" and _is_radar(stack):
        ds = geocode_result(ds, spacing=recipe.spacing, crs=recipe.crs)
    return ds["amplitude"]


def geocode_result(ds: xr.Dataset, *, spacing: float = 20.0, crs: Any = None) -> xr.Dataset:
    """A radar-geometry result (with 2-D ``latitude`` / ``longitude`` coords) on the snapped map grid."""
    if "latitude" not in ds.coords or "longitude" not in ds.coords:
        raise InputError(
            "this stack has no latitude/longitude grid, so it cannot be shown in map geometry: "
            "use radar geometry, or a catalog whose SLC assets carry lat/lon bands"
        )
    lat, lon = ds["latitude"], ds["longitude"]
    data = ds.drop_vars(["latitude", "longitude", "height"], errors="ignore")
    if "valid_count" in data:  # counts as float so empty map cells are NaN, not the int minimum
        data["valid_count"] = data["valid_count"].astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: xr.Dataset = geometry.geocode(data, lat, lon, crs=crs, resolution=spacing)
    if "valid_count" in out:
        out["valid_count"] = out["valid_count"].round()
    out.attrs.update(ds.attrs)
    return out


# --------------------------------------------------------------------------------- from catalog
def run_pairs(
    catalog: Any,
    burst_id: str,
    pairs: Any,
    recipe: Recipe | None = None,
    *,
    polarization: str = "VV",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> xr.Dataset:
    """The whole recipe from a catalog: the burst's acquisitions, the stack of the dates the pairs
    use (read once), orbits and per-date baselines when the catalog has orbits, then
    :func:`compute_pairs`."""
    from pairscope.io.catalog import list_acquisitions
    from pairscope.io.orbits import open_orbit
    from pairscope.io.rasters import open_slc_stack

    recipe = recipe or Recipe()
    _check(cancel, progress, 0.0, "listing acquisitions")
    acquisitions = sorted(list_acquisitions(catalog, burst_id, polarization=polarization),
                          key=lambda a: a.date)  # fmt: skip
    dates = [as_date(a.date) for a in acquisitions]
    if isinstance(pairs, str | PairRule):
        chosen = select_pairs(dates, rule=pairs)
    else:
        chosen = [Pair.make(r, s) for r, s in _pair_dates(list(pairs))]
    used = sorted({format_day(d) for p in chosen for d in (p.reference, p.secondary)})
    _check(cancel, progress, 0.02, f"reading {len(used)} date(s)")
    stack = open_slc_stack(catalog, burst_id, used, polarization)
    orbits = [open_orbit(a, catalog=catalog) for a in acquisitions]
    baselines = acquisition_baselines(acquisitions, orbits, recipe.convention)
    first_ref = min(p.reference for p in chosen)
    ref_acq = next(a for a, d in zip(acquisitions, dates, strict=True) if d == first_ref)
    orbit = orbits[acquisitions.index(ref_acq)]
    side = str(ref_acq.item.properties.get("sar:observation_direction", "right"))
    stack = stack.load()
    return compute_pairs(stack, chosen, recipe, orbit=orbit, look_side=side,
                         baselines=baselines, progress=progress, cancel=cancel)  # fmt: skip


# ------------------------------------------------------------------------------------- CEOS-ARD
def _angle(z: xr.DataArray) -> xr.DataArray:
    return z.copy(data=np.angle(np.asarray(z.values)).astype(np.float32))


def compare_representations(
    catalog: StacCatalog | str | os.PathLike[str],
    burst_id: str,
    reference: Any,
    secondary: Any,
    polarization: str = "VV",
    *,
    radar_window: Sequence[int] = (5, 21),
    resolution: float = 20.0,
) -> xr.Dataset:
    """One pair's coherence and phase from the three inputs, on one ``resolution`` map grid.

    - radar geometry: the SLC stack (:func:`pairscope.io.rasters.open_slc_stack`), estimated with
      ``radar_window`` and geocoded (mean per cell, circular mean for the phase);
    - GSLC and NRB + flattened phase (the catalog's CEOS-ARD collections of the burst), estimated
      on their map grid with the window of the same ground size
      (:func:`equivalent_map_window`), then averaged over the cells.

    Variables ``coherence_<kind>``, ``phase_<kind>`` (kind = radar, gslc, nrb; NaN where absent)
    and ``full_window`` (every estimate in the cell used a full window). GSLC and NRB agree to
    float32 precision; radar differs by resampling only (different samples in the windows).
    """
    from pairscope.io.ard import (
        equivalent_map_window,
        grid_of,
        list_ard_collections,
        open_ard_stack,
        with_crs,
    )
    from pairscope.io.catalog import as_catalog
    from pairscope.io.rasters import open_slc_stack

    cat = as_catalog(catalog)
    pair = (as_date(as_date(reference).astype("datetime64[D]")),
            as_date(as_date(secondary).astype("datetime64[D]")))  # fmt: skip
    days = [str(d)[:10] for d in pair]
    radar = open_slc_stack(cat, burst_id, dates=days, polarization=polarization)
    if radar.dims != ("date", "azimuth", "range") or "latitude" not in radar.coords:
        raise ValueError(
            f"the SLC stack of {burst_id} is not in radar geometry with latitude/longitude "
            f"(dims {radar.dims}); compare_representations needs the radar-geometry SLCs"
        )
    radar = radar.load()
    est = compute_pairs(radar, [pair], Recipe(window=tuple(radar_window))).isel(pair=0)  # type: ignore[arg-type]
    full = int(np.prod(radar_window))
    rho = est["coherence"] * np.exp(1j * est["phase"])
    maps: dict[str, xr.Dataset] = {}
    kinds = {spec.lower(): cid for cid, spec in list_ard_collections(cat).items()}
    window = None
    target: Any = None
    for kind in ("gslc", "nrb"):
        if kind not in kinds:
            continue
        s = open_ard_stack(cat, burst_id, days, polarization, collection=kinds[kind]).load()
        g = grid_of(s)
        fy, fx = resolution / abs(g.dy), resolution / abs(g.dx)
        if (
            abs(fy - round(fy)) > 1e-9 or abs(fx - round(fx)) > 1e-9
            or abs(g.x0 / resolution - round(g.x0 / resolution)) > 1e-9
            or abs(g.y0 / resolution - round(g.y0 / resolution)) > 1e-9
        ):
            raise ValueError(
                f"the {kind.upper()} grid ({g.describe()}) does not nest in {resolution:g} m cells "
                "(spacing dividing it, origin on a multiple of it): choose another resolution"
            )
        if target is None:
            target = s.rio.crs
        if window is None:
            window = equivalent_map_window(
                radar_window, radar["latitude"].values, radar["longitude"].values, s.rio.crs,
                (g.dy, g.dx),
            )
        e = compute_pairs(s, [pair], Recipe(window=window)).isel(pair=0)
        cells = {"y": int(round(fy)), "x": int(round(fx))}
        e_rho = (e["coherence"] * np.exp(1j * e["phase"])).coarsen(cells, boundary="trim").mean()
        maps[kind] = xr.Dataset(
            {
                f"coherence_{kind}": e["coherence"].coarsen(cells, boundary="trim").mean(),
                f"phase_{kind}": _angle(e_rho),
                f"full_{kind}": (e["valid_count"] == window[0] * window[1]).coarsen(cells, boundary="trim").min(),
            }
        )
    if not maps:
        raise InputError(f"the catalog holds no GSLC or NRB collection of {burst_id}")
    mapped = geometry.geocode(
        xr.Dataset(
            {
                "coherence_radar": est["coherence"],
                "rho": rho,
                "full_radar": (est["valid_count"] == full).astype(np.float32),
            }
        ),
        radar["latitude"], radar["longitude"], crs=target, resolution=resolution, fill_holes=False,
    )
    radar_map = xr.Dataset(
        {
            "coherence_radar": mapped["coherence_radar"],
            "phase_radar": _angle(mapped["rho"]),
            "full_radar": mapped["full_radar"] == 1,
        }
    )
    parts = xr.align(radar_map, *maps.values(), join="inner")
    out = xr.merge(parts, compat="override", join="override")
    full_vars = [v for v in out.data_vars if str(v).startswith("full_")]
    full_window = out[full_vars[0]].fillna(0).astype(bool)
    for v in full_vars[1:]:
        full_window = full_window & out[v].fillna(0).astype(bool)
    out["full_window"] = full_window
    out = out.drop_vars(full_vars)
    out.attrs = {
        "reference": days[0],
        "secondary": days[1],
        "polarization": polarization.upper(),
        "radar_window": f"{radar_window[0]}x{radar_window[1]}",
        "map_window": f"{window[0]}x{window[1]}" if window else "",
        "resolution": float(resolution),
    }
    return with_crs(out, target)
