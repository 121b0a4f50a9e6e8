"""Reproducible export of pair results: Cloud-Optimized GeoTIFFs + STAC items, PNG maps, pair tables,
and the output folder as a static STAC catalog.

One pair of a results Dataset (``pairscope.coherence.estimate_pairs``, radar or map geometry) becomes
one directory with one COG per layer (coherence, phase, valid sample count and, when given, the
look-vector / incidence layers) and a STAC item that says everything needed to redraw and redo it:

- ``proj:*`` (code, shape, transform, bbox) when the result is geocoded; radar-geometry results
  (no CRS) get ``proj:code: null``, ``pairscope:geometry: "radar"`` and a ``geolocation`` asset with
  the per-pixel latitude / longitude grid (bands ``grid_lat``, ``grid_lon``, the openEO names);
- georeferencing GIS tools understand in radar geometry (``georeference=``): ground control points
  taken from the lat/lon grid in every layer (``"gcps"``, the default; up to `MAX_GCPS` spread
  evenly on the ground: QGIS, gdalwarp, rasterio and titiler place the file; with terrain use the
  thin-plate spline, ``gdalwarp -tps`` / ``SRC_METHOD=GCP_TPS``, within ~1 m of the grid on the
  demo, where GDAL's default polynomial is off by up to ~100 m and rio-tiler's affine fit by
  ~60-140 m), or GDAL geolocation arrays (``"geolocation"``: a ``<layer>.tif.aux.xml`` beside each
  layer names the geolocation asset by a relative path; ``gdalwarp -geoloc`` places every pixel
  exactly; rasterio still warns ``NotGeoreferencedWarning`` on open and titiler cannot use it);
- ``raster:bands`` with data type, unit, nodata, scale/offset and statistics of the stored values
  (nodata excluded);
- ``renders`` for every layer, taken from ``pairscope.render.DEFAULT_RENDERS`` with ``rescale`` in
  stored values, so a tile server (titiler) draws the files exactly as the app does;
- the ``sar:*`` / ``sat:*`` / ``s1:*`` fields shared by the input items, the window as
  ``sar:looks_azimuth`` / ``sar:looks_range``;
- processing parameters: ``processing:software``, ``processing:lineage`` and ``pairscope:*``
  (estimator, window, bias correction, encoding, input item ids and dates, baselines, mean
  coherence, valid pixels);
- ``start_datetime`` / ``end_datetime``: the pair's reference and secondary dates;
- ``derived_from`` links to the input items: relative paths for local inputs, URLs without
  credentials or secret query parameters for remote ones.

Encodings (``encoding=``): ``"compact"`` (the default, a product encoding as published coherence
products use: coherence uint8 with ``raster:scale`` 1/250 and nodata 255 as the Terrascope
collection, phase int16 in steps of pi/32767 rad with nodata -32768, valid sample count in the
smallest unsigned type with its maximum as nodata, look vectors int16 in steps of 1/32767,
incidence uint16 in steps of 0.002 deg) or ``"float32"`` (float32 layers with NaN nodata, the
count int32 with nodata -1). Scale, offset and nodata are in the GeoTIFF and in ``raster:bands``,
so ``rioxarray.open_rasterio(..., mask_and_scale=True)`` gives physical values with NaN where empty.

COGs: ZSTD level 1 with the GeoTIFF predictor (2 for integers, 3 for floats), chosen by measuring
against DEFLATE and LERC_ZSTD on a 600 x 3000 pair; overviews are built once from the stored values
in memory and copied (``OVERVIEWS=FORCE_USE_EXISTING``), the geolocation grid has none.

`write_output_catalog` turns an output folder into a static STAC catalog: ``catalog.json`` at its
root, one ``collection.json`` per burst folder (extent, summaries, ``item_assets``, ``renders``),
items linked to it, every link relative so the folder can be moved or served as it is.

Every file is written to a temporary name in the target directory and renamed into place
(``os.replace``, atomic on POSIX), the item JSON last: an item that exists is complete, and a
process killed mid-write leaves at most a stray ``.tmp`` file, never a truncated product.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import json
import math
import os
import pathlib
import re
import socket
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import numpy as np
import pystac
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.control import GroundControlPoint
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from pairscope._version import __version__
from pairscope.errors import SchemaNotFoundError

__all__ = [
    "COG_COMPRESS",
    "OUTPUT_TITLE",
    "ENCODINGS",
    "EXTENSIONS",
    "GEOREFERENCES",
    "LAYERS",
    "GeolocationCache",
    "Packing",
    "export_geometry",
    "export_pair",
    "export_pairs",
    "export_png",
    "gcp_grid",
    "is_complete",
    "link_item",
    "pair_item_id",
    "pairs_table",
    "pairs_table_from_items",
    "portable_href",
    "remove_stale_temporaries",
    "temporary_suffix",
    "SchemaNotFoundError",
    "validate_item",
    "write_cog",
    "write_geolocation",
    "write_output_catalog",
    "write_pairs_csv",
]

#: Extension schema URIs written into ``stac_extensions`` (the versions whose schemas we validate
#: against where a local copy exists: render 2.0.0, sar 1.3.0, sat 1.2.0).
EXTENSIONS: dict[str, str] = {
    "projection": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "raster": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "render": "https://stac-extensions.github.io/render/v2.0.0/schema.json",
    "sar": "https://stac-extensions.github.io/sar/v1.3.0/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.2.0/schema.json",
    "processing": "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
}


#: Layer encodings: ``"compact"`` (scaled integers, the default) or ``"float32"``.
Encoding = Literal["compact", "float32"]
ENCODINGS: tuple[str, ...] = ("compact", "float32")
#: How radar-geometry files are georeferenced: ground control points, GDAL geolocation arrays
#: (an ``.aux.xml`` beside each layer), or not at all.
Georeference = Literal["gcps", "geolocation"] | None
GEOREFERENCES: tuple[str | None, ...] = ("gcps", "geolocation", None)

#: COG codec (measured on a 600 x 3000 pair, see the module docstring) and its level.
COG_COMPRESS = "ZSTD"
COG_LEVEL = 1
_BLOCK = 256
#: Most ground control points per radar-geometry file (a grid spread evenly on the ground).
MAX_GCPS = 512


@dataclasses.dataclass(frozen=True)
class Packing:
    """A layer in the compact encoding: ``physical = stored * scale + offset``; ``nodata`` (the
    dtype's maximum for unsigned, minimum for signed types) marks empty cells."""

    dtype: str
    scale: float
    offset: float
    nodata: int

    def encode(self, values: np.ndarray, empty: np.ndarray | None = None) -> np.ndarray:
        """Stored values: rounded to the nearest step, clipped to the dtype (nodata excluded);
        non-finite values and ``empty`` cells become ``nodata``."""
        from pairscope.io._encode import encode_scaled

        info = np.iinfo(self.dtype)
        lo, hi = (info.min + 1, info.max) if self.nodata == info.min else (info.min, info.max - 1)
        # one pass: clip(rint((float64(values) - offset) / scale), lo, hi), nodata where bad
        return encode_scaled(np.asarray(values), self.dtype, self.offset, self.scale, lo, hi,
                             self.nodata, None if empty is None else np.asarray(empty, dtype=bool))

    def encode_with_statistics(
        self, values: np.ndarray, empty: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, float | int]]:
        """`encode` and the statistics of the stored values (nodata left out, as `_statistics`
        gives them) in one pass: `pairscope.io._encode.encode_with_statistics`."""
        from pairscope.io._encode import encode_with_statistics

        info = np.iinfo(self.dtype)
        lo, hi = (info.min + 1, info.max) if self.nodata == info.min else (info.min, info.max - 1)
        return encode_with_statistics(np.asarray(values), self.dtype, self.offset, self.scale, lo,
                                      hi, self.nodata,
                                      None if empty is None else np.asarray(empty, dtype=bool))

    def to_stored(self, value: float) -> float:
        """A physical value (e.g. a render's rescale limit) in stored units."""
        return float(f"{(value - self.offset) / self.scale:.10g}")


def _count_packing(maximum: int) -> Packing:
    """The smallest unsigned type holding counts up to ``maximum`` (its largest value: nodata)."""
    for dtype in ("uint8", "uint16", "uint32"):
        top = int(np.iinfo(dtype).max)
        if maximum < top:
            return Packing(dtype, 1.0, 0.0, top)
    return Packing("uint64", 1.0, 0.0, int(np.iinfo("uint64").max))


class _Layer:
    """How one result variable is written: asset key, render key, unit, overview resampling, and
    its compact packing."""

    def __init__(
        self, asset: str, render: str, unit: str, title: str, resampling: str,
        dtype: str = "float32", packing: Packing | None = None,
    ) -> None:
        self.asset = asset
        self.render = render
        self.unit = unit
        self.title = title
        # wrapped phase is never averaged as a real number: nearest overviews
        self.resampling = resampling
        self.dtype = dtype
        self.packing = packing


_UNIT_VECTOR = Packing("int16", 1.0 / 32767, 0.0, -32768)

#: Result / geometry variable name -> how it is exported.
LAYERS: dict[str, _Layer] = {
    # as the Terrascope coherence product: uint8, scale 0.004, nodata 255
    "coherence": _Layer("coherence", "coherence", "1", "Coherence magnitude", "AVERAGE",
                        packing=Packing("uint8", 0.004, 0.0, 255)),
    "phase": _Layer("phase", "phase", "rad", "Differential phase (wrapped)", "NEAREST",
                    packing=Packing("int16", math.pi / 32767, 0.0, -32768)),
    # packed in the smallest unsigned type that holds the window's sample count
    "valid_count": _Layer(
        "valid_count", "valid_count", "1", "Valid samples in the window", "NEAREST", "int32"
    ),
    "look_x": _Layer("look_x", "look_x", "1", "Look vector x (ECEF, antenna to target)", "AVERAGE",
                     packing=_UNIT_VECTOR),
    "look_y": _Layer("look_y", "look_y", "1", "Look vector y (ECEF, antenna to target)", "AVERAGE",
                     packing=_UNIT_VECTOR),
    "look_z": _Layer("look_z", "look_z", "1", "Look vector z (ECEF, antenna to target)", "AVERAGE",
                     packing=_UNIT_VECTOR),
    "los_east": _Layer("los_east", "los_east", "1", "LOS east (target to sensor)", "AVERAGE",
                       packing=_UNIT_VECTOR),
    "los_north": _Layer("los_north", "los_north", "1", "LOS north (target to sensor)", "AVERAGE",
                        packing=_UNIT_VECTOR),
    "los_up": _Layer("los_up", "los_up", "1", "LOS up (target to sensor)", "AVERAGE",
                     packing=_UNIT_VECTOR),
    "incidence_angle": _Layer(
        "incidence", "incidence", "deg", "Incidence angle (ellipsoid normal)", "AVERAGE",
        packing=Packing("uint16", 0.002, 0.0, 65535),
    ),
}

#: nodata of the int32 count in the float32 encoding (counts are never negative).
_COUNT_NODATA_INT32 = -1

_PAIR_VARIABLES = ("coherence", "phase", "valid_count")
_GEOMETRY_VARIABLES = (
    "look_x", "look_y", "look_z", "los_east", "los_north", "los_up", "incidence_angle",
)
_RADAR_DIMS = ("azimuth", "range")
_MAP_DIMS = ("y", "x")
# input item fields copied when all inputs agree
_SHARED_FIELDS = (
    "constellation", "instruments",
    "sar:instrument_mode", "sar:frequency_band", "sar:center_frequency",
    "sar:observation_direction",
    "sat:relative_orbit", "sat:orbit_state",
    "s1:burst_id", "s1:subswath", "s1:asf_burst_id", "s1:opera_burst_id", "pairscope:burst_id",
)

#: Hook called around atomic commits: ``hook(stage, path)`` with stage ``"written"`` (temporary
#: file complete, not yet renamed) or ``"committed"``. Used by the scale-out tests to kill a worker
#: at the worst moment; ``None`` in normal use.
StageHook = Callable[[str, pathlib.Path], None]


# ---------------------------------------------------------------------------------------------
# atomic files


_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
#: A temporary's name, or the name of a GDAL sidecar of one (a PAM ``.aux.xml`` written beside it,
#: an external ``.ovr`` or ``.msk``).
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp"
                   r"(\.aux\.xml|\.ovr|\.msk)?$")  # fmt: skip


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[pathlib.Path]:
    """Delete the temporary files that writers killed mid-write left under ``directory``.

    Only temporaries written on this host by a process that no longer exists are removed (the
    name carries host and pid), so a concurrent writer is never disturbed; with them the sidecars
    GDAL wrote beside them (``.aux.xml``, ``.ovr``, ``.msk``). Returns what was removed.
    """
    removed = []
    for path in pathlib.Path(directory).rglob(".*.tmp*"):  # with GDAL's sidecars of temporaries
        match = _TEMP.match(path.name)
        if match is None or match["host"] != _HOST or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _atomic_path(path: pathlib.Path, hook: StageHook | None = None) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        if hook is not None:
            hook("written", tmp)
        os.replace(tmp, path)
        if hook is not None:
            hook("committed", path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_json(data: Mapping[str, Any], path: pathlib.Path, hook: StageHook | None = None) -> None:
    with _atomic_path(path, hook) as tmp:
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# COG


def _statistics(band: np.ndarray, nodata: float | None = None) -> dict[str, float]:
    """Statistics of the stored values of one band; NaN and ``nodata`` cells are left out
    (one pass: `pairscope.io._encode.band_statistics`)."""
    from pairscope.io._encode import band_statistics

    return band_statistics(band, nodata)


def _number(value: Any) -> float | int:
    """A numpy scalar as a JSON number (integers stay integers)."""
    return int(value) if np.issubdtype(np.asarray(value).dtype, np.integer) else float(value)


def _overview_factors(height: int, width: int, block: int = _BLOCK) -> list[int]:
    """The COG driver's overview levels: halve until the image fits in one block."""
    factors: list[int] = []
    factor = 1
    while math.ceil(width / factor) > block or math.ceil(height / factor) > block:
        factor *= 2
        factors.append(factor)
    return factors


def _geolocation_aux(geolocation: Mapping[str, str]) -> str:
    """A GDAL PAM sidecar (``<file>.aux.xml``) holding a GEOLOCATION metadata domain."""
    from xml.sax.saxutils import escape, quoteattr

    items = "\n".join(
        f"    <MDI key={quoteattr(str(k))}>{escape(str(v))}</MDI>" for k, v in geolocation.items()
    )
    return f'<PAMDataset>\n  <Metadata domain="GEOLOCATION">\n{items}\n  </Metadata>\n</PAMDataset>\n'


def write_cog(
    data: np.ndarray,
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    transform: Any = None,
    band_names: Sequence[str] | None = None,
    units: Sequence[str] | str | None = None,
    nodata: float | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
    resampling: str = "AVERAGE",
    level: int = COG_LEVEL,
    tags: Mapping[str, str] | None = None,
    hook: StageHook | None = None,
    compress: str = COG_COMPRESS,
    overviews: bool = True,
    gcps: Sequence[GroundControlPoint] | None = None,
    gcps_crs: Any = "EPSG:4326",
    geolocation: Mapping[str, str] | None = None,
    statistics: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Write a 2-D or (band, row, col) array as a Cloud-Optimized GeoTIFF, atomically.

    ``crs``/``transform`` None writes a radar-geometry file: with ``gcps`` (ground control points
    in ``gcps_crs``) GIS tools can warp it; with ``geolocation`` (GDAL GEOLOCATION metadata, e.g.
    from `_geolocation_metadata`) a ``<file>.aux.xml`` sidecar is written beside it; with neither
    it is a bare pixel grid. Overviews (unless ``overviews=False``) are built once, in memory,
    from the stored values with ``resampling`` (``"NEAREST"`` for wrapped phase and counts; nodata
    is left out of averages). ``compress`` at ``level`` with the predictor (ZSTD 1 by default).
    Returns the STAC ``raster:bands`` entries (data type, nodata, unit, scale, offset, statistics
    of the stored values without nodata; ``statistics``, one per band, when the caller already has
    them, e.g. from `Packing.encode_with_statistics`).
    """
    array = np.asarray(data)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"write_cog needs a non-empty 2-D or (band, row, col) array, got shape {data.shape}")
    count, height, width = array.shape
    names = list(band_names) if band_names is not None else [f"band{i + 1}" for i in range(count)]
    unit_list = [units] * count if isinstance(units, str) or units is None else list(units)
    if len(names) != count or len(unit_list) != count:
        raise ValueError(f"{count} bands but {len(names)} names and {len(unit_list)} units")
    if nodata is None and array.dtype.kind == "f":
        nodata = float("nan")
    profile: dict[str, Any] = {
        "driver": "GTiff", "height": height, "width": width, "count": count,
        "dtype": array.dtype.name, "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = rasterio.crs.CRS.from_user_input(crs)
        profile["transform"] = transform
    factors = _overview_factors(height, width) if overviews else []
    target = pathlib.Path(path)
    with warnings.catch_warnings():
        # radar-geometry rasters have no CRS on purpose
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as memory:
            with memory.open(**profile) as dst:
                dst.write(array)
                for i in range(count):
                    dst.set_band_description(i + 1, names[i])
                    if unit_list[i]:
                        dst.set_band_unit(i + 1, unit_list[i])
                dst.scales = (scale,) * count
                dst.offsets = (offset,) * count
                if crs is None and gcps:
                    dst.gcps = (list(gcps), rasterio.crs.CRS.from_user_input(gcps_crs))
                if tags:
                    dst.update_tags(**tags)
                if factors:
                    dst.build_overviews(factors, Resampling[resampling.lower()])
            with memory.open() as src, _atomic_path(target, hook) as tmp:
                rasterio.shutil.copy(
                    src, tmp, driver="COG", COMPRESS=compress, LEVEL=int(level),
                    PREDICTOR="YES", BLOCKSIZE=_BLOCK, BIGTIFF="IF_SAFER",
                    OVERVIEWS="FORCE_USE_EXISTING" if factors else "NONE",
                )
    aux = target.with_name(target.name + ".aux.xml")
    if geolocation:
        with _atomic_path(aux, hook) as tmp_aux:
            tmp_aux.write_text(_geolocation_aux(geolocation), encoding="utf-8")
    elif aux.exists():
        aux.unlink()  # a sidecar of an earlier write would re-georeference the new file
    bands: list[dict[str, Any]] = []
    for i in range(count):
        band: dict[str, Any] = {"name": names[i], "data_type": array.dtype.name}
        if nodata is not None:
            band["nodata"] = "nan" if isinstance(nodata, float) and math.isnan(nodata) else nodata
        if unit_list[i]:
            band["unit"] = unit_list[i]
        band["scale"] = scale
        band["offset"] = offset
        band["statistics"] = (dict(statistics[i]) if statistics is not None
                              else _statistics(array[i], nodata))
        bands.append(band)
    return bands


# ---------------------------------------------------------------------------------------------
# items


def _date(value: Any) -> np.datetime64:
    return np.datetime64(value, "ns")


def _day(value: Any) -> str:
    return str(np.datetime64(value, "D"))


def _datetime(value: Any) -> dt.datetime:
    seconds = np.datetime64(value, "us").astype("int64") / 1e6
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def pair_item_id(
    reference: Any,
    secondary: Any,
    *,
    burst_id: str | None = None,
    polarization: str | None = None,
    window: tuple[int, int] | None = None,
) -> str:
    """The item id of one exported pair, e.g. ``T117_249435_IW2_VV_20240809_20240821_5x21``."""
    parts = [burst_id or "pairscope"]
    if polarization:
        parts.append(polarization.upper())
    parts += [_day(reference).replace("-", ""), _day(secondary).replace("-", "")]
    if window is not None:
        parts.append(f"{int(window[0])}x{int(window[1])}")
    return "_".join(parts)


def _item_dict(item: pystac.STACObject | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, pystac.Item):
        return item.to_dict(include_self_link=True, transform_hrefs=False)
    if isinstance(item, pystac.STACObject):
        return item.to_dict(include_self_link=True, transform_hrefs=False)
    return dict(item)


def _self_href(item: pystac.Item | Mapping[str, Any]) -> str | None:
    if isinstance(item, pystac.Item):
        return item.get_self_href()
    for link in item.get("links", []):
        if link.get("rel") == "self":
            return str(link["href"])
    return None


def _shared_input_fields(inputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    shared: dict[str, Any] = {}
    props = [i.get("properties", {}) for i in inputs]
    for key in _SHARED_FIELDS:
        values = [p.get(key) for p in props]
        if values and all(v is not None and v == values[0] for v in values):
            shared[key] = values[0]
    platforms = sorted({str(p["platform"]) for p in props if p.get("platform")})
    if len(platforms) == 1:
        shared["platform"] = platforms[0]
    return shared


def _footprint_radar(lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    """Polygon along the edges of a radar-geometry lat/lon grid (counter-clockwise)."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        raise ValueError("the latitude/longitude grid holds no finite value: cannot locate the result")
    rows, cols = lat.shape
    step_r = max(1, rows // 20)
    step_c = max(1, cols // 20)
    r_idx = list(range(0, rows - 1, step_r)) + [rows - 1]
    c_idx = list(range(0, cols - 1, step_c)) + [cols - 1]
    ring = (
        [(0, c) for c in c_idx]
        + [(r, cols - 1) for r in r_idx[1:]]
        + [(rows - 1, c) for c in reversed(c_idx[:-1])]
        + [(r, 0) for r in reversed(r_idx[:-1])]
    )
    points = [(round(float(lon[r, c]), 7), round(float(lat[r, c]), 7)) for r, c in ring if ok[r, c]]
    if len(points) < 3:
        lo, la = lon[ok], lat[ok]
        return _bbox_polygon([float(lo.min()), float(la.min()), float(lo.max()), float(la.max())])
    points.append(points[0])
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    area = 0.5 * float(np.sum(xs[:-1] * ys[1:] - xs[1:] * ys[:-1]))
    if area < 0:
        points.reverse()
    return {"type": "Polygon", "coordinates": [[list(p) for p in points]]}


def _bbox_polygon(bbox: Sequence[float]) -> dict[str, Any]:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _bbox_of(geometry: Mapping[str, Any]) -> list[float]:
    coords = np.asarray(geometry["coordinates"][0], dtype=float)
    return [float(coords[:, 0].min()), float(coords[:, 1].min()),
            float(coords[:, 0].max()), float(coords[:, 1].max())]


def _spatial_dims(da: xr.DataArray) -> tuple[str, str]:
    dims = tuple(d for d in da.dims if d != "pair")
    if dims == _RADAR_DIMS or dims == _MAP_DIMS:
        return dims[0], dims[1]
    raise ValueError(
        f"result variables must have dims (pair,) azimuth, range (radar geometry) or (pair,) y, x "
        f"(map geometry); got {da.dims}"
    )


def _map_grid(da: xr.DataArray) -> tuple[Any, Any] | None:
    """(crs, transform) of a geocoded DataArray, None in radar geometry or without a CRS."""
    if _spatial_dims(da) != _MAP_DIMS:
        return None
    crs = da.rio.crs
    if crs is None:
        raise ValueError(
            "the result is on (y, x) but has no CRS; write one with result.rio.write_crs(...) "
            "(pairscope.geometry.geocoding does) before exporting"
        )
    return crs, da.rio.transform(recalc=True)


def _render_definitions(
    assets: Sequence[tuple[str, str, Packing | None]],
) -> dict[str, dict[str, Any]]:
    """One render per written layer, from ``DEFAULT_RENDERS``; ``rescale`` in stored values (as
    titiler applies it) for packed layers."""
    from pairscope.render import DEFAULT_RENDERS

    renders: dict[str, dict[str, Any]] = {}
    for asset_key, render_key, packing in assets:
        if render_key not in DEFAULT_RENDERS:
            continue
        render = json.loads(json.dumps(dict(DEFAULT_RENDERS[render_key])))
        render["assets"] = [asset_key]
        if packing is not None and render.get("rescale"):
            render["rescale"] = [[packing.to_stored(lo), packing.to_stored(hi)]
                                 for lo, hi in render["rescale"]]
        render.setdefault("title", LAYERS_BY_ASSET[asset_key].title)
        renders[asset_key] = render
    return renders


def _gcp_grid(lat: np.ndarray, lon: np.ndarray, height: np.ndarray | None = None,
              max_points: int = MAX_GCPS) -> list[GroundControlPoint]:
    """Ground control points at pixel centres of the lat/lon grid, on a grid of rows and columns
    spread evenly on the ground (so their count follows the footprint's aspect), corners included.

    Pixel (row, col) is the cell from (col, row) to (col + 1, row + 1): its lat/lon is at
    (col + 0.5, row + 0.5), as GDAL counts GCP pixel/line positions."""
    rows, cols = lat.shape
    ok = np.isfinite(lat) & np.isfinite(lon)
    mid_r, mid_c = rows // 2, cols // 2
    coslat = math.cos(math.radians(float(np.nanmean(lat))))

    def ground(a: tuple[int, int], b: tuple[int, int]) -> float:
        dy = float(lat[a] - lat[b]) * 111_320.0
        dx = float(lon[a] - lon[b]) * 111_320.0 * coslat
        return math.hypot(dx, dy) if math.isfinite(dx + dy) else 0.0

    along = max(ground((0, mid_c), (rows - 1, mid_c)), 1.0)
    across = max(ground((mid_r, 0), (mid_r, cols - 1)), 1.0)
    n_rows = int(min(rows, max(2, round(math.sqrt(max_points * along / across)))))
    n_cols = int(min(cols, max(2, max_points // n_rows)))
    r_idx = np.unique(np.round(np.linspace(0, rows - 1, n_rows)).astype(int))
    c_idx = np.unique(np.round(np.linspace(0, cols - 1, n_cols)).astype(int))
    points = []
    for r in r_idx:
        for c in c_idx:
            if not ok[r, c]:
                continue
            z = float(height[r, c]) if height is not None and np.isfinite(height[r, c]) else 0.0
            points.append(GroundControlPoint(
                row=float(r) + 0.5, col=float(c) + 0.5, x=float(lon[r, c]), y=float(lat[r, c]),
                z=z, id=f"{r}_{c}",
            ))
    return points


def gcp_grid(lat: np.ndarray, lon: np.ndarray, height: np.ndarray | None = None,
             max_points: int = MAX_GCPS) -> list[GroundControlPoint]:
    """The ground control points radar-geometry layers carry for the lat/lon grid (`_gcp_grid`)."""
    return _gcp_grid(lat, lon, height, max_points)


def temporary_suffix() -> str:
    """``<host>.<pid>.<8 hex>.tmp``: a file named ``.<name>.<suffix>`` is a temporary of this
    process, which `remove_stale_temporaries` deletes once the process is gone."""
    return f"{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


def _geolocation_metadata(geolocation_file: str) -> dict[str, str]:
    """GDAL GEOLOCATION metadata pointing at the geolocation asset beside a layer (band 2 holds
    longitude, band 1 latitude, one sample per pixel centre), by a path relative to the layer."""
    return {
        "SRS": rasterio.crs.CRS.from_epsg(4326).to_wkt(),
        "X_DATASET": geolocation_file, "X_BAND": "2", "X_DATASET_RELATIVE_TO_SOURCE": "YES",
        "Y_DATASET": geolocation_file, "Y_BAND": "1", "Y_DATASET_RELATIVE_TO_SOURCE": "YES",
        "PIXEL_OFFSET": "0", "LINE_OFFSET": "0", "PIXEL_STEP": "1", "LINE_STEP": "1",
        "GEOREFERENCING_CONVENTION": "PIXEL_CENTER",
    }


LAYERS_BY_ASSET: dict[str, _Layer] = {layer.asset: layer for layer in LAYERS.values()}


def _select_pair(result: xr.Dataset, pair: int | tuple[Any, Any]) -> xr.Dataset:
    if "pair" not in result.dims:
        raise ValueError(f"the result has no 'pair' dimension (dims {dict(result.sizes)})")
    if isinstance(pair, (int, np.integer)):
        if not -result.sizes["pair"] <= int(pair) < result.sizes["pair"]:
            raise IndexError(f"pair index {pair} out of range: the result has {result.sizes['pair']} pairs")
        return result.isel(pair=int(pair))
    ref, sec = (_date(p) for p in pair)
    refs = result["reference"].values.astype("datetime64[D]")
    secs = result["secondary"].values.astype("datetime64[D]")
    hits = np.flatnonzero((refs == ref.astype("datetime64[D]")) & (secs == sec.astype("datetime64[D]")))
    if hits.size == 0:
        have = ", ".join(f"{_day(r)}/{_day(s)}" for r, s in zip(refs, secs, strict=True))
        raise KeyError(f"pair {_day(ref)}/{_day(sec)} is not in the result; it has: {have}")
    return result.isel(pair=int(hits[0]))


def _check_options(encoding: str, georeference: str | None) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}; got {encoding!r}")
    if georeference not in GEOREFERENCES:
        raise ValueError(
            f"georeference must be 'gcps', 'geolocation' or None; got {georeference!r}"
        )


def export_pair(
    result: xr.Dataset,
    pair: int | tuple[Any, Any],
    directory: str | os.PathLike[str],
    *,
    inputs: Sequence[pystac.Item | Mapping[str, Any]] = (),
    geometry: xr.Dataset | None = None,
    burst_id: str | None = None,
    polarization: str | None = None,
    window: tuple[int, int] | None = None,
    bias_corrected: bool | None = None,
    estimator: str | None = None,
    item_id: str | None = None,
    hook: StageHook | None = None,
    encoding: Encoding = "compact",
    georeference: Georeference = "gcps",
    extra_properties: Mapping[str, Any] | None = None,
    geolocation_cache: GeolocationCache | None = None,
) -> pystac.Item:
    """Write one pair of ``result`` as COGs + a STAC item in ``directory/<item id>/``.

    ``inputs`` are the reference and secondary SLC items (their ids, dates, sar/sat/s1 fields and
    hrefs go into the item); ``geometry`` an optional Dataset of look-vector / incidence layers on
    the same grid. Window, bias correction, estimator, burst id and polarization default to the
    result's ``attrs`` (as ``estimate_pairs`` records them), then to the inputs.
    ``encoding``: ``"compact"`` (scaled integers, see the module docstring) or ``"float32"``.
    ``georeference`` (radar geometry only): ``"gcps"`` (ground control points in each file),
    ``"geolocation"`` (GDAL geolocation arrays: an ``.aux.xml`` beside each layer naming the
    geolocation asset) or None. ``geolocation_cache``: a `GeolocationCache` shared by the pairs of
    one burst, so its grid's GCPs and geolocation file are made once (the bytes are the same).
    Returns the item, its self href set to the written JSON (its links hold absolute hrefs; the
    JSON on disk holds them relative, see `portable_href`).
    """
    _check_options(encoding, georeference)
    ds = _select_pair(result, pair)
    if "coherence" not in ds:
        raise ValueError(f"the result has no 'coherence' variable (variables: {list(ds.data_vars)})")
    attrs = {**result.attrs, **ds.attrs}
    input_dicts = [_item_dict(i) for i in inputs]
    shared = _shared_input_fields(input_dicts)
    window = _window_of(window if window is not None else attrs.get("window"))
    bias = bool(attrs.get("bias_corrected", False) if bias_corrected is None else bias_corrected)
    estimator = str(estimator or attrs.get("estimator") or "boxcar")
    burst_id = burst_id or attrs.get("burst_id") or shared.get("pairscope:burst_id")
    polarization = polarization or attrs.get("polarization")
    ref, sec = _date(ds["reference"].values), _date(ds["secondary"].values)
    item_id = item_id or pair_item_id(
        ref, sec, burst_id=burst_id, polarization=polarization, window=window
    )
    coherence = ds["coherence"]
    sources: list[tuple[str, xr.DataArray]] = [(v, ds[v]) for v in _PAIR_VARIABLES if v in ds]
    if geometry is not None:
        sources += [(v, geometry[v]) for v in _GEOMETRY_VARIABLES if v in geometry]
    props: dict[str, Any] = {k: v for k, v in shared.items()}
    props["start_datetime"] = _datetime(ref).strftime("%Y-%m-%dT%H:%M:%SZ")
    props["end_datetime"] = _datetime(sec).strftime("%Y-%m-%dT%H:%M:%SZ")
    if polarization:
        props["sar:polarizations"] = [polarization.upper()]
    props["sar:looks_azimuth"] = int(window[0])
    props["sar:looks_range"] = int(window[1])
    coh_values = np.asarray(coherence.values)
    finite = np.isfinite(coh_values)
    mean_coh = float(coh_values[finite].mean(dtype=np.float64)) if finite.any() else None
    props.update(_processing_fields(
        ds, attrs, input_dicts, estimator=estimator, window=window, bias=bias,
        polarization=polarization, geometry="map" if _map_grid(coherence) is not None else "radar",
        mean_coherence=mean_coh,
    ))
    props["pairscope:valid_pixels"] = int(finite.sum())
    props.update(extra_properties or {})
    return _write_item(item_id, pathlib.Path(directory), ds, coherence, sources, props,
                       input_dicts, None, hook, encoding=encoding, georeference=georeference,
                       max_count=int(window[0]) * int(window[1]), cache=geolocation_cache)


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` and ``b`` hold the same values: the same memory (as a burst's pairs share their grid
    coordinates; nothing writes to them), else compared element by element (NaN equal to NaN)."""
    if a is b or a.__array_interface__ == b.__array_interface__:
        return True
    return bool(np.array_equal(a, b, equal_nan=True))


class GeolocationCache:
    """Reuse of one radar-geometry grid between the pair items of a burst (a compute batch).

    Every pair of a burst has the same latitude/longitude/height grid, so its ground control points
    and its geolocation COG are the same bytes. The first item written with the cache computes and
    encodes them; later items with an equal grid (checked, not assumed) reuse the GCPs and get the
    geolocation file as a hard link of the first (a byte copy where links are impossible), so each
    item folder still holds all its files. Not thread-safe: one cache per writer."""

    def __init__(self) -> None:
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        self._gcps: list[GroundControlPoint] | None = None
        self._file: tuple[pathlib.Path, str, list[dict[str, Any]]] | None = None  # path, georef, bands
        self._footprint: tuple[np.ndarray, np.ndarray, dict[str, Any]] | None = None
        self.reused = 0

    def footprint(self, lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
        """`_footprint_radar` of the grid, made once while the grid stays the same (a copy)."""
        held = self._footprint
        if held is None or not (_same_values(held[0], lat) and _same_values(held[1], lon)):
            held = (lat, lon, _footprint_radar(lat, lon))
        self._footprint = held = (lat, lon, held[2])  # the caller's arrays: identity next time
        copied: dict[str, Any] = json.loads(json.dumps(held[2]))
        return copied

    def _same(self, lat: np.ndarray, lon: np.ndarray, height: np.ndarray | None) -> bool:
        if self._grid is None:
            return False
        lat0, lon0, h0 = self._grid
        if (h0 is None) != (height is None):
            return False
        same = _same_values(lat0, lat) and _same_values(lon0, lon) and (
            height is None or _same_values(h0, height))  # type: ignore[arg-type]
        if same:  # equal values: hold the caller's arrays, so its next items compare by identity
            self._grid = (lat, lon, height)
        return same

    def gcps(self, lat: np.ndarray, lon: np.ndarray, height: np.ndarray | None) -> list[GroundControlPoint]:
        if not self._same(lat, lon, height):
            self._grid, self._file = (lat, lon, height), None
            self._gcps = _gcp_grid(lat, lon, height)
        elif self._gcps is None:
            self._gcps = _gcp_grid(lat, lon, height)
        return self._gcps

    def reuse(self, lat: np.ndarray, lon: np.ndarray, height: np.ndarray | None,
              georeference: str | None, target: pathlib.Path,
              hook: StageHook | None) -> list[dict[str, Any]] | None:
        """Link (or copy) the cached geolocation file (and its sidecar) to ``target``; its
        ``raster:bands``, or None when the grid or the georeference differ."""
        if self._file is None or not self._same(lat, lon, height) or self._file[1] != str(georeference):
            return None
        source, _, bands = self._file
        if not source.is_file():
            return None
        for src, dst in ((source, target),
                         (source.with_name(source.name + ".aux.xml"), target.with_name(target.name + ".aux.xml"))):
            if not src.is_file():
                if dst.exists():
                    dst.unlink()
                continue
            with _atomic_path(dst, hook) as tmp:
                try:
                    os.link(src, tmp)
                except OSError:  # another file system, or no hard links here
                    import shutil

                    shutil.copyfile(src, tmp)
        self.reused += 1
        copied: list[dict[str, Any]] = json.loads(json.dumps(bands))  # the caller's own copy
        return copied

    def seed(self, lat: np.ndarray, lon: np.ndarray, height: np.ndarray | None,
             georeference: str | None, path: pathlib.Path, bands: list[dict[str, Any]],
             gcps: list[GroundControlPoint] | None = None) -> None:
        """Start from a geolocation file written elsewhere (`write_geolocation` of this grid, e.g.
        once for the batches of a burst by ``pairscope compute``) and its GCPs: items whose grid
        equals this one (compared by value) link it."""
        self._grid, self._gcps = (lat, lon, height), gcps
        self._file = (path, str(georeference), bands)

    def held(self) -> tuple[pathlib.Path, str, list[dict[str, Any]],
                            list[GroundControlPoint] | None] | None:  # fmt: skip
        """The geolocation file the items were last given (its path, georeference and
        ``raster:bands``) with the grid's GCPs, for `seed` of another cache of the same grid;
        None before the first item."""
        if self._file is None:
            return None
        path, georeference, bands = self._file
        return path, georeference, bands, self._gcps

    def remember(self, lat: np.ndarray, lon: np.ndarray, height: np.ndarray | None,
                 georeference: str | None, path: pathlib.Path, bands: list[dict[str, Any]]) -> None:
        if not self._same(lat, lon, height):
            self._grid, self._gcps = (lat, lon, height), None
        self._file = (path, str(georeference), bands)


def write_geolocation(
    lat: np.ndarray, lon: np.ndarray, path: pathlib.Path, *, georeference: str | None,
    gcps: Sequence[GroundControlPoint] | None = None, hook: StageHook | None = None,
) -> list[dict[str, Any]]:
    """The geolocation asset of a radar-geometry item (float64 ``grid_lat``, ``grid_lon``), as
    `_write_item` writes it: placeable itself by the item's ``gcps`` (``georeference="gcps"``) or
    by geolocation arrays read from its own bands (``"geolocation"``). No item id or file name in
    it: the same bytes serve every pair of a burst. Returns its ``raster:bands``."""
    self_geoloc = None
    if georeference == "geolocation":
        meta = _geolocation_metadata(path.name)
        self_geoloc = {k: v for k, v in meta.items() if not k.startswith(("X_DATASET", "Y_DATASET"))}
    return write_cog(
        np.stack([lat, lon]).astype("float64"), path,
        band_names=["grid_lat", "grid_lon"], units=["deg", "deg"], resampling="AVERAGE",
        overviews=False, hook=hook, gcps=gcps if georeference == "gcps" else None,
        geolocation=self_geoloc, tags={"pairscope_layer": "geolocation"},
    )


def _empty_cells(da: xr.DataArray, values: np.ndarray) -> np.ndarray:
    """Cells without a value: NaN, or (integer layers) the fill value geocoding writes / negative
    counts."""
    if values.dtype.kind == "f":
        return np.asarray(~np.isfinite(values), dtype=bool)
    empty = values < 0 if values.dtype.kind == "i" else np.zeros(values.shape, dtype=bool)
    for key in ("_FillValue", "nodata"):
        fill = da.attrs.get(key, da.encoding.get(key))
        if fill is not None and np.isfinite(fill):
            empty |= values == fill
    return empty


def _stored_layer(
    name: str, da: xr.DataArray, encoding: str, max_count: int
) -> tuple[np.ndarray, float | None, Packing | None, dict[str, Any] | None]:
    """(stored values, nodata, packing or None, statistics of the stored values or None: then
    `write_cog` computes them) of one layer in ``encoding``."""
    layer = LAYERS[name]
    values = np.asarray(da.values)
    if name == "valid_count":
        empty = _empty_cells(da, values)
        if encoding == "float32":
            counts = np.where(empty, 0, np.nan_to_num(values, nan=0.0))
            stored = np.where(empty, _COUNT_NODATA_INT32, counts).astype("int32")
            return stored, _COUNT_NODATA_INT32, None, None
        # the counts of the cells with a value (the others are nodata whatever they hold)
        top = int(np.max(values, where=~empty, initial=0)) if values.size else 0
        packing = _count_packing(max(max_count, top))
        stored, stats = packing.encode_with_statistics(values, empty)
        return stored, packing.nodata, packing, stats
    if encoding == "compact" and layer.packing is not None:
        stored, stats = layer.packing.encode_with_statistics(values)
        return stored, layer.packing.nodata, layer.packing, stats
    return values.astype("float32"), float("nan"), None, None


def _write_item(
    item_id: str,
    directory: pathlib.Path,
    ds: xr.Dataset,
    template: xr.DataArray,
    sources: Sequence[tuple[str, xr.DataArray]],
    props: dict[str, Any],
    input_dicts: Sequence[Mapping[str, Any]],
    datetime: dt.datetime | None,
    hook: StageHook | None,
    *,
    encoding: str = "compact",
    georeference: str | None = "gcps",
    max_count: int = 0,
    cache: GeolocationCache | None = None,
) -> pystac.Item:
    """Write ``sources`` as COGs (+ the geolocation grid in radar geometry) and the item, last."""
    out = directory / item_id
    out.mkdir(parents=True, exist_ok=True)
    grid = _map_grid(template)
    crs, transform = grid if grid is not None else (None, None)
    shape = [int(n) for n in template.shape]

    gcps: list[GroundControlPoint] | None = None
    geolocation_file = f"{item_id}_geolocation.tif"
    geoloc_meta: dict[str, str] | None = None
    lat = lon = height = None
    if grid is None:
        lat, lon = _latlon(ds, template)
        height = _height(ds, template)
        if georeference == "gcps":
            gcps = cache.gcps(lat, lon, height) if cache is not None else _gcp_grid(lat, lon, height)
        elif georeference == "geolocation":
            geoloc_meta = _geolocation_metadata(geolocation_file)

    assets: dict[str, pystac.Asset] = {}
    written: list[tuple[str, str, Packing | None]] = []
    for name, da in sources:
        layer = LAYERS[name]
        if tuple(int(n) for n in da.shape) != tuple(shape):
            raise ValueError(f"layer {name!r} has shape {da.shape}, the grid is {tuple(shape)}")
        stored, nodata, packing, stats = _stored_layer(name, da, encoding, max_count)
        filename = f"{item_id}_{layer.asset}.tif"
        bands = write_cog(
            stored, out / filename, crs=crs, transform=transform, band_names=[layer.asset],
            units=layer.unit, nodata=nodata,
            scale=packing.scale if packing is not None else 1.0,
            offset=packing.offset if packing is not None else 0.0,
            resampling=layer.resampling, hook=hook, gcps=gcps, geolocation=geoloc_meta,
            tags={"pairscope_item": item_id, "pairscope_layer": layer.asset},
            statistics=None if stats is None else [stats],
        )
        assets[layer.asset] = pystac.Asset(
            href=f"./{filename}", media_type=pystac.MediaType.COG, title=layer.title,
            roles=["data"], extra_fields={"raster:bands": bands},
        )
        written.append((layer.asset, layer.render, packing))

    if lat is not None and lon is not None:
        reused = (cache.reuse(lat, lon, height, georeference, out / geolocation_file, hook)
                  if cache is not None else None)
        if reused is not None:
            bands = reused
        else:
            bands = write_geolocation(lat, lon, out / geolocation_file, georeference=georeference,
                                      gcps=gcps, hook=hook)
            if cache is not None:
                cache.remember(lat, lon, height, georeference, out / geolocation_file, bands)
        assets["geolocation"] = pystac.Asset(
            href=f"./{geolocation_file}", media_type=pystac.MediaType.COG,
            title="Latitude / longitude (WGS84) of each radar-geometry pixel",
            roles=["metadata", "geolocation"], extra_fields={"raster:bands": bands},
        )
        footprint = cache.footprint(lat, lon) if cache is not None else _footprint_radar(lat, lon)
        props["proj:code"] = None
        props["pairscope:geometry"] = "radar"
        props["pairscope:geolocation_asset"] = "geolocation"
        props["pairscope:georeference"] = georeference
    else:
        assert grid is not None
        map_crs, map_transform = grid
        footprint = _footprint_map(map_crs, map_transform, shape)
        epsg = map_crs.to_epsg()
        if epsg is not None:
            props["proj:code"] = f"EPSG:{epsg}"
        else:
            props["proj:code"] = None
            props["proj:wkt2"] = map_crs.to_wkt()
        props["proj:transform"] = [float(v) for v in list(map_transform)[:6]]
        props["proj:bbox"] = _map_bounds(map_transform, shape)
        props["pairscope:geometry"] = "map"
    props["proj:shape"] = shape
    props["pairscope:encoding"] = encoding
    props["renders"] = _render_definitions(written)

    item = pystac.Item(
        id=item_id, geometry=footprint, bbox=_bbox_of(footprint), datetime=datetime,
        properties=props, stac_extensions=sorted(EXTENSIONS[k] for k in _used_extensions(props)),
    )
    for key, asset in assets.items():
        item.add_asset(key, asset)
    for source in input_dicts:
        href = _self_href(source)
        if href:
            item.add_link(pystac.Link("derived_from", _link_href(href),
                                      media_type=pystac.MediaType.JSON,
                                      title=str(source.get("id", ""))))
    path = out / f"{item_id}.json"
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    data["links"] = _portable_links(data.get("links", []), out)
    _write_json(data, path, hook)
    item.set_self_href(str(path.resolve()))
    return item


def export_geometry(
    geometry: xr.Dataset,
    directory: str | os.PathLike[str],
    *,
    inputs: Sequence[pystac.Item | Mapping[str, Any]] = (),
    burst_id: str | None = None,
    item_id: str | None = None,
    source: str | None = None,
    hook: StageHook | None = None,
    encoding: Encoding = "compact",
    georeference: Georeference = "gcps",
) -> pystac.Item:
    """Write the look-vector / incidence layers of one burst (no pair dimension) as COGs + an item.

    ``geometry`` holds any of ``look_x, look_y, look_z, los_east, los_north, los_up,
    incidence_angle`` on ``(azimuth, range)`` with 2-D ``latitude``/``longitude`` coords, or on a
    ``(y, x)`` grid with a CRS. ``inputs``: the acquisition item(s) whose orbit it describes;
    ``source`` says where the layers come from (recorded as ``pairscope:geometry_source``).
    ``encoding`` and ``georeference`` as in `export_pair` (compact: unit vectors int16 in steps of
    1/32767, incidence uint16 in steps of 0.002 deg).
    """
    _check_options(encoding, georeference)
    names = [v for v in _GEOMETRY_VARIABLES if v in geometry]
    if not names:
        raise ValueError(
            f"no look-vector or incidence layer in the dataset (variables {list(geometry.data_vars)});"
            f" expected some of {', '.join(_GEOMETRY_VARIABLES)}"
        )
    input_dicts = [_item_dict(i) for i in inputs]
    shared = _shared_input_fields(input_dicts)
    burst_id = burst_id or geometry.attrs.get("burst_id") or shared.get("pairscope:burst_id")
    item_id = item_id or f"{burst_id or 'pairscope'}_geometry"
    props: dict[str, Any] = {k: v for k, v in shared.items()}
    props.update({
        "processing:software": {"pairscope": __version__},
        "pairscope:layers": [LAYERS[n].asset for n in names],
        "pairscope:input_items": [str(i["id"]) for i in input_dicts if "id" in i],
    })
    if source:
        props["pairscope:geometry_source"] = source
    dates = [i.get("properties", {}).get("datetime") for i in input_dicts]
    if not dates or not dates[0]:
        raise ValueError(
            "a geometry item needs the acquisition it belongs to: pass inputs=[<SLC item>] "
            "(its datetime dates the orbit the look vectors come from)"
        )
    when = _datetime(np.datetime64(str(dates[0]).replace("Z", "").replace("+00:00", "")))
    template = geometry[names[0]]
    return _write_item(item_id, pathlib.Path(directory), geometry, template,
                       [(n, geometry[n]) for n in names], props, input_dicts, when, hook,
                       encoding=encoding, georeference=georeference)


def _used_extensions(props: Mapping[str, Any]) -> list[str]:
    prefixes = {"proj:": "projection", "sar:": "sar", "sat:": "sat", "processing:": "processing"}
    used = {"raster", "render"}
    for key in props:
        for prefix, ext in prefixes.items():
            if key.startswith(prefix):
                used.add(ext)
    return sorted(used)


def _window_of(value: Any) -> tuple[int, int]:
    if value is None:
        raise ValueError(
            "the estimator window is unknown: pass window=(azimuth_looks, range_looks) or keep "
            "the 'window' attr that estimate_pairs records"
        )
    if isinstance(value, str):
        value = value.lower().replace(" ", "").split("x")
    az, rg = (int(v) for v in np.asarray(value).ravel()[:2])
    return az, rg


def _latlon(ds: xr.Dataset, coherence: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    names = [("latitude", "longitude"), ("lat", "lon"), ("grid_lat", "grid_lon")]
    for lat_name, lon_name in names:
        if lat_name in ds.variables and lon_name in ds.variables:
            lat = np.asarray(ds[lat_name].values, dtype="float64")
            lon = np.asarray(ds[lon_name].values, dtype="float64")
            if lat.shape == coherence.shape and lon.shape == coherence.shape:
                return lat, lon
    raise ValueError(
        "a radar-geometry result needs 2-D 'latitude'/'longitude' coordinates (the SLC stack's "
        "grid, carried by estimate_pairs) to be exported; geocode it or add them"
    )


def radar_grid(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The latitude, longitude and height (or None) a radar-geometry item of ``ds`` (a pipeline
    result, with or without its ``pair`` dimension) is written with: the arrays a
    `GeolocationCache` compares."""
    template = ds["coherence"]
    if "pair" in template.dims:
        template = template.isel(pair=0)
    lat, lon = _latlon(ds, template)
    return lat, lon, _height(ds, template)


def _height(ds: xr.Dataset, template: xr.DataArray) -> np.ndarray | None:
    """The terrain height grid (m) when the stack carried one (GCP z values), else None."""
    if "height" in ds.variables:
        height = np.asarray(ds["height"].values, dtype="float64")
        if height.shape == template.shape:
            return height
    return None


def _map_bounds(transform: Any, shape: Sequence[int]) -> list[float]:
    rows, cols = shape
    a, b, c0, d, e, f0 = (float(v) for v in list(transform)[:6])
    corners = ((0, 0), (0, cols), (rows, 0), (rows, cols))
    xs = [a * c + b * r + c0 for r, c in corners]
    ys = [d * c + e * r + f0 for r, c in corners]
    return [float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))]


def _footprint_map(crs: Any, transform: Any, shape: Sequence[int]) -> dict[str, Any]:
    from rasterio.warp import transform as warp_transform

    left, bottom, right, top = _map_bounds(transform, shape)
    t = np.linspace(0.0, 1.0, 11)[:-1]
    xs = np.concatenate([left + (right - left) * t, np.full(10, right),
                         right - (right - left) * t, np.full(10, left), [left]])
    ys = np.concatenate([np.full(10, bottom), bottom + (top - bottom) * t,
                         np.full(10, top), top - (top - bottom) * t, [bottom]])
    lon, lat = warp_transform(crs, "EPSG:4326", xs.tolist(), ys.tolist())
    coords = [[[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]]
    return {"type": "Polygon", "coordinates": coords}


def _processing_fields(
    ds: xr.Dataset,
    attrs: Mapping[str, Any],
    inputs: Sequence[Mapping[str, Any]],
    *,
    estimator: str,
    window: tuple[int, int],
    bias: bool,
    polarization: str | None,
    geometry: str,
    mean_coherence: float | None,
) -> dict[str, Any]:
    ref, sec = _date(ds["reference"].values), _date(ds["secondary"].values)
    input_ids = [str(i["id"]) for i in inputs if "id" in i]
    dates = [str(i.get("properties", {}).get("datetime")) for i in inputs]
    lineage = (
        "coherence |sum(s1 s2*)| / sqrt(sum|s1|^2 sum|s2|^2) and phase arg(sum(s1 s2*)) over a "
        f"{window[0]} x {window[1]} (azimuth x range) window of coregistered SLC samples "
        f"(estimator: {estimator})"
        + ("; coherence bias-corrected (Touzi et al. 1999)" if bias else "")
        + (f"; inputs {', '.join(input_ids)}" if input_ids else "")
        + f"; pairscope {__version__}"
    )
    fields: dict[str, Any] = {
        "processing:software": {"pairscope": __version__},
        "processing:lineage": lineage,
        "processing:level": "L2",
        "pairscope:estimator": estimator,
        "pairscope:window": [int(window[0]), int(window[1])],
        "pairscope:bias_corrected": bias,
        "pairscope:geometry": geometry,
        "pairscope:reference_date": _day(ref),
        "pairscope:secondary_date": _day(sec),
        "pairscope:temporal_baseline": _baseline_days(ds, ref, sec),
        "pairscope:input_items": input_ids,
        "pairscope:input_datetimes": dates if input_ids else [],
        "pairscope:mean_coherence": None if mean_coherence is None else round(mean_coherence, 6),
    }
    if polarization:
        fields["pairscope:polarization"] = polarization.upper()
    if "perpendicular_baseline" in ds.coords:
        value = float(ds["perpendicular_baseline"].values)
        if math.isfinite(value):
            fields["pairscope:perpendicular_baseline"] = round(value, 3)
            fields["pairscope:perpendicular_baseline_convention"] = str(
                ds["perpendicular_baseline"].attrs.get("convention", "isce")
            )
    return fields


def _baseline_days(ds: xr.Dataset, ref: np.datetime64, sec: np.datetime64) -> float:
    if "temporal_baseline" in ds.coords:
        value = float(ds["temporal_baseline"].values)
    else:
        value = float((sec - ref) / np.timedelta64(1, "D"))
    return int(value) if value == int(value) else value


# ---------------------------------------------------------------------------------------------
# links


def _local_path(href: str) -> str | None:
    """The absolute local path an href names (a path or a ``file:`` URL), None for remote URLs
    and relative hrefs."""
    parts = urlsplit(href)
    if parts.scheme == "file":
        path = unquote(parts.path)
    elif parts.scheme and len(parts.scheme) > 1:
        return None  # http(s), s3, ... (a one-letter scheme is a Windows drive)
    else:
        path = href
    return path if os.path.isabs(path) else None


def _link_href(href: str) -> str:
    """A link target for an in-memory item: local paths absolute, URLs stripped of secrets."""
    if _local_path(href) is not None or not urlsplit(href).scheme:
        return href
    return _public_url(href)


def _public_url(url: str) -> str:
    """``url`` without user, password and secret-looking query parameters (dropped, not masked, so
    the link still works for whoever has their own credentials)."""
    from pairscope.io.http import has_secret_query, redact_url

    parts = urlsplit(redact_url(url))
    original = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(original.query, keep_blank_values=True)
            if not has_secret_query("?" + urlencode([(k, v)]))]
    fragment = parts.fragment if not has_secret_query("?" + original.fragment) else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), fragment))


def portable_href(href: str, start: str | os.PathLike[str]) -> str:
    """``href`` as written into a document in folder ``start``: a local path (or ``file:`` URL)
    becomes relative to ``start`` (``./x`` or ``../x``, POSIX separators), so the folder can be
    moved with what it links to; a remote URL loses user, password and secret query parameters
    (``token=``, ``sig=``... see `pairscope.io.http.redact_url`); a relative href is kept."""
    local = _local_path(href)
    if local is None:
        return _public_url(href) if urlsplit(href).scheme else href
    rel = pathlib.Path(os.path.relpath(local, os.path.abspath(start))).as_posix()
    return rel if rel.startswith("../") else f"./{rel}"


def _portable_links(links: Sequence[Mapping[str, Any]], start: pathlib.Path) -> list[dict[str, Any]]:
    return [{**link, "href": portable_href(str(link["href"]), start)} for link in links]


def export_pairs(
    result: xr.Dataset,
    directory: str | os.PathLike[str],
    *,
    inputs: Mapping[Any, pystac.Item | Mapping[str, Any]] | None = None,
    geometry: xr.Dataset | None = None,
    csv_name: str | None = "pairs.csv",
    **kwargs: Any,
) -> list[pystac.Item]:
    """Export every pair of ``result`` (see `export_pair`) and, unless ``csv_name`` is None, the
    pairs table as CSV beside them. ``inputs`` maps a date (anything ``numpy.datetime64`` reads,
    compared by day) to its SLC item."""
    by_day = {_day(k): v for k, v in (inputs or {}).items()}
    kwargs.setdefault("geolocation_cache", GeolocationCache())  # one grid for all the pairs
    items = []
    for i in range(result.sizes["pair"]):
        ds = result.isel(pair=i)
        pair_inputs = [by_day[d] for d in (_day(ds["reference"].values), _day(ds["secondary"].values))
                       if d in by_day]
        items.append(export_pair(result, i, directory, inputs=pair_inputs, geometry=geometry, **kwargs))
    if csv_name:
        write_pairs_csv(pairs_table(result, items=items), pathlib.Path(directory) / csv_name)
    return items


# ---------------------------------------------------------------------------------------------
# tables, PNG


_CSV_COLUMNS = (
    "reference", "secondary", "temporal_baseline_days", "perpendicular_baseline_m",
    "perpendicular_baseline_convention", "mean_coherence", "valid_pixels", "item",
)


def pairs_table(
    result: xr.Dataset, *, items: Sequence[pystac.Item | Mapping[str, Any] | str] | None = None
) -> list[dict[str, Any]]:
    """One row per pair: dates, temporal / perpendicular baselines, mean coherence, valid pixels,
    and the item id when ``items`` (the exported items or their ids, in pair order) are given."""
    if items is not None and len(items) != result.sizes["pair"]:
        raise ValueError(f"{len(items)} items for {result.sizes['pair']} pairs")
    ids = [i if isinstance(i, str) else str(_item_dict(i)["id"]) for i in items or []]
    rows = []
    for i in range(result.sizes["pair"]):
        ds = result.isel(pair=i)
        ref, sec = _date(ds["reference"].values), _date(ds["secondary"].values)
        coh = np.asarray(ds["coherence"].values, dtype="float64")
        valid = np.isfinite(coh)
        bperp = float(ds["perpendicular_baseline"].values) if "perpendicular_baseline" in ds.coords else math.nan
        rows.append({
            "reference": _day(ref), "secondary": _day(sec),
            "temporal_baseline_days": _baseline_days(ds, ref, sec),
            "perpendicular_baseline_m": None if math.isnan(bperp) else round(bperp, 3),
            "perpendicular_baseline_convention": None if math.isnan(bperp) else str(
                ds["perpendicular_baseline"].attrs.get("convention", "isce")),
            "mean_coherence": round(float(coh[valid].mean()), 6) if valid.any() else None,
            "valid_pixels": int(valid.sum()), "item": ids[i] if ids else None,
        })
    return rows


def pairs_table_from_items(items: Sequence[pystac.Item | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The pairs table of exported items (as `pairs_table`, read from their properties)."""
    rows = []
    for item in items:
        d = _item_dict(item)
        p = d["properties"]
        stats = d["assets"]["coherence"]["raster:bands"][0].get("statistics", {})
        shape = p.get("proj:shape") or [0, 0]
        rows.append({
            "reference": p["pairscope:reference_date"], "secondary": p["pairscope:secondary_date"],
            "temporal_baseline_days": p.get("pairscope:temporal_baseline"),
            "perpendicular_baseline_m": p.get("pairscope:perpendicular_baseline"),
            "perpendicular_baseline_convention": p.get("pairscope:perpendicular_baseline_convention"),
            "mean_coherence": p.get("pairscope:mean_coherence"),
            "valid_pixels": int(p["pairscope:valid_pixels"]) if "pairscope:valid_pixels" in p
            else int(round(stats.get("valid_percent", 0.0) / 100 * shape[0] * shape[1])),
            "item": d["id"],
        })
    rows.sort(key=lambda r: (r["reference"], r["secondary"], r["item"] or ""))
    return rows


def write_pairs_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> pathlib.Path:
    """Write a pairs table (`pairs_table` / `pairs_table_from_items`) as CSV, atomically."""
    target = pathlib.Path(path)
    with _atomic_path(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(_CSV_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in _CSV_COLUMNS})
    return target


# ---------------------------------------------------------------------------------------------
# the output folder as a STAC catalog


#: Id of the ``catalog.json`` `write_output_catalog` writes (unless told otherwise).
CATALOG_ID = "pairscope-output"
_JSON = "application/json"
_GEOJSON = "application/geo+json"
_SUMMARY_VALUES = (
    "platform", "constellation", "instruments", "sar:instrument_mode", "sar:frequency_band",
    "sar:center_frequency", "sar:observation_direction", "sar:polarizations",
    "sat:relative_orbit", "sat:orbit_state", "proj:code", "pairscope:geometry",
    "pairscope:encoding", "pairscope:georeference", "pairscope:window", "pairscope:estimator",
    "pairscope:bias_corrected",
)
_SUMMARY_RANGES = (
    "pairscope:temporal_baseline", "pairscope:perpendicular_baseline", "pairscope:mean_coherence",
)


def _complete_items(folder: pathlib.Path) -> list[tuple[pathlib.Path, dict[str, Any]]]:
    """The complete items ``folder/<id>/<id>.json`` (see `is_complete`), sorted by id."""
    found = []
    for path in sorted(folder.glob("*/*.json")):
        if path.parent.name != path.stem or not is_complete(path):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("type") == "Feature":
            found.append((path, data))
    return found


def _write_if_changed(data: Mapping[str, Any], path: pathlib.Path) -> bool:
    """Write ``data`` atomically unless the file already holds exactly it (reruns change nothing).
    The file is parsed and compared first (json's C decoder: ~20x faster than encoding the data
    with an indent, which only a changed file needs)."""
    try:
        held = path.read_text(encoding="utf-8")
    except OSError:
        held = None
    if held is not None:
        with contextlib.suppress(ValueError):
            if json.loads(held) == data:
                return False
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    if held == text:
        return False
    with _atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return True


def _time_range(props: Sequence[Mapping[str, Any]]) -> list[str | None]:
    times = []
    for p in props:
        for key in ("start_datetime", "end_datetime", "datetime"):
            value = p.get(key)
            if isinstance(value, str):
                times.append(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    if not times:
        return [None, None]
    return [t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in (min(times), max(times))]


def _summaries(props: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    summaries: dict[str, Any] = {}
    for key in _SUMMARY_VALUES:
        values: dict[str, Any] = {}
        for p in props:
            value = p.get(key)
            for v in (value if isinstance(value, list) and key != "pairscope:window" else [value]):
                if v is not None:
                    values.setdefault(json.dumps(v, sort_keys=True), v)
        if values:
            summaries[key] = [values[k] for k in sorted(values)]
    for key in _SUMMARY_RANGES:
        numbers = [p[key] for p in props if isinstance(p.get(key), (int, float))]
        if numbers:
            summaries[key] = {"minimum": min(numbers), "maximum": max(numbers)}
    return summaries


def _item_asset(asset: Mapping[str, Any]) -> dict[str, Any]:
    """An ``item_assets`` entry: what every item's asset of that key shares (no href, no
    statistics)."""
    out = {k: asset[k] for k in ("title", "description", "type", "roles") if k in asset}
    if "raster:bands" in asset:
        out["raster:bands"] = [{k: v for k, v in band.items() if k != "statistics"}
                               for band in asset["raster:bands"]]
    return out


def _remove_own_collection(path: pathlib.Path) -> None:
    """Remove a collection this module wrote whose items are all gone or incomplete."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(doc, dict) and doc.get("type") == "Collection" and any(
        p.get("name") == "pairscope" for p in doc.get("providers", []) if isinstance(p, dict)
    ):
        path.unlink(missing_ok=True)


def _collection_doc(
    collection_id: str,
    folder: pathlib.Path,
    root: pathlib.Path,
    items: Sequence[tuple[pathlib.Path, Mapping[str, Any]]],
    title: str,
) -> dict[str, Any]:
    props = [d.get("properties", {}) for _, d in items]
    bboxes = np.array([d["bbox"][:4] for _, d in items if d.get("bbox")], dtype="float64")
    bbox = ([float(bboxes[:, 0].min()), float(bboxes[:, 1].min()),
             float(bboxes[:, 2].max()), float(bboxes[:, 3].max())]
            if bboxes.size else [-180.0, -90.0, 180.0, 90.0])
    item_assets: dict[str, Any] = {}
    renders: dict[str, Any] = {}
    for _, d in items:
        for key, asset in d.get("assets", {}).items():
            item_assets.setdefault(key, _item_asset(asset))
        for key, render in (d.get("properties", {}).get("renders") or {}).items():
            renders.setdefault(key, render)
    summaries = _summaries(props)
    n_pairs = sum(1 for p in props if "pairscope:reference_date" in p)
    n_geometry = len(props) - n_pairs
    extensions = set()
    if any("raster:bands" in a for a in item_assets.values()):
        extensions.add(EXTENSIONS["raster"])
    if renders:
        extensions.add(EXTENSIONS["render"])
    for prefix, ext in (("sar:", "sar"), ("sat:", "sat"), ("proj:", "projection")):
        if any(k.startswith(prefix) for k in summaries):
            extensions.add(EXTENSIONS[ext])
    here = folder.absolute()
    links: list[dict[str, Any]] = [
        {"rel": "root", "href": portable_href(str(root.absolute() / "catalog.json"), here),
         "type": _JSON, "title": title},
        {"rel": "parent", "href": portable_href(str(root.absolute() / "catalog.json"), here),
         "type": _JSON, "title": title},
    ]
    for path, d in items:
        links.append({"rel": "item", "href": portable_href(str(path.absolute()), here),
                      "type": _GEOJSON, "title": str(d["id"])})
    doc: dict[str, Any] = {
        "type": "Collection",
        "stac_version": "1.1.0",
        "stac_extensions": sorted(extensions),
        "id": collection_id,
        "title": f"pairscope {collection_id}",
        "description": (
            f"Interferometric coherence, wrapped phase and valid sample counts of {n_pairs} "
            f"pair(s) of {collection_id}, estimated by pairscope from coregistered Sentinel-1 SLC "
            "bursts (one item per pair"
            + (f"; {n_geometry} item(s) of the burst's look geometry" if n_geometry else "")
            + "). Items link the input items they derive from; those inputs' licences apply."
        ),
        "keywords": ["sentinel-1", "insar", "coherence", "interferometry"],
        "license": "other",
        "providers": [{"name": "pairscope", "roles": ["processor"],
                       "description": "Coherence estimation and export (pairscope)"}],
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [_time_range(props)]}},
        "summaries": summaries,
        "item_assets": item_assets,
    }
    if renders:
        doc["renders"] = renders
    pairs_csv = folder / "pairs.csv"
    if pairs_csv.is_file():
        doc["assets"] = {"pairs": {"href": "./pairs.csv", "type": "text/csv",
                                   "title": "Pairs table (dates, baselines, mean coherence, item)",
                                   "roles": ["metadata"]}}
    doc["links"] = links
    return doc


def _linked_item(
    path: pathlib.Path, data: Mapping[str, Any], collection_id: str, folder: pathlib.Path,
    root: pathlib.Path, title: str,
) -> dict[str, Any]:
    """The item linked into the catalog: root / parent / collection links (relative), every other
    link and asset href portable."""
    here = path.parent.absolute()
    catalog = portable_href(str(root.absolute() / "catalog.json"), here)
    collection = portable_href(str(folder.absolute() / "collection.json"), here)
    others = [link for link in data.get("links", [])
              if link.get("rel") not in ("root", "parent", "collection", "self")]
    links = [
        {"rel": "root", "href": catalog, "type": _JSON, "title": title},
        {"rel": "parent", "href": collection, "type": _JSON},
        {"rel": "collection", "href": collection, "type": _JSON},
        *_portable_links(others, here),
    ]
    assets = {k: {**a, "href": portable_href(str(a["href"]), here)}
              for k, a in data.get("assets", {}).items()}
    return {**data, "links": links, "assets": assets, "collection": collection_id}


#: The title `write_output_catalog` gives an output catalog by default.
OUTPUT_TITLE = "pairscope output"


def _collection_id(folder: pathlib.Path, root: pathlib.Path) -> str:
    return folder.name if folder != root else (root.absolute().name or "pairscope")


def link_item(path: str | os.PathLike[str], root: str | os.PathLike[str],
              *, title: str | None = None) -> bool:
    """Link the item at ``path`` (``<root>[/<folder>]/<id>/<id>.json``) into the output catalog
    ``root`` now, as `write_output_catalog` links it (same ``title``): that pass then finds it
    unchanged. ``pairscope compute``'s workers do this beside each pair they write, so the run's
    serial end does not re-encode every item. Whether the file changed."""
    item = pathlib.Path(path)
    base = pathlib.Path(root)
    folder = item.parent.parent
    data = json.loads(item.read_text(encoding="utf-8"))
    linked = _linked_item(item, data, _collection_id(folder, base), folder, base,
                          title or OUTPUT_TITLE)
    return _write_if_changed(linked, item)



def write_output_catalog(
    root: str | os.PathLike[str],
    *,
    title: str | None = None,
    description: str | None = None,
    catalog_id: str = CATALOG_ID,
) -> pathlib.Path:
    """Make the output folder ``root`` a static STAC catalog; returns the path of its
    ``catalog.json``.

    Every sub-folder holding complete items (``<folder>/<item id>/<item id>.json``, see
    `is_complete`; ``pairscope compute`` writes one folder per burst) gets a ``collection.json``
    (id: the folder name; spatial / temporal extent, summaries, ``item_assets``, ``renders``,
    the folder's ``pairs.csv`` as an asset) and its items are linked to it (``collection`` field,
    root / parent / collection links). Items directly under ``root`` get a collection in ``root``.
    Every link is relative, so the folder can be moved or served as it is. Incomplete items are
    left out. Rebuilt from what is on disk each time: idempotent (unchanged files are not
    rewritten), every write atomic, safe to rerun after a resumed run.
    """
    base = pathlib.Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"output folder {base} does not exist: export pairs into it first")
    title = title or OUTPUT_TITLE
    folders = [base, *sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))]
    children: list[dict[str, Any]] = []
    for folder in folders:
        items = _complete_items(folder)
        if not items:
            _remove_own_collection(folder / "collection.json")
            continue
        collection_id = _collection_id(folder, base)
        for path, data in items:
            _write_if_changed(_linked_item(path, data, collection_id, folder, base, title), path)
        doc = _collection_doc(collection_id, folder, base, items, title)
        _write_if_changed(doc, folder / "collection.json")
        children.append({"rel": "child",
                         "href": portable_href(str(folder.absolute() / "collection.json"),
                                               base.absolute()),
                         "type": _JSON, "title": doc["title"]})
    catalog = {
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": catalog_id,
        "title": title,
        "description": description or (
            "Output of pairscope: one collection per burst, one item per interferometric pair "
            "(coherence, phase, valid sample count as Cloud-Optimized GeoTIFFs with renders)."
        ),
        "links": [{"rel": "root", "href": "./catalog.json", "type": _JSON, "title": title},
                  *children],
    }
    path = base / "catalog.json"
    _write_if_changed(catalog, path)
    return path


def export_png(
    data: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    render: Mapping[str, Any] | None = None,
    title: str | None = None,
    units: str | None = None,
    dpi: int = 100,
) -> pathlib.Path:
    """A PNG of a 2-D map with a colourbar, drawn with the layer's render definition.

    ``layer`` names a default render (``pairscope.render.DEFAULT_RENDERS``, e.g. ``"coherence"``,
    ``"phase"``); ``render`` overrides it (its ``rescale`` and ``colormap_name`` / ``colormap``).
    Map-geometry arrays are drawn in their projected coordinates, radar ones in pixel indices.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.colors import Colormap, ListedColormap
    from matplotlib.figure import Figure

    from pairscope.render import DEFAULT_RENDERS, get_colormap

    if data.ndim != 2:
        raise ValueError(f"export_png draws one 2-D map; got dims {data.dims} (select one pair first)")
    name = layer or str(data.name or "")
    definition = dict(render) if render is not None else dict(DEFAULT_RENDERS.get(name, {}))
    rescale = definition.get("rescale")
    values = np.asarray(data.values, dtype="float64")
    if rescale:
        vmin, vmax = (float(v) for v in rescale[0])
    else:
        finite = values[np.isfinite(values)]
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    cmap: Colormap
    if isinstance(definition.get("colormap"), Mapping):
        table = np.zeros((256, 4))
        for k, rgba in definition["colormap"].items():
            table[int(k)] = np.asarray(rgba, dtype=float)[:4] / 255.0
        cmap = ListedColormap(table)
    else:
        cmap = ListedColormap(get_colormap(str(definition.get("colormap_name", "viridis"))) / 255.0)
    cmap = cmap.with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    dims = tuple(str(d) for d in data.dims)
    extent = None
    if dims == _MAP_DIMS and "x" in data.coords and "y" in data.coords and data.sizes["x"] > 1:
        x, y = data["x"].values, data["y"].values
        dx = x[1] - x[0]
        dy = y[1] - y[0] if data.sizes["y"] > 1 else -dx
        extent = (x[0] - dx / 2, x[-1] + dx / 2, y[-1] + dy / 2, y[0] - dy / 2)
    unit = units or str(data.attrs.get("units", LAYERS.get(name, LAYERS["coherence"]).unit
                                       if name in LAYERS else ""))
    fig = Figure(figsize=(8, 8 * min(2.0, max(0.25, values.shape[0] / values.shape[1])) + 1))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest", extent=extent,
                      aspect="equal" if extent is not None else "auto")
    if extent is not None:
        ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel(dims[1])
    ax.set_ylabel(dims[0])
    ax.set_title(title or definition.get("title") or name)
    bar = fig.colorbar(image, ax=ax, orientation="horizontal", fraction=0.05, pad=0.2)
    bar.set_label(f"{name} [{unit}]" if unit else name)
    target = pathlib.Path(path)
    with _atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return target


# ---------------------------------------------------------------------------------------------
# checks


def is_complete(item_path: str | os.PathLike[str]) -> bool:
    """True when ``item_path`` is an exported item (its id is the file name) whose JSON parses and
    whose assets all exist.

    Items are written last and atomically, so this is what ``pairscope compute`` uses to skip
    pairs on resume.
    """
    path = pathlib.Path(item_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    assets = data.get("assets") if isinstance(data, dict) else None
    if not assets or data.get("id") != path.stem:
        return False
    for asset in assets.values():
        href = str(asset.get("href", ""))
        if "://" in href:
            continue
        if not (path.parent / href).is_file():
            return False
    return True


_CORE_KINDS = {"Feature": "item-spec/json-schema/item.json",
               "Collection": "collection-spec/json-schema/collection.json",
               "Catalog": "catalog-spec/json-schema/catalog.json"}


#: The public roots of the schemas pairscope's documents name, and the host-less roots the
#: offline copies under ``tests/data/stac/schemas`` use as their ``$id`` and ``$ref`` (no test
#: names a host a validator could fetch from). A ``file:`` root, not a URN: the schemas' relative
#: ``$ref`` s (``common.json``, ``../../item-spec/...``) resolve against hierarchical URIs only.
SCHEMA_ROOTS = {
    "https://schemas.stacspec.org/": "file:///pairscope-schemas/stac/",
    "https://stac-extensions.github.io/": "file:///pairscope-schemas/stac-extensions/",
    "https://geojson.org/schema/": "file:///pairscope-schemas/geojson/",
    "https://proj.org/schemas/": "file:///pairscope-schemas/proj/",
}


def _schema_key(uri: str) -> str:
    """The key a schema URI is found under: public roots (`SCHEMA_ROOTS`) as their offline
    copies name them, without a trailing ``#``."""
    uri = uri.rstrip("#")
    for public, local in SCHEMA_ROOTS.items():
        if uri.startswith(public):
            return local + uri[len(public):]
    return uri


def _localized(value: Any) -> Any:
    """``value`` (a schema) with every URI under a public root named as its offline copy names it
    (`_schema_key`): ``$id``, ``$ref`` and the ``const`` of the extension a schema requires
    alike, so copies with either naming validate the same documents."""
    if isinstance(value, str):
        return _schema_key(value) if value.startswith(tuple(SCHEMA_ROOTS)) else value
    if isinstance(value, dict):
        return {k: _localized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_localized(v) for v in value]
    return value


def _local_schemas(schema_dir: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Schemas by URI: ``schema-config.json`` (URI -> file) when the folder has one, then any other
    ``*.json`` under it by its ``$id``; pystac's bundled core schemas last. Every schema is read
    as JSON Schema draft 07 (`validate_item`), whatever its ``$schema`` says or whether it has one."""
    from pystac.validation.local_validator import get_local_schema_cache

    schemas: dict[str, dict[str, Any]] = {}
    for config in sorted(schema_dir.rglob("schema-config.json")):
        mapping = json.loads(config.read_text(encoding="utf-8")).get("schemas", {})
        for uri, rel in mapping.items():
            doc = json.loads((config.parent / rel).read_text(encoding="utf-8"))
            schemas[_schema_key(uri)] = _localized(doc)
    for file in sorted(schema_dir.rglob("*.json")):
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("$id"), str):
            schemas.setdefault(_schema_key(doc["$id"]), _localized(doc))
    for uri, doc in get_local_schema_cache().items():
        schemas.setdefault(_schema_key(uri), _localized(doc))
    return schemas


def validate_item(
    item: pystac.STACObject | Mapping[str, Any],
    schema_dir: str | os.PathLike[str],
    *,
    missing: str = "error",
) -> dict[str, str]:
    """Validate a STAC document (item, collection or catalog) offline: the STAC core schema of its
    type and version, then every extension it declares in ``stac_extensions``, each against its own
    schema from ``schema_dir`` (a folder with ``schema-config.json`` mapping URIs to files, as
    ``tests/data/stac/schemas``, or any ``*.json`` schemas with an ``$id``; public URIs and their
    host-less copies, `SCHEMA_ROOTS`, name the same schema). Nothing is fetched:
    a ``$ref`` to a URI with no local copy is an error.

    An extension with no local schema raises :class:`SchemaNotFoundError` (``missing="error"``,
    the default) or is reported as ``"no local schema"`` (``missing="report"``).
    Returns ``{schema uri: "valid" | "no local schema"}``; raises ``jsonschema.ValidationError``
    (naming the schema) on the first violation.
    """
    import jsonschema
    from referencing import Registry, Resource

    if missing not in ("error", "report"):
        raise ValueError(f"missing must be 'error' or 'report', got {missing!r}")
    data = _item_dict(item)
    schemas = _local_schemas(pathlib.Path(schema_dir))

    def retrieve(uri: str) -> Resource:
        key = _schema_key(uri)
        if key in schemas:
            return Resource.from_contents(schemas[key], default_specification=_draft7())
        raise LookupError(f"no local copy of schema {uri}; pairscope validates offline only")

    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    kind = _CORE_KINDS.get(str(data.get("type")))
    if kind is None:
        raise ValueError(f"not a STAC item, collection or catalog: type {data.get('type')!r}")
    core = f"https://schemas.stacspec.org/v{data.get('stac_version', '1.1.0')}/{kind}"
    report: dict[str, str] = {}
    checked = dict(data)  # its extensions named as the schemas name them (`_localized`)
    if isinstance(data.get("stac_extensions"), list):
        checked["stac_extensions"] = _localized(data["stac_extensions"])
    for uri in [core, *data.get("stac_extensions", [])]:
        schema = schemas.get(_schema_key(uri))
        if schema is None:
            if missing == "error":
                raise SchemaNotFoundError(
                    f"{data.get('id', '?')}: no local schema for {uri} under {schema_dir}; add it "
                    "to the folder (and its schema-config.json) or stop declaring the extension"
                )
            report[uri] = "no local schema"
            continue
        validator = jsonschema.Draft7Validator(schema, registry=registry)
        error = jsonschema.exceptions.best_match(validator.iter_errors(checked))
        if error is not None:
            error.message = f"{data.get('id', '?')} against {uri}: {error.message}"
            raise error
        report[uri] = "valid"
    return report


def _draft7() -> Any:
    from referencing.jsonschema import DRAFT7

    return DRAFT7
