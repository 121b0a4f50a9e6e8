"""CEOS-ARD inputs in map geometry: GSLC stacks, NRB + flattened phase, per-pixel metadata layers.

The CEOS-ARD SAR specification (seed ``ceos-ard-sar-gslc-pfs.md``) defines two products from which
interferometric pairs can be formed without any SAR processing:

- **GSLC** (geocoded single-look complex): complex samples on a snapped map grid whose phase is
  *flattened*: the phase ``4 pi / lambda * R`` that the orbit predicts over the DEM was removed in
  slant range before geocoding (eq. 3), so a pair's phase difference holds no topographic fringes
  (eq. 6-7). OPERA CSLC-S1 is one (HDF5, ``/data/<pol>``).
- **NRB + flattened phase**: gamma0 in *linear power* and the per-pixel flattened phase; the
  complex sample is ``sqrt(gamma0) * exp(i * phase)`` (eq. 20). gamma0 is never taken through dB:
  a dB value would have to be undone exactly and a rounded one is not.

Both become ``("date", "y", "x")`` complex64 stacks with a CRS (rioxarray), and go through the
same estimator as radar-geometry SLCs (:func:`pairscope.coherence.estimate_pairs`, eq. 18-19).

Per-pixel metadata layers are read when a product has them, under the names of the
specification (section 4), as variables of one Dataset:

- Data Mask Image (4.3): ``data_mask``, asset ``data-mask``;
- Local Incident Angle Image (4.5): ``local_incidence_angle``, asset ``local-incidence-angle``;
- Ellipsoidal Incident Angle Image (4.6): ``incidence_angle``, asset ``ellipsoid-incidence-angle``;
- Per-Pixel DEM (4.10): ``height``, asset ``dem``;
- Radar Unit Look Vector Grid Image (4.11): ``look_x``, ``look_y``, ``look_z``, asset
  ``look-vector-grid`` (three bands);
- Slant Range Sensor to Surface Image (4.12): ``slant_range``, asset ``slant-range``.

Assets are found by key or role, with the aliases of :data:`PER_PIXEL_LAYERS` (S1 NRB processor
and OPERA names).

Data mask values (those of the S1 NRB processor, plus the threshold's invalid and no data):
0 valid, 1 layover, 2 shadow, 3 layover and shadow, 4 ocean water, 5 invalid, 255 no data. Only
0 is valid; the estimator sees every other pixel as 0+0j (excluded from the window sums). OPERA's
``layover_shadow_mask`` (0 none, 1 shadow, 2 layover, 3 both) obeys the same "0 is valid" rule.

The look vector grid is ECEF, antenna to target (:mod:`pairscope.geometry` convention). When a
product lacks it but its orbit is known it is computed with :func:`pairscope.geometry.look_geometry`;
when both exist, :func:`look_vector_difference` gives the product-minus-computed difference (QA).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import os
import pathlib
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pyproj
import pystac
import rasterio
import rioxarray
import xarray as xr

from pairscope import geometry
from pairscope.bursts import parse_burst_id
from pairscope.errors import AssetError, GridMismatchError
from pairscope.io.catalog import StacCatalog, as_catalog
from pairscope.io.items import acquisition_from_item, asset_band_names, asset_href, item_burst_id
from pairscope.io.orbits import open_orbit

__all__ = [
    "GSLC",
    "NRB",
    "SPECIFICATION_VERSION",
    "MASK_VALID",
    "MASK_LAYOVER",
    "MASK_SHADOW",
    "MASK_LAYOVER_SHADOW",
    "MASK_OCEAN",
    "MASK_INVALID",
    "MASK_NO_DATA",
    "DATA_MASK_CLASSES",
    "PerPixelLayer",
    "PER_PIXEL_LAYERS",
    "GridMismatchError",
    "ard_specification",
    "check_same_grid",
    "nrb_to_complex",
    "apply_data_mask",
    "open_gslc",
    "open_nrb",
    "open_opera_cslc",
    "opera_cslc_metadata",
    "open_ard_stack",
    "open_ard_layers",
    "look_vector_grid",
    "look_vector_difference",
    "list_ard_collections",
    "equivalent_map_window",
]

GSLC = "GSLC"
NRB = "NRB"
SPECIFICATION_VERSION = "1.2"

MASK_VALID = 0
MASK_LAYOVER = 1
MASK_SHADOW = 2
MASK_LAYOVER_SHADOW = 3
MASK_OCEAN = 4
MASK_INVALID = 5
MASK_NO_DATA = 255
DATA_MASK_CLASSES: dict[int, str] = {
    MASK_VALID: "valid",
    MASK_LAYOVER: "layover",
    MASK_SHADOW: "shadow",
    MASK_LAYOVER_SHADOW: "layover and shadow",
    MASK_OCEAN: "ocean water",
    MASK_INVALID: "invalid",
    MASK_NO_DATA: "no data",
}

_H5_LOCK = threading.Lock()
_X = TypeVar("_X", xr.DataArray, xr.Dataset)
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?")


@dataclasses.dataclass(frozen=True)
class PerPixelLayer:
    """One per-pixel metadata layer of the specification and where products keep it."""

    title: str  # the specification's name
    identifier: str  # the specification's requirement identifier
    asset: str  # asset key (and role) the demo writes
    variables: tuple[str, ...]  # variable names in pairscope (one per band)
    units: str
    aliases: tuple[str, ...] = ()  # other asset keys / roles / band names seen in products


PER_PIXEL_LAYERS: tuple[PerPixelLayer, ...] = (
    PerPixelLayer(
        "Data Mask Image", "pxl.per-pixel-data-mask", "data-mask", ("data_mask",), "1",
        ("mask", "dm", "data_mask", "layover_shadow_mask", "layover-shadow-mask"),
    ),
    PerPixelLayer(
        "Local Incident Angle Image", "pxl.per-pixel-local-incident-angle",
        "local-incidence-angle", ("local_incidence_angle",), "deg",
        ("li", "lia", "local_incidence_angle", "local-incident-angle"),
    ),
    PerPixelLayer(
        "Ellipsoidal Incident Angle Image", "pxl.per-pixel-ellipsoidal-incident-angle",
        "ellipsoid-incidence-angle", ("incidence_angle",), "deg",
        ("ei", "incidence_angle", "ellipsoidal-incidence-angle", "ellipsoidal_incidence_angle"),
    ),
    PerPixelLayer(
        "Per-Pixel DEM", "pxl.per-pixel-dem", "dem", ("height",), "m",
        ("height", "em", "digital-elevation-model", "elevation"),
    ),
    PerPixelLayer(
        "Radar Unit Look Vector Grid Image", "pxl.per-pixel-radar-unit-look-vector-grid",
        "look-vector-grid", ("look_x", "look_y", "look_z"), "1",
        ("look-vector", "look_vector", "radar-unit-look-vector-grid", "look_vectors"),
    ),
    PerPixelLayer(
        "Slant Range Sensor to Surface Image", "pxl.per-pixel-slant-range", "slant-range",
        ("slant_range",), "m", ("slant_range", "sr"),
    ),
)


# ----------------------------------------------------------------------------------------------
# grids
@dataclasses.dataclass(frozen=True)
class MapGrid:
    crs: pyproj.CRS | None
    x0: float  # upper-left corner
    y0: float
    dx: float
    dy: float
    shape: tuple[int, int]

    def describe(self) -> str:
        crs = "no CRS" if self.crs is None else (self.crs.to_string())
        return (
            f"{crs}, origin ({self.x0:.3f}, {self.y0:.3f}), spacing ({self.dx:g}, {self.dy:g}), "
            f"{self.shape[0]} x {self.shape[1]} pixels"
        )


def grid_of(da: xr.DataArray) -> MapGrid:
    if "x" not in da.dims or "y" not in da.dims:
        raise ValueError(f"a map-geometry layer needs dims 'y' and 'x'; got {da.dims}")
    x = np.asarray(da["x"].values, dtype=np.float64) if "x" in da.coords else None
    y = np.asarray(da["y"].values, dtype=np.float64) if "y" in da.coords else None
    if x is None or y is None or x.size < 2 or y.size < 2:
        t = da.rio.transform()
        dx, dy, x0, y0 = t.a, t.e, t.c, t.f
    else:
        dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
        x0, y0 = float(x[0]) - dx / 2, float(y[0]) - dy / 2
    crs = da.rio.crs
    return MapGrid(
        None if crs is None else pyproj.CRS.from_user_input(crs),
        x0, y0, dx, dy, (da.sizes["y"], da.sizes["x"]),
    )


def check_same_grid(a: xr.DataArray, b: xr.DataArray, labels: tuple[str, str] = ("a", "b")) -> None:
    """Raise :class:`GridMismatchError` unless ``a`` and ``b`` share CRS, origin, spacing, shape.

    Map-geometry pixels are compared by position only; a silent misalignment of even one pixel
    would decorrelate the pair, so any difference beyond 1e-6 of a pixel is an error.
    """
    ga, gb = grid_of(a), grid_of(b)
    problems = []
    if (ga.crs is None) != (gb.crs is None) or (
        ga.crs is not None and gb.crs is not None and not ga.crs.equals(gb.crs)
    ):
        problems.append("CRS")
    tol_x, tol_y = 1e-6 * abs(ga.dx), 1e-6 * abs(ga.dy)
    if abs(ga.dx - gb.dx) > tol_x or abs(ga.dy - gb.dy) > tol_y:
        problems.append("spacing")
    if abs(ga.x0 - gb.x0) > tol_x or abs(ga.y0 - gb.y0) > tol_y:
        problems.append("origin")
    if ga.shape != gb.shape:
        problems.append("shape")
    if problems:
        raise GridMismatchError(
            f"{labels[1]} is not on the map grid of {labels[0]} (different "
            f"{', '.join(problems)}): {labels[0]}: {ga.describe()}; {labels[1]}: "
            f"{gb.describe()}. A pair needs one grid, as the snapped CEOS-ARD grids of one burst "
            "are: pick products of the same burst grid, or resample one onto the other first "
            "(e.g. rioxarray's reproject_match)."
        )


# ----------------------------------------------------------------------------------------------
# small helpers
def with_crs(obj: _X, crs: Any) -> _X:
    """``obj.rio.write_crs(crs)`` (typed)."""
    return cast(_X, obj.rio.write_crs(crs))


def ard_specification(item_or_properties: pystac.Item | Mapping[str, Any]) -> str | None:
    """``"GSLC"``, ``"NRB"`` (or another CEOS-ARD family) from STAC properties, or None.

    Reads ``ceosard:specification`` (the CEOS-ARD STAC extension; ``ceosard:type`` is then
    ``radar``), and accepts ``ceosard:type``, ``product:type`` or ``sar:product_type`` naming the
    family directly; OPERA CSLC-S1 counts as GSLC.
    """
    props = item_or_properties.properties if isinstance(item_or_properties, pystac.Item) else item_or_properties
    for key in ("ceosard:specification", "ceosard:type", "product:type", "sar:product_type"):
        value = str(props.get(key) or "").upper()
        if value in (GSLC, NRB, "POL", "ORB"):
            return value
        if value.startswith("CSLC") and "STATIC" not in value:  # not the static layers
            return GSLC
    return None


def _text(value: Any) -> str:
    v = value[()] if hasattr(value, "shape") else value
    if isinstance(v, np.ndarray):
        v = v.ravel()[0]
    return v.decode() if isinstance(v, bytes) else str(v)


def _datetime64(text: str) -> np.datetime64:
    t = text.strip().replace(" ", "T").rstrip("Z")
    return np.datetime64(t, "ns")


def _local_path(href: str) -> str:
    return href[len("file://"):] if href.startswith("file://") else href


def _date_of(value: Any) -> np.datetime64:
    return np.datetime64(str(np.datetime64(value, "D")), "ns")


def nrb_to_complex(gamma0: xr.DataArray, flattened_phase: xr.DataArray) -> xr.DataArray:
    """``sqrt(gamma0) * exp(i * flattened_phase)`` (CEOS-ARD eq. 20) as complex64.

    ``gamma0`` is linear power (never dB); values <= 0 (noise-subtracted dark pixels) become 0+0j
    and NaN stays NaN: the estimator skips both. Both layers must be on the same grid.
    """
    if gamma0.dims != flattened_phase.dims or gamma0.shape != flattened_phase.shape:
        raise ValueError(
            f"gamma0 {gamma0.dims} {gamma0.shape} and flattened phase {flattened_phase.dims} "
            f"{flattened_phase.shape} differ: they must be the two layers of one NRB product"
        )
    if "x" in gamma0.dims and "y" in gamma0.dims:
        check_same_grid(gamma0, flattened_phase, ("gamma0", "flattened phase"))
    g = gamma0.astype(np.float64)
    amp = np.sqrt(g.where(~(g < 0), 0.0))
    phi = flattened_phase.astype(np.float64)
    z = cast(xr.DataArray, (amp * np.cos(phi) + 1j * (amp * np.sin(phi))).astype(np.complex64))
    z = z.assign_coords({k: v for k, v in gamma0.coords.items() if k not in z.coords})
    z.attrs = {"long_name": "sqrt(gamma0) * exp(i * flattened phase) (CEOS-ARD eq. 20)", "units": "1"}
    return z


def apply_data_mask(stack: xr.DataArray, data_mask: xr.DataArray) -> xr.DataArray:
    """Samples whose data mask is not 0 (valid) set to 0+0j, so the estimator's window sums skip
    them. ``data_mask`` is ``(y, x)`` (one mask for all dates) or ``(date, y, x)``."""
    if data_mask.dims[-2:] != ("y", "x") or stack.dims[-2:] != ("y", "x"):
        raise ValueError(
            f"the data mask {data_mask.dims} and the stack {stack.dims} must both end in ('y', 'x')"
        )
    check_same_grid(stack, data_mask, ("the stack", "the data mask"))
    if "date" in data_mask.dims and ("date" not in stack.dims or data_mask.sizes["date"] != stack.sizes["date"]):
        raise ValueError(
            f"the data mask has {data_mask.sizes['date']} dates but the stack "
            f"{stack.sizes.get('date', 0)}: give one mask per date, or one (y, x) mask for all"
        )
    # same grid checked: compare by position, not by (possibly rounded) coordinate labels
    valid = (data_mask == MASK_VALID).variable
    out = stack.where(valid, np.complex64(0))
    out = out.astype(np.complex64)
    out.attrs = dict(stack.attrs) | {"data_mask_applied": 1}
    return out


# ----------------------------------------------------------------------------------------------
# OPERA CSLC-S1
def opera_cslc_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Identification and grid of an OPERA CSLC-S1 HDF5 file (no pixels read).

    Keys: ``burst_id`` (canonical), ``date``, ``acquisition_time``, ``sensing_stop``,
    ``platform``, ``mission``, ``orbit_state``, ``relative_orbit``, ``absolute_orbit``,
    ``polarizations``, ``wavelength``, ``epsg``, ``x_spacing``, ``y_spacing``, ``shape``,
    ``x0``/``y0`` (upper-left corner), ``flattened`` (topographic flattening applied),
    ``product_version``.
    """
    import h5py

    with h5py.File(path, "r") as f:
        if "identification" not in f or "data" not in f:
            raise AssetError(f"{path} is not an OPERA CSLC-S1 file (no /identification, /data)")
        ident = f["identification"]
        data = f["data"]
        burst = parse_burst_id(_text(ident["burst_id"]))
        start = _datetime64(_text(ident["zero_doppler_start_time"]))
        mission = _text(ident["mission_id"]).upper()
        pols = sorted(k for k in data if k.upper() in ("VV", "VH", "HH", "HV"))
        if not pols:
            raise AssetError(f"{path} holds no polarization dataset under /data")
        params = "metadata/processing_information/parameters/"
        burst_meta = "metadata/processing_information/input_burst_metadata/"
        x = data["x_coordinates"]
        y = data["y_coordinates"]
        dx, dy = float(data["x_spacing"][()]), float(data["y_spacing"][()])
        wavelength = (
            float(f[burst_meta + "wavelength"][()])
            if burst_meta + "wavelength" in f
            else geometry.SENTINEL1_WAVELENGTH
        )
        flattened = (
            bool(f[params + "topographic_flattening_applied"][()])
            if params + "topographic_flattening_applied" in f
            else None
        )
        return {
            "burst_id": burst.canonical,
            "date": _date_of(start),
            "acquisition_time": start,
            "sensing_stop": _datetime64(_text(ident["zero_doppler_end_time"])),
            "mission": mission,
            "platform": f"sentinel-1{mission[-1].lower()}" if mission.startswith("S1") else mission,
            "orbit_state": _text(ident["orbit_pass_direction"]).lower(),
            "relative_orbit": int(ident["track_number"][()]),
            "absolute_orbit": int(ident["absolute_orbit_number"][()]),
            "polarizations": pols,
            "wavelength": wavelength,
            "epsg": int(data["projection"][()]),
            "x_spacing": dx,
            "y_spacing": dy,
            "shape": (int(y.shape[0]), int(x.shape[0])),
            "x0": float(x[0]) - dx / 2,
            "y0": float(y[0]) - dy / 2,
            "flattened": flattened,
            "product_type": _text(ident["product_type"]),
            "product_version": _text(ident["product_version"]),
        }


def open_opera_cslc(
    path: str | os.PathLike[str], polarization: str = "VV", *, chunks: Mapping[str, int] | None = None
) -> xr.DataArray:
    """One OPERA CSLC-S1 file as a lazy complex64 ``(y, x)`` DataArray with CRS and metadata."""
    import dask.array as dsa
    import h5py

    meta = opera_cslc_metadata(path)
    pol = polarization.upper()
    if pol not in meta["polarizations"]:
        raise AssetError(
            f"{path} has no {pol} samples; it holds {', '.join(meta['polarizations'])}"
        )
    f = h5py.File(path, "r")
    dset = f[f"data/{pol}"]
    # default: the file's own chunks, so a window decompresses only the chunks it touches
    own = dset.chunks or (1024, 2048)
    ch = {"y": own[0], "x": own[1], **(chunks or {})}
    arr = dsa.from_array(dset, chunks=(ch["y"], ch["x"]), lock=_H5_LOCK)  # type: ignore[no-untyped-call]
    out = xr.DataArray(
        arr.astype(np.complex64),
        dims=("y", "x"),
        coords={"y": f["data/y_coordinates"][()], "x": f["data/x_coordinates"][()]},
        name=f"gslc_{pol.lower()}",
    )
    out = out.rio.write_crs(meta["epsg"])
    out.attrs = {
        "ceosard_specification": GSLC,
        "burst_id": meta["burst_id"],
        "polarization": pol,
        "wavelength": meta["wavelength"],
        "relative_orbit": meta["relative_orbit"],
        "orbit_state": meta["orbit_state"],
        "platform": meta["platform"],
        "absolute_orbit": meta["absolute_orbit"],
        "acquisition_time": str(meta["acquisition_time"]),
        "flattened": -1 if meta["flattened"] is None else int(meta["flattened"]),
        "source": str(path),
    }
    return cast(xr.DataArray, out)


# ----------------------------------------------------------------------------------------------
# GeoTIFF / COG assets
def _open_raster(href: str, chunks: Mapping[str, int] | None) -> xr.DataArray:
    ch = {"y": 1024, "x": 2048, **(chunks or {})}
    da = rioxarray.open_rasterio(
        href, chunks={"band": 1, "y": ch["y"], "x": ch["x"]}, lock=False, mask_and_scale=False
    )
    if not isinstance(da, xr.DataArray):
        raise AssetError(f"{href} holds several subdatasets; point at one raster", url=href)
    if da.rio.crs is None:
        raise AssetError(
            f"{href} has no CRS: a GSLC/NRB layer is in map geometry (radar-geometry SLCs go "
            "through pairscope.io.rasters.open_slc_stack)",
            url=href,
        )
    return da


def _band_names(da: xr.DataArray) -> list[str]:
    names = da.attrs.get("long_name")
    if isinstance(names, str):
        names = (names,)
    if not names:
        return [""] * da.sizes["band"]
    return [str(n) for n in names]


def _complex_band(
    da: xr.DataArray, pol: str, href: str, band_names: Sequence[str | None] | None = None
) -> xr.DataArray:
    """The ``pol`` samples of a raster: one complex band, or i/q float bands named by band
    (names from the file, else ``band_names``, e.g. from the STAC asset)."""
    names = [n.lower() for n in _band_names(da)]
    if band_names and not any(names) and len(band_names) == len(names):
        names = [str(n or "").lower() for n in band_names]
    p = pol.lower()
    if np.issubdtype(da.dtype, np.complexfloating) or "complex" in str(da.dtype):
        index = names.index(p) if p in names else 0
        out = da.isel(band=index).astype(np.complex64)
    else:
        i_names, q_names = (f"i_{p}", f"{p}_i", f"{p}_real"), (f"q_{p}", f"{p}_q", f"{p}_imag")
        i = next((names.index(n) for n in i_names if n in names), None)
        q = next((names.index(n) for n in q_names if n in names), None)
        if i is None or q is None:
            raise AssetError(
                f"{href} holds {da.dtype} bands {names or '(unnamed)'}: neither a complex band nor "
                f"i/q bands for {pol} (i_{pol}, q_{pol})",
                url=href,
            )
        out = (da.isel(band=i) + 1j * da.isel(band=q)).astype(np.complex64)
    out = out.drop_vars("band", errors="ignore")
    return with_crs(out, da.rio.crs)


def _file_tags(href: str) -> dict[str, str]:
    with rasterio.open(href) as src:
        return {str(k).upper(): str(v) for k, v in src.tags().items()}


def _source_date(href: str, tags: Mapping[str, str]) -> np.datetime64 | None:
    for key in ("ACQUISITION_DATETIME", "ACQUISITION_DATE", "DATETIME", "TIFFTAG_DATETIME"):
        if key in tags:
            text = tags[key].replace(":", "-", 2) if key == "TIFFTAG_DATETIME" else tags[key]
            try:
                return _datetime64(text.replace(" ", "T"))
            except ValueError:
                continue
    m = _DATE_IN_NAME.search(pathlib.Path(href).name)
    if m:
        return np.datetime64(f"{m.group(1)}-{m.group(2)}-{m.group(3)}", "ns")
    return None


def _stack(
    layers: Sequence[xr.DataArray], times: Sequence[np.datetime64], labels: Sequence[str]
) -> xr.DataArray:
    order = np.argsort(np.array(times, dtype="datetime64[ns]"), kind="stable")
    layers = [layers[i] for i in order]
    times = [times[i] for i in order]
    labels = [labels[i] for i in order]
    days = [_date_of(t) for t in times]
    if len(set(days)) != len(days):
        dup = sorted({str(d)[:10] for d in days if days.count(d) > 1})
        raise ValueError(f"several products on {', '.join(dup)}: a stack holds one per date")
    for layer, label in zip(layers[1:], labels[1:], strict=True):
        check_same_grid(layers[0], layer, (labels[0], label))
    crs = layers[0].rio.crs
    stack = xr.concat(
        [la.drop_vars("spatial_ref", errors="ignore") for la in layers], dim="date",
        coords="minimal", compat="override", join="override", combine_attrs="drop_conflicts",
    )
    stack = stack.assign_coords(
        date=("date", np.array(days, dtype="datetime64[ns]")),
        acquisition_time=("date", np.array(times, dtype="datetime64[ns]")),
        source=("date", list(labels)),
    )
    return with_crs(stack, crs)


def open_gslc(
    sources: Sequence[str | os.PathLike[str]],
    dates: Sequence[Any] | None = None,
    polarization: str = "VV",
    *,
    chunks: Mapping[str, int] | None = None,
) -> xr.DataArray:
    """A GSLC stack ``("date", "y", "x")`` complex64 (lazy, with CRS) from one file per date.

    Files: GeoTIFF/COG with one complex band (or i/q bands ``i_VV``, ``q_VV``) in map geometry,
    or OPERA CSLC-S1 HDF5. Dates: ``dates`` if given, else the file's own metadata (OPERA
    identification, GeoTIFF tag ``ACQUISITION_DATETIME``), else a ``YYYYMMDD`` in the file name.
    All files must share one map grid (:class:`GridMismatchError` otherwise).
    """
    if not sources:
        raise ValueError("open_gslc needs at least one file")
    if dates is not None and len(dates) != len(sources):
        raise ValueError(f"{len(sources)} files but {len(dates)} dates")
    pol = polarization.upper()
    layers, times, labels = [], [], []
    attrs: dict[str, Any] = {"ceosard_specification": GSLC, "polarization": pol}
    for k, src in enumerate(sources):
        href = _local_path(str(src))
        if href.lower().endswith((".h5", ".hdf5", ".he5")):
            layer = open_opera_cslc(href, pol, chunks=chunks)
            when: np.datetime64 | None = np.datetime64(layer.attrs["acquisition_time"], "ns")
            for key in ("burst_id", "wavelength", "relative_orbit", "orbit_state"):
                attrs.setdefault(key, layer.attrs[key])
        else:
            tags = _file_tags(href)
            layer = _complex_band(_open_raster(href, chunks), pol, href)
            when = _source_date(href, tags)
            if "BURST_ID" in tags:
                attrs.setdefault("burst_id", tags["BURST_ID"])
        if dates is not None:
            when = np.datetime64(dates[k], "ns")
        if when is None:
            raise ValueError(f"no acquisition date for {href}: pass dates=[...]")
        layers.append(layer)
        times.append(when)
        labels.append(str(src))
    stack = _stack(layers, times, labels)
    stack.attrs = attrs | {"wavelength": attrs.get("wavelength", geometry.SENTINEL1_WAVELENGTH)}
    stack.name = f"gslc_{pol.lower()}"
    return stack


def open_nrb(
    gamma0: Sequence[str | os.PathLike[str]],
    flattened_phase: Sequence[str | os.PathLike[str]],
    dates: Sequence[Any] | None = None,
    *,
    chunks: Mapping[str, int] | None = None,
) -> xr.DataArray:
    """An NRB stack ``("date", "y", "x")`` complex64 from per-date gamma0 (linear power) and
    flattened-phase (rad) rasters, combined as ``sqrt(gamma0) * exp(i * phase)`` (eq. 20)."""
    if len(gamma0) != len(flattened_phase) or not gamma0:
        raise ValueError(
            f"{len(gamma0)} gamma0 files and {len(flattened_phase)} flattened-phase files: give one "
            "of each per date"
        )
    layers, times, labels = [], [], []
    for k, (g_src, p_src) in enumerate(zip(gamma0, flattened_phase, strict=True)):
        g_href, p_href = _local_path(str(g_src)), _local_path(str(p_src))
        g = _open_raster(g_href, chunks).isel(band=0, drop=True)
        p = _open_raster(p_href, chunks).isel(band=0, drop=True)
        check_same_grid(g, p, (g_href, p_href))
        when = np.datetime64(dates[k], "ns") if dates is not None else _source_date(g_href, _file_tags(g_href))
        if when is None:
            raise ValueError(f"no acquisition date for {g_href}: pass dates=[...]")
        layers.append(nrb_to_complex(g, p).rio.write_crs(g.rio.crs))
        times.append(when)
        labels.append(str(g_src))
    stack = _stack(layers, times, labels)
    stack.attrs = {"ceosard_specification": NRB, "wavelength": geometry.SENTINEL1_WAVELENGTH}
    stack.name = "nrb_complex"
    return stack


# ----------------------------------------------------------------------------------------------
# STAC
def _asset_for(item: pystac.Item, names: Sequence[str]) -> tuple[str, pystac.Asset] | None:
    wanted = [n.lower() for n in names]
    for key, asset in item.assets.items():
        if key.lower() in wanted:
            return key, asset
    for key, asset in item.assets.items():
        if any(r.lower() in wanted for r in (asset.roles or [])):
            return key, asset
    return None


def _pol_asset(item: pystac.Item, kind: str, pol: str) -> tuple[str, pystac.Asset] | None:
    p = pol.lower()
    if kind == "gamma0":
        names = [f"gamma0_{p}", f"gamma0-{p}", f"{p}-g-lin", f"{p}_gamma0", f"{p}-gamma0"]
    elif kind == "phase":
        names = [f"flattened_phase_{p}", f"flattened-phase-{p}", f"{p}-fph", f"{p}_flattened_phase"]
    else:
        names = [p, f"gslc_{p}", f"gslc-{p}", f"cslc_{p}"]
    return _asset_for(item, names)


def _item_stack_layer(item: pystac.Item, spec: str, pol: str, chunks: Mapping[str, int] | None) -> xr.DataArray:
    if spec == NRB:
        g, p = _pol_asset(item, "gamma0", pol), _pol_asset(item, "phase", pol)
        if g is None or p is None:
            raise AssetError(
                f"NRB item {item.id!r} lacks the gamma0 and/or flattened-phase asset for {pol} "
                f"(assets: {', '.join(item.assets)}); interferometry from NRB needs both (eq. 20)"
            )
        ga = _open_raster(asset_href(g[1]), chunks).isel(band=0, drop=True)
        pa = _open_raster(asset_href(p[1]), chunks).isel(band=0, drop=True)
        check_same_grid(ga, pa, (f"{item.id} {g[0]}", f"{item.id} {p[0]}"))
        return with_crs(nrb_to_complex(ga, pa), ga.rio.crs)
    found = _pol_asset(item, "gslc", pol)
    low = pol.lower()
    for key, asset in item.assets.items():  # i/q bands named in the asset, or an HDF5 product
        if found is not None:
            break
        names = [str(n or "").lower() for n in asset_band_names(item, key)]
        if (f"i_{low}" in names and f"q_{low}" in names) or asset_href(asset).lower().endswith((".h5", ".hdf5")):
            found = (key, asset)
    if found is None:
        raise AssetError(
            f"GSLC item {item.id!r} has no {pol} asset (assets: {', '.join(item.assets)})"
        )
    href = _local_path(asset_href(found[1]))
    if href.lower().endswith((".h5", ".hdf5", ".he5")):
        return open_opera_cslc(href, pol, chunks=chunks)
    return _complex_band(_open_raster(href, chunks), pol, href, asset_band_names(item, found[0]))


def _ard_items(
    catalog: StacCatalog | str | os.PathLike[str], burst_id: str, collection: str | None
) -> tuple[StacCatalog, list[pystac.Item], str]:
    cat = as_catalog(catalog)
    burst = parse_burst_id(burst_id)
    found = cat.search_items(collections=[collection] if collection else None, burst=burst)
    items = [it for it in found if ard_specification(it) in (GSLC, NRB)]
    if not items:
        where = f" collection {collection}" if collection else ""
        raise AssetError(
            f"no CEOS-ARD GSLC or NRB item of burst {burst.canonical} in {cat.url}{where}"
        )
    specs = {ard_specification(it) for it in items}
    colls = {it.collection_id for it in items}
    if len(specs) > 1 or len(colls) > 1:
        raise ValueError(
            f"burst {burst.canonical} has CEOS-ARD items of several kinds/collections "
            f"({', '.join(sorted(str(c) for c in colls))}): pass collection=... to choose one"
        )
    return cat, items, str(specs.pop())


def _item_time(item: pystac.Item) -> np.datetime64:
    d = item.datetime or item.common_metadata.start_datetime
    if d is None:
        raise AssetError(f"item {item.id!r} has no datetime")
    if d.tzinfo is not None:
        d = d.astimezone(_dt.UTC).replace(tzinfo=None)
    return np.datetime64(d, "ns")


def open_ard_stack(
    catalog: StacCatalog | str | os.PathLike[str],
    burst_id: str,
    dates: Sequence[Any] | None = None,
    polarization: str = "VV",
    *,
    collection: str | None = None,
    apply_mask: bool = True,
    chunks: Mapping[str, int] | None = None,
) -> xr.DataArray:
    """The GSLC or NRB stack of a burst from a STAC catalog: ``("date", "y", "x")`` complex64.

    ``collection`` picks one collection when the catalog holds several CEOS-ARD kinds for the
    burst. With ``apply_mask`` each date's data mask (when its item has one) sets invalid pixels
    to 0+0j. Raises :class:`GridMismatchError` when the dates are not on one map grid.
    """
    pol = polarization.upper()
    _, items, spec = _ard_items(catalog, burst_id, collection)
    by_day = {_date_of(_item_time(it)): it for it in items}
    if dates is not None:
        wanted = [_date_of(d) for d in dates]
        missing = [str(d)[:10] for d in wanted if d not in by_day]
        if missing:
            have = ", ".join(str(d)[:10] for d in sorted(by_day))
            raise ValueError(f"no {spec} product on {', '.join(missing)}; dates: {have}")
        chosen = [by_day[d] for d in sorted(set(wanted))]
    else:
        chosen = [by_day[d] for d in sorted(by_day)]
    layers = []
    for it in chosen:
        layer = _item_stack_layer(it, spec, pol, chunks)
        if apply_mask:
            mask = _item_layer(it, PER_PIXEL_LAYERS[0], chunks)
            if mask is not None:
                layer = apply_data_mask(layer, mask["data_mask"])
        layers.append(layer)
    stack = _stack(layers, [_item_time(it) for it in chosen], [it.id for it in chosen])
    stack = stack.assign_coords(
        item_id=("date", [it.id for it in chosen]),
        platform=("date", [str(it.properties.get("platform") or "") for it in chosen]),
    )
    first = chosen[0]
    props = first.properties
    burst = item_burst_id(first)
    freq = props.get("sar:center_frequency")
    stack.attrs = {
        "ceosard_specification": spec,
        "burst_id": burst.canonical if burst is not None else str(burst_id),
        "polarization": pol,
        "wavelength": geometry.SPEED_OF_LIGHT / (float(freq) * 1e9) if freq else geometry.SENTINEL1_WAVELENGTH,
        "relative_orbit": int(props.get("sat:relative_orbit") or -1),
        "orbit_state": str(props.get("sat:orbit_state") or ""),
        "collection": str(first.collection_id or ""),
        "data_mask_applied": int(apply_mask),
    }
    stack.name = f"{spec.lower()}_{pol.lower()}"
    return stack


def _item_layer(
    item: pystac.Item, layer: PerPixelLayer, chunks: Mapping[str, int] | None
) -> xr.Dataset | None:
    found = _asset_for(item, (layer.asset, *layer.aliases))
    if found is None:
        return None
    key, asset = found
    da = _open_raster(_local_path(asset_href(asset)), chunks)
    if da.sizes["band"] != len(layer.variables):
        raise AssetError(
            f"asset {key!r} of {item.id!r} ({layer.title}) has {da.sizes['band']} band(s); "
            f"expected {len(layer.variables)} ({', '.join(layer.variables)})"
        )
    out = xr.Dataset()
    for b, name in enumerate(layer.variables):
        v = da.isel(band=b, drop=True)
        v.attrs = {"long_name": layer.title, "units": layer.units, "ceosard_identifier": layer.identifier}
        out[name] = v
    return with_crs(out, da.rio.crs)


def look_vector_grid(
    orbit: geometry.Orbit,
    like: xr.DataArray | xr.Dataset,
    height: xr.DataArray | float = 0.0,
) -> xr.Dataset:
    """ECEF unit look vectors (antenna to target) at the pixel centres of a map grid.

    ``like`` gives the grid (``x``/``y`` coords and CRS), ``height`` the ellipsoidal height (m)
    per pixel (a per-pixel DEM layer) or one value. Computed with
    :func:`pairscope.geometry.look_geometry` (zero-Doppler); also returns its ``slant_range``
    and ``incidence_angle``.
    """
    crs = like.rio.crs
    if crs is None:
        raise ValueError("the grid has no CRS: set it with rio.write_crs()")
    xx, yy = np.meshgrid(np.asarray(like["x"].values), np.asarray(like["y"].values))
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(xx, yy)
    h = np.broadcast_to(
        np.asarray(height.values if isinstance(height, xr.DataArray) else height, dtype=np.float64),
        lat.shape,
    )
    h = np.where(np.isfinite(h), h, 0.0)
    dims = ("y", "x")
    coords = {"y": like["y"].values, "x": like["x"].values}
    geo = geometry.look_geometry(
        orbit, xr.DataArray(lat, dims=dims, coords=coords), xr.DataArray(lon, dims=dims, coords=coords),
        xr.DataArray(h, dims=dims, coords=coords),
    )
    out = geo[["look_x", "look_y", "look_z", "slant_range", "incidence_angle"]]
    out = out.assign_coords(latitude=(dims, lat), longitude=(dims, lon))
    out.attrs["look_vector_source"] = "computed from the orbit (pairscope.geometry.look_geometry)"
    return with_crs(out, crs)


def look_vector_difference(layers: xr.Dataset, orbit: geometry.Orbit) -> xr.Dataset:
    """Product look vectors minus those computed from ``orbit`` (QA), and the angle between them.

    ``layers`` holds ``look_x/y/z`` (and ``height`` if the product has a DEM layer). Returns
    ``look_x/y/z_difference`` (unitless) and ``look_angle_difference`` (rad).
    """
    missing = [v for v in ("look_x", "look_y", "look_z") if v not in layers]
    if missing:
        raise ValueError(f"the layers have no look vector grid ({', '.join(missing)} missing)")
    height = layers["height"] if "height" in layers else 0.0
    computed = look_vector_grid(orbit, layers["look_x"], height)
    out = xr.Dataset()
    diff2: Any = 0.0
    for c in "xyz":
        d = layers[f"look_{c}"].astype(np.float64) - computed[f"look_{c}"].values
        d.attrs = {"long_name": f"product minus computed look_{c}", "units": "1"}
        out[f"look_{c}_difference"] = d
        diff2 = diff2 + d * d
    angle = 2.0 * np.arcsin(np.clip(np.sqrt(diff2) / 2.0, 0.0, 1.0))
    angle.attrs = {"long_name": "angle between product and computed look vectors", "units": "rad"}
    out["look_angle_difference"] = angle
    return with_crs(out, layers.rio.crs)


def open_ard_layers(
    catalog: StacCatalog | str | os.PathLike[str],
    burst_id: str,
    date: Any = None,
    *,
    collection: str | None = None,
    compute_look_vectors: bool = True,
    chunks: Mapping[str, int] | None = None,
) -> xr.Dataset:
    """The per-pixel metadata layers of one GSLC/NRB product (see the module's table).

    ``date``: the product's date; default the geometry reference date the items declare
    (``pairscope:geometry_reference_date``), else the first date. When the product lacks a look
    vector grid but its orbit asset is readable (and ``compute_look_vectors``), ``look_x/y/z``
    are computed from the orbit at the DEM layer's heights (attr ``look_vector_source``); when it
    has both, the QA differences of :func:`look_vector_difference` are added.
    """
    _, items, spec = _ard_items(catalog, burst_id, collection)
    by_day = {_date_of(_item_time(it)): it for it in items}
    if date is None:
        ref = items[0].properties.get("pairscope:geometry_reference_date")
        day = _date_of(ref) if ref else min(by_day)
    else:
        day = _date_of(date)
    if day not in by_day:
        raise ValueError(f"no {spec} product on {str(day)[:10]}")
    item = by_day[day]
    parts = [p for p in (_item_layer(item, la, chunks) for la in PER_PIXEL_LAYERS) if p is not None]
    if not parts:
        raise AssetError(f"{spec} item {item.id!r} has no per-pixel metadata layer")
    for p in parts[1:]:
        first_var = next(iter(parts[0].data_vars))
        var = next(iter(p.data_vars))
        check_same_grid(parts[0][first_var], p[var], (str(first_var), str(var)))
    crs = parts[0].rio.crs
    layers = xr.merge([p.drop_vars("spatial_ref", errors="ignore") for p in parts], join="override")
    layers = layers.rio.write_crs(crs)
    layers.attrs = {"item_id": item.id, "date": str(day)[:10], "ceosard_specification": spec}
    orbit = None
    acq = acquisition_from_item(item, item_burst_id(item))
    if acq is not None and acq.orbit is not None and compute_look_vectors:
        with contextlib.suppress(AssetError):
            orbit = open_orbit(acq)
    if orbit is not None:
        if "look_x" in layers:
            layers = layers.merge(look_vector_difference(layers, orbit).drop_vars("spatial_ref", errors="ignore"))
            layers.attrs["look_vector_source"] = "product"
        else:
            like = layers[next(iter(layers.data_vars))]
            computed = look_vector_grid(orbit, like, layers["height"] if "height" in layers else 0.0)
            for c in "xyz":
                layers[f"look_{c}"] = computed[f"look_{c}"].astype(np.float32)
            layers.attrs["look_vector_source"] = computed.attrs["look_vector_source"] + (
                "" if "height" in layers else " at ellipsoid height 0 (no DEM layer)"
            )
    elif "look_x" in layers:
        layers.attrs["look_vector_source"] = "product"
    return cast(xr.Dataset, with_crs(layers, crs))



# ----------------------------------------------------------------------------------------------
# the three representations of one pair (the Learn view)
def list_ard_collections(catalog: StacCatalog | str | os.PathLike[str]) -> dict[str, str]:
    """Collection id -> CEOS-ARD family (``"GSLC"``, ``"NRB"``) of the catalog's CEOS-ARD
    collections, from their summaries (``ceosard:specification`` etc.)."""
    out = {}
    for coll in as_catalog(catalog).collections():
        summaries = coll.summaries.to_dict() if coll.summaries is not None else {}
        flat = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in summaries.items()}
        spec = ard_specification(flat | dict(coll.extra_fields))
        if spec is not None:
            out[coll.id] = spec
    return out


def equivalent_map_window(
    radar_window: Sequence[int],
    latitude: npt.ArrayLike,
    longitude: npt.ArrayLike,
    crs: Any,
    spacing: tuple[float, float],
) -> tuple[int, int]:
    """The odd ``(y, x)`` window of map pixels of ``spacing`` (dy, dx; m) covering the ground of a
    radar ``(azimuth, range)`` window, from the radar grid's geolocation (median sample spacing
    on the ground, in ``crs``). The window is not rotated with the track: it covers the same
    area, not the same samples."""
    lat = np.asarray(latitude, dtype=np.float64)
    lon = np.asarray(longitude, dtype=np.float64)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    az = float(np.nanmedian(np.hypot(np.diff(x, axis=0), np.diff(y, axis=0))))
    rg = float(np.nanmedian(np.hypot(np.diff(x, axis=1), np.diff(y, axis=1))))

    def odd(v: float) -> int:
        return max(1, 2 * int(round((v - 1.0) / 2.0)) + 1)

    return odd(radar_window[0] * az / abs(spacing[0])), odd(radar_window[1] * rg / abs(spacing[1]))




