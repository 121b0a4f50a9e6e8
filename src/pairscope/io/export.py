"""Reproducible export of pair results: Cloud-Optimized GeoTIFFs + STAC items, PNG maps, pair tables.

One pair of a results Dataset (``pairscope.coherence.estimate_pairs``, radar or map geometry) becomes
one directory with one COG per layer (coherence, phase, valid sample count and, when given, the
look-vector / incidence layers) and a STAC item that says everything needed to redraw and redo it:

- ``proj:*`` (code, shape, transform, bbox) when the result is geocoded; radar-geometry results
  (no CRS) get ``proj:code: null``, ``pairscope:geometry: "radar"`` and a ``geolocation`` asset with
  the per-pixel latitude / longitude grid (bands ``grid_lat``, ``grid_lon``, the openEO names);
- ``raster:bands`` with data type, unit, nodata, scale/offset and statistics;
- ``renders`` for every layer, taken from ``pairscope.render.DEFAULT_RENDERS`` so a tile server
  (titiler) draws the files exactly as the app does;
- the ``sar:*`` / ``sat:*`` / ``s1:*`` fields shared by the input items, the window as
  ``sar:looks_azimuth`` / ``sar:looks_range``;
- processing parameters: ``processing:software``, ``processing:lineage`` and ``pairscope:*``
  (estimator, window, bias correction, input item ids and dates, baselines, mean coherence);
- ``start_datetime`` / ``end_datetime``: the pair's reference and secondary dates.

Every file is written to a temporary name in the target directory and renamed into place
(``os.replace``, atomic on POSIX), the item JSON last: an item that exists is complete, and a
process killed mid-write leaves at most a stray ``.tmp`` file, never a truncated product.
"""

from __future__ import annotations

import contextlib
import csv
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
from typing import Any

import numpy as np
import pystac
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from pairscope._version import __version__
from pairscope.errors import SchemaNotFoundError

__all__ = [
    "EXTENSIONS",
    "LAYERS",
    "export_geometry",
    "export_pair",
    "export_pairs",
    "export_png",
    "is_complete",
    "pair_item_id",
    "pairs_table",
    "pairs_table_from_items",
    "remove_stale_temporaries",
    "SchemaNotFoundError",
    "validate_item",
    "write_cog",
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


class _Layer:
    """How one result variable is written: asset key, render key, unit, overview resampling."""

    def __init__(
        self, asset: str, render: str, unit: str, title: str, resampling: str, dtype: str = "float32"
    ) -> None:
        self.asset = asset
        self.render = render
        self.unit = unit
        self.title = title
        # wrapped phase is never averaged as a real number: nearest overviews
        self.resampling = resampling
        self.dtype = dtype


#: Result / geometry variable name -> how it is exported.
LAYERS: dict[str, _Layer] = {
    "coherence": _Layer("coherence", "coherence", "1", "Coherence magnitude", "AVERAGE"),
    "phase": _Layer("phase", "phase", "rad", "Differential phase (wrapped)", "NEAREST"),
    "valid_count": _Layer(
        "valid_count", "valid_count", "1", "Valid samples in the window", "NEAREST", "int32"
    ),
    "look_x": _Layer("look_x", "look_x", "1", "Look vector x (ECEF, antenna to target)", "AVERAGE"),
    "look_y": _Layer("look_y", "look_y", "1", "Look vector y (ECEF, antenna to target)", "AVERAGE"),
    "look_z": _Layer("look_z", "look_z", "1", "Look vector z (ECEF, antenna to target)", "AVERAGE"),
    "los_east": _Layer("los_east", "los_east", "1", "LOS east (target to sensor)", "AVERAGE"),
    "los_north": _Layer("los_north", "los_north", "1", "LOS north (target to sensor)", "AVERAGE"),
    "los_up": _Layer("los_up", "los_up", "1", "LOS up (target to sensor)", "AVERAGE"),
    "incidence_angle": _Layer(
        "incidence", "incidence", "deg", "Incidence angle (ellipsoid normal)", "AVERAGE"
    ),
}

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
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[pathlib.Path]:
    """Delete the temporary files that writers killed mid-write left under ``directory``.

    Only temporaries written on this host by a process that no longer exists are removed (the
    name carries host and pid), so a concurrent writer is never disturbed. Returns what was removed.
    """
    removed = []
    for path in pathlib.Path(directory).rglob(".*.tmp"):
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


def _statistics(band: np.ndarray) -> dict[str, float]:
    finite = band[np.isfinite(band)] if band.dtype.kind == "f" else band.ravel()
    if finite.size == 0:
        return {"valid_percent": 0.0}
    return {
        "minimum": float(finite.min()),
        "maximum": float(finite.max()),
        "mean": float(finite.mean(dtype=np.float64)),
        "stddev": float(finite.std(dtype=np.float64)),
        "valid_percent": round(100.0 * finite.size / band.size, 4),
    }


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
    level: int = 1,
    tags: Mapping[str, str] | None = None,
    hook: StageHook | None = None,
) -> list[dict[str, Any]]:
    """Write a 2-D or (band, row, col) array as a Cloud-Optimized GeoTIFF, atomically.

    ``crs``/``transform`` None writes a radar-geometry file without georeferencing (pixel grid
    only). Overviews are built with ``resampling`` (use ``"NEAREST"`` for wrapped phase).
    DEFLATE with a predictor at ``level`` (1: fastest, speckled layers barely compress further;
    smooth grids such as lat/lon gain from 6).
    Returns the STAC ``raster:bands`` entries (data type, nodata, unit, scale, offset, statistics).
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
                if tags:
                    dst.update_tags(**tags)
            with memory.open() as src, _atomic_path(target, hook) as tmp:
                rasterio.shutil.copy(
                    src, tmp, driver="COG", COMPRESS="DEFLATE", LEVEL=int(level),
                    PREDICTOR="YES", BLOCKSIZE=256, OVERVIEW_RESAMPLING=resampling,
                    BIGTIFF="IF_SAFER",
                )
    bands: list[dict[str, Any]] = []
    for i in range(count):
        band: dict[str, Any] = {"name": names[i], "data_type": array.dtype.name}
        if nodata is not None:
            band["nodata"] = "nan" if isinstance(nodata, float) and math.isnan(nodata) else nodata
        if unit_list[i]:
            band["unit"] = unit_list[i]
        band["scale"] = scale
        band["offset"] = offset
        band["statistics"] = _statistics(array[i])
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


def _render_definitions(assets: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    from pairscope.render import DEFAULT_RENDERS

    renders: dict[str, dict[str, Any]] = {}
    for asset_key, render_key in assets:
        if render_key not in DEFAULT_RENDERS:
            continue
        render = json.loads(json.dumps(dict(DEFAULT_RENDERS[render_key])))
        render["assets"] = [asset_key]
        render.setdefault("title", LAYERS_BY_ASSET[asset_key].title)
        renders[asset_key] = render
    return renders


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
) -> pystac.Item:
    """Write one pair of ``result`` as COGs + a STAC item in ``directory/<item id>/``.

    ``inputs`` are the reference and secondary SLC items (their ids, dates, sar/sat/s1 fields and
    hrefs go into the item); ``geometry`` an optional Dataset of look-vector / incidence layers on
    the same grid. Window, bias correction, estimator, burst id and polarization default to the
    result's ``attrs`` (as ``estimate_pairs`` records them), then to the inputs. Returns the item,
    its self href set to the written JSON.
    """
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
    mean_coh = float(np.nanmean(coherence.values)) if np.isfinite(coherence.values).any() else None
    props.update(_processing_fields(
        ds, attrs, input_dicts, estimator=estimator, window=window, bias=bias,
        polarization=polarization, geometry="map" if _map_grid(coherence) is not None else "radar",
        mean_coherence=mean_coh,
    ))
    return _write_item(item_id, pathlib.Path(directory), ds, coherence, sources, props,
                       input_dicts, None, hook)


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
) -> pystac.Item:
    """Write ``sources`` as COGs (+ the geolocation grid in radar geometry) and the item, last."""
    out = directory / item_id
    out.mkdir(parents=True, exist_ok=True)
    grid = _map_grid(template)
    crs, transform = grid if grid is not None else (None, None)
    shape = [int(n) for n in template.shape]

    assets: dict[str, pystac.Asset] = {}
    written: list[tuple[str, str]] = []
    for name, da in sources:
        layer = LAYERS[name]
        if tuple(int(n) for n in da.shape) != tuple(shape):
            raise ValueError(f"layer {name!r} has shape {da.shape}, the grid is {tuple(shape)}")
        values = np.asarray(da.values)
        if layer.dtype == "int32":
            values = np.where(np.isfinite(values), values, 0).astype("int32")
        else:
            values = values.astype("float32")
        filename = f"{item_id}_{layer.asset}.tif"
        bands = write_cog(
            values, out / filename, crs=crs, transform=transform, band_names=[layer.asset],
            units=layer.unit, nodata=None if layer.dtype == "int32" else float("nan"),
            resampling=layer.resampling, hook=hook,
            tags={"pairscope_item": item_id, "pairscope_layer": layer.asset},
        )
        assets[layer.asset] = pystac.Asset(
            href=f"./{filename}", media_type=pystac.MediaType.COG, title=layer.title,
            roles=["data"], extra_fields={"raster:bands": bands},
        )
        written.append((layer.asset, layer.render))

    if grid is None:
        lat, lon = _latlon(ds, template)
        geolocation = f"{item_id}_geolocation.tif"
        bands = write_cog(
            np.stack([lat, lon]).astype("float64"), out / geolocation,
            band_names=["grid_lat", "grid_lon"], units=["deg", "deg"], resampling="AVERAGE",
            level=6, hook=hook, tags={"pairscope_item": item_id, "pairscope_layer": "geolocation"},
        )
        assets["geolocation"] = pystac.Asset(
            href=f"./{geolocation}", media_type=pystac.MediaType.COG,
            title="Latitude / longitude (WGS84) of each radar-geometry pixel",
            roles=["metadata", "geolocation"], extra_fields={"raster:bands": bands},
        )
        footprint = _footprint_radar(lat, lon)
        props["proj:code"] = None
        props["pairscope:geometry"] = "radar"
        props["pairscope:geolocation_asset"] = "geolocation"
    else:
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
    props["renders"] = _render_definitions(written)

    item = pystac.Item(
        id=item_id, geometry=footprint, bbox=_bbox_of(footprint), datetime=datetime,
        properties=props, stac_extensions=sorted(EXTENSIONS[k] for k in _used_extensions(props)),
    )
    for key, asset in assets.items():
        item.add_asset(key, asset)
    from pairscope.io.http import redact_url

    for source in input_dicts:
        href = _self_href(source)
        if href:
            href = redact_url(href)  # never write a token into an exported file
            item.add_link(pystac.Link("derived_from", href, media_type=pystac.MediaType.JSON,
                                      title=str(source.get("id", ""))))
    path = out / f"{item_id}.json"
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
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
) -> pystac.Item:
    """Write the look-vector / incidence layers of one burst (no pair dimension) as COGs + an item.

    ``geometry`` holds any of ``look_x, look_y, look_z, los_east, los_north, los_up,
    incidence_angle`` on ``(azimuth, range)`` with 2-D ``latitude``/``longitude`` coords, or on a
    ``(y, x)`` grid with a CRS. ``inputs``: the acquisition item(s) whose orbit it describes;
    ``source`` says where the layers come from (recorded as ``pairscope:geometry_source``).
    """
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
                       [(n, geometry[n]) for n in names], props, input_dicts, when, hook)


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
    return fields


def _baseline_days(ds: xr.Dataset, ref: np.datetime64, sec: np.datetime64) -> float:
    if "temporal_baseline" in ds.coords:
        value = float(ds["temporal_baseline"].values)
    else:
        value = float((sec - ref) / np.timedelta64(1, "D"))
    return int(value) if value == int(value) else value


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
    items = []
    for i in range(result.sizes["pair"]):
        ds = result.isel(pair=i)
        pair_inputs = [by_day[d] for d in (_day(ds["reference"].values), _day(ds["secondary"].values))
                       if d in by_day]
        items.append(export_pair(result, i, directory, inputs=pair_inputs, geometry=geometry, **kwargs))
    if csv_name:
        write_pairs_csv(pairs_table(result), pathlib.Path(directory) / csv_name)
    return items


# ---------------------------------------------------------------------------------------------
# tables, PNG


_CSV_COLUMNS = (
    "reference", "secondary", "temporal_baseline_days", "perpendicular_baseline_m",
    "mean_coherence", "valid_pixels", "item",
)


def pairs_table(result: xr.Dataset) -> list[dict[str, Any]]:
    """One row per pair: dates, temporal / perpendicular baselines, mean coherence, valid pixels."""
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
            "mean_coherence": round(float(coh[valid].mean()), 6) if valid.any() else None,
            "valid_pixels": int(valid.sum()), "item": None,
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
            "mean_coherence": p.get("pairscope:mean_coherence"),
            "valid_pixels": int(round(stats.get("valid_percent", 0.0) / 100 * shape[0] * shape[1])),
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


def _local_schemas(schema_dir: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Schemas by public URI: ``schema-config.json`` (URI -> file) when the folder has one, then any
    other ``*.json`` under it whose ``$id`` is a schema URI; pystac's bundled core schemas last."""
    from pystac.validation.local_validator import get_local_schema_cache

    schemas: dict[str, dict[str, Any]] = {}
    for config in sorted(schema_dir.rglob("schema-config.json")):
        mapping = json.loads(config.read_text(encoding="utf-8")).get("schemas", {})
        for uri, rel in mapping.items():
            schemas[uri.rstrip("#")] = json.loads((config.parent / rel).read_text(encoding="utf-8"))
    for file in sorted(schema_dir.rglob("*.json")):
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("$id"), str) and "$schema" in doc:
            schemas.setdefault(doc["$id"].rstrip("#"), doc)
    for uri, doc in get_local_schema_cache().items():
        schemas.setdefault(uri.rstrip("#"), doc)
    return schemas


def validate_item(
    item: pystac.STACObject | Mapping[str, Any],
    schema_dir: str | os.PathLike[str],
    *,
    missing: str = "error",
) -> dict[str, str]:
    """Validate a STAC document (item, collection or catalog) offline: the STAC core schema of its
    type and version, then every extension it declares in ``stac_extensions``, each against its own
    schema from ``schema_dir`` (a folder with ``schema-config.json`` mapping public URIs to files,
    as ``tests/data/stac/schemas``, or any ``*.json`` schemas with an ``$id``). Nothing is fetched:
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
        key = uri.rstrip("#")
        if key in schemas:
            return Resource.from_contents(schemas[key], default_specification=_draft7())
        raise LookupError(f"no local copy of schema {uri}; pairscope validates offline only")

    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    kind = _CORE_KINDS.get(str(data.get("type")))
    if kind is None:
        raise ValueError(f"not a STAC item, collection or catalog: type {data.get('type')!r}")
    core = f"https://schemas.stacspec.org/v{data.get('stac_version', '1.1.0')}/{kind}"
    report: dict[str, str] = {}
    for uri in [core, *data.get("stac_extensions", [])]:
        schema = schemas.get(uri.rstrip("#"))
        if schema is None:
            if missing == "error":
                raise SchemaNotFoundError(
                    f"{data.get('id', '?')}: no local schema for {uri} under {schema_dir}; add it "
                    "to the folder (and its schema-config.json) or stop declaring the extension"
                )
            report[uri] = "no local schema"
            continue
        validator = jsonschema.Draft7Validator(schema, registry=registry)
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
        if error is not None:
            error.message = f"{data.get('id', '?')} against {uri}: {error.message}"
            raise error
        report[uri] = "valid"
    return report


def _draft7() -> Any:
    from referencing.jsonschema import DRAFT7

    return DRAFT7
