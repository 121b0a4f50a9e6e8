"""CEOS-ARD collections of the demo scene: GSLC, and NRB + flattened phase, in map geometry.

``write_ard_collections(catalog_root, scene)`` adds to a demo catalog written by
:func:`pairscope.sim.demo.build_catalog` the products of one burst, ``scene``'s (the demo writes
them for its first burst, ``T117_249435_IW2``, only: the neighbours' would double the build time
and the per-pixel layers below are one set per collection)::

    pairscope-demo-gslc/collection.json
    pairscope-demo-gslc/layers/data-mask.tif, local-incidence-angle.tif, ellipsoid-incidence-angle.tif,
                        dem.tif, look-vector-grid.tif (look_x, look_y, look_z), slant-range.tif
    pairscope-demo-gslc/<item>/<item>.json, VV.tif, VH.tif     complex64 GSLC, one band each
    pairscope-demo-nrb/collection.json
    pairscope-demo-nrb/<item>/<item>.json, gamma0_VV.tif, flattened_phase_VV.tif, ...

How the GSLC is made, following the specification's order (eq. 3, then geocoding):

1. **Flattening.** The simulator delivers its radar-geometry SLCs already flattened in slant range:
   the phase ``4 pi / lambda * R_k`` that date ``k``'s orbit predicts over the DEM is absent, so
   only the residual phase of the DEM error (against the reference orbit), the deformation, the
   atmosphere and the speckle are left (:mod:`pairscope.sim.simulate`, point 6). That is exactly the
   flattened SLC of eq. 3; flattening again would remove the topography twice.
2. **Geocoding (backward).** A map grid in the UTM zone of the scene, 5 m (x) by 10 m (y) as
   OPERA CSLC-S1, its origin snapped to multiples of 20 m (so 20 m products align with it). For
   every map pixel centre: latitude/longitude, the DEM height there (bilinear), and the
   zero-Doppler azimuth time and slant range from the reference orbit
   (:func:`pairscope.geometry.look_geometry`); the pixel takes the nearest radar sample. The
   simulated speckle is white (independent from sample to sample), so there is nothing to
   interpolate between samples: nearest neighbour keeps every value a true sample.
3. **Per-pixel layers** (static, from the reference date's orbit and the DEM, as OPERA's
   CSLC-S1-STATIC): data mask (no data outside the burst, layover, shadow), local and ellipsoidal
   incidence angles, DEM, radar unit look vector grid (ECEF, antenna to target), slant range.
4. **NRB + flattened phase** of the same samples: ``gamma0 = |GSLC|^2`` (linear power) and
   ``flattened_phase = arg(GSLC)``, the specification's "GSLC saved as NRB". The simulated
   backscatter has no terrain modulation, so ``|SLC|^2`` is already terrain-flat (gamma0-like).
   NRB items carry no look vector grid: readers compute it from the orbit asset.
"""

from __future__ import annotations

import json
import math
import pathlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyproj
import rasterio
import rasterio.shutil
import xarray as xr
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from pairscope import geometry
from pairscope.io.ard import (
    DATA_MASK_CLASSES,
    GSLC,
    MASK_LAYOVER,
    MASK_NO_DATA,
    MASK_SHADOW,
    MASK_VALID,
    NRB,
    PER_PIXEL_LAYERS,
    SPECIFICATION_VERSION,
    PerPixelLayer,
)
from pairscope.sim.simulate import (
    AZIMUTH_TIME_INTERVAL,
    POLARIZATIONS,
    RANGE_PIXEL_SPACING,
    SIZES,
    BurstScene,
    make_scene,
)

__all__ = [
    "GSLC_COLLECTION",
    "NRB_COLLECTION",
    "X_SPACING",
    "Y_SPACING",
    "GRID_SNAP",
    "MapGeocoding",
    "geocode_scene",
    "write_ard_collections",
]

GSLC_COLLECTION = "pairscope-demo-gslc"
NRB_COLLECTION = "pairscope-demo-nrb"
SLC_COLLECTION = "pairscope-demo-slc"
X_SPACING = 5.0
Y_SPACING = 10.0
GRID_SNAP = 20.0
STAC_VERSION = "1.1.0"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
#: The CEOS-ARD SAR product family specification (its PDF: the ceos-ard extension allows a link to
#: the PDF or the Word document only).
CEOS_ARD_PFS = "https://ceos.org/ard/files/PFS/SAR/v1.1/CEOS-ARD_PFS_Synthetic_Aperture_Radar_v1.1.pdf"
EXT = {
    "sar": "https://stac-extensions.github.io/sar/v1.3.0/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.2.0/schema.json",
    "projection": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "product": "https://stac-extensions.github.io/product/v0.1.0/schema.json",
    "ceosard": "https://stac-extensions.github.io/ceos-ard/v0.2.0/schema.json",
    "classification": "https://stac-extensions.github.io/classification/v1.1.0/schema.json",
}


# ----------------------------------------------------------------------------------------------
# backward geocoding of the scene
class MapGeocoding:
    """The map grid of the demo GSLC and, per map pixel, its radar sample and look geometry.

    Attributes: ``crs``, ``transform``, ``x``/``y`` (pixel centres), ``shape``; ``line``,
    ``sample`` (nearest radar sample, -1 outside the burst), ``valid`` (inside the burst);
    ``layers`` (Dataset: the per-pixel metadata layers, float32/uint8, dims ``(y, x)``).
    """

    def __init__(
        self,
        crs: pyproj.CRS,
        transform: Affine,
        shape: tuple[int, int],
        line: npt.NDArray[np.int64],
        sample: npt.NDArray[np.int64],
        layers: xr.Dataset,
    ) -> None:
        self.crs = crs
        self.transform = transform
        self.shape = shape
        self.x = transform.c + (np.arange(shape[1]) + 0.5) * transform.a
        self.y = transform.f + (np.arange(shape[0]) + 0.5) * transform.e
        self.line = line
        self.sample = sample
        self.valid = line >= 0
        self.layers = layers
        self._flat: tuple[tuple[int, ...], npt.NDArray[np.intp], npt.NDArray[np.intp]] | None = None

    def take(self, radar: npt.NDArray[Any], fill: Any = 0) -> npt.NDArray[Any]:
        """A radar-geometry array (lines, samples) resampled to the map grid (nearest)."""
        if radar.ndim != 2:
            raise ValueError(f"take() resamples one (lines, samples) array, not {radar.shape}")
        if self._flat is None or self._flat[0] != radar.shape:
            src = np.ravel_multi_index((self.line[self.valid], self.sample[self.valid]), radar.shape)
            self._flat = (radar.shape, src, np.flatnonzero(self.valid))
        _, src, dst = self._flat
        out = np.full(self.shape, fill, dtype=radar.dtype)
        out.reshape(-1)[dst] = radar.reshape(-1)[src]
        return out


def _utm(latitude: float, longitude: float) -> pyproj.CRS:
    zone = int(math.floor((longitude + 180.0) / 6.0)) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if latitude >= 0 else 32700) + zone)


def geocode_scene(
    scene: BurstScene,
    orbit: geometry.Orbit,
    latitude: npt.NDArray[np.float64],
    longitude: npt.NDArray[np.float64],
) -> MapGeocoding:
    """Backward geocoding of the scene's radar grid (``latitude``/``longitude`` per sample) onto
    its snapped 5 m x 10 m UTM grid, with the per-pixel layers from ``orbit`` and the DEM."""
    crs = _utm(float(np.median(latitude)), float(np.median(longitude)))
    to_map = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xs, ys = to_map.transform(longitude.ravel(), latitude.ravel())
    x0 = math.floor(float(np.min(xs)) / GRID_SNAP) * GRID_SNAP
    x1 = math.ceil(float(np.max(xs)) / GRID_SNAP) * GRID_SNAP
    y1 = math.floor(float(np.min(ys)) / GRID_SNAP) * GRID_SNAP
    y0 = math.ceil(float(np.max(ys)) / GRID_SNAP) * GRID_SNAP
    shape = (int(round((y0 - y1) / Y_SPACING)), int(round((x1 - x0) / X_SPACING)))
    transform = Affine(X_SPACING, 0.0, x0, 0.0, -Y_SPACING, y0)
    xc = x0 + (np.arange(shape[1]) + 0.5) * X_SPACING
    yc = y0 - (np.arange(shape[0]) + 0.5) * Y_SPACING
    xx, yy = np.meshgrid(xc, yc)
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xx, yy)
    dims = ("y", "x")
    coords = {"y": yc, "x": xc}
    lat_da = xr.DataArray(lat, dims=dims, coords=coords)
    lon_da = xr.DataArray(lon, dims=dims, coords=coords)
    # the DEM cut to the map grid (+2 nodes): the same bilinear values, far less to interpolate on
    dem_lat, dem_lon = scene.dem["latitude"].values, scene.dem["longitude"].values
    rows = np.flatnonzero((dem_lat >= lat.min()) & (dem_lat <= lat.max()))
    cols = np.flatnonzero((dem_lon >= lon.min()) & (dem_lon <= lon.max()))
    cut_rows = slice(max(0, rows.min() - 2), rows.max() + 3) if rows.size else slice(None)
    cut_cols = slice(max(0, cols.min() - 2), cols.max() + 3) if cols.size else slice(None)
    dem_cut = scene.dem.isel(latitude=cut_rows, longitude=cut_cols).astype(np.float64)
    height = dem_cut.interp(latitude=lat_da, longitude=lon_da, method="linear")
    height = height.drop_vars(["latitude", "longitude"], errors="ignore")
    h = np.asarray(height.values)
    inside_dem = np.isfinite(h)
    h = np.where(inside_dem, h, float(np.nanmedian(h)))
    geo = geometry.look_geometry(
        orbit, lat_da, lon_da, xr.DataArray(h, dims=dims, coords=coords)
    )
    t0 = scene.azimuth_time[0]
    dt = (geo["azimuth_time"].values - t0).astype(np.float64) * 1e-9
    line_f = dt / AZIMUTH_TIME_INTERVAL
    sample_f = (geo["slant_range"].values - scene.slant_range[0]) / RANGE_PIXEL_SPACING
    lines, samples = scene.config.lines, scene.config.samples
    line = np.rint(line_f)
    sample = np.rint(sample_f)
    valid = (
        inside_dem
        & np.isfinite(line)
        & np.isfinite(sample)
        & (line >= 0)
        & (line < lines)
        & (sample >= 0)
        & (sample < samples)
    )
    line_i = np.where(valid, line, -1).astype(np.int64)
    sample_i = np.where(valid, sample, -1).astype(np.int64)

    geo = geo.assign_coords(latitude=(dims, lat), longitude=(dims, lon))
    dem = scene.dem
    lia = geometry.local_incidence_angle(geo, dem).values
    flags = geometry.layover_shadow_mask(geo, dem).values
    mask = np.full(shape, MASK_VALID, dtype=np.uint8)
    mask[flags == geometry.LAYOVER] = MASK_LAYOVER
    mask[flags == geometry.SHADOW] = MASK_SHADOW
    mask[~valid] = MASK_NO_DATA

    def f32(values: npt.ArrayLike) -> npt.NDArray[np.float32]:
        return np.where(valid, np.asarray(values, dtype=np.float64), np.nan).astype(np.float32)

    layers = xr.Dataset(
        {
            "data_mask": (dims, mask),
            "local_incidence_angle": (dims, f32(lia)),
            "incidence_angle": (dims, f32(geo["incidence_angle"].values)),
            "height": (dims, f32(h)),
            "look_x": (dims, f32(geo["look_x"].values)),
            "look_y": (dims, f32(geo["look_y"].values)),
            "look_z": (dims, f32(geo["look_z"].values)),
            "slant_range": (dims, f32(geo["slant_range"].values)),
        },
        coords=coords,
    )
    return MapGeocoding(crs, transform, shape, line_i, sample_i, layers)


# ----------------------------------------------------------------------------------------------
# writers
def _write_json(path: pathlib.Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8")


def _write_cog(
    path: pathlib.Path,
    bands: Sequence[npt.NDArray[Any]],
    names: Sequence[str],
    grid: MapGeocoding,
    *,
    nodata: float | None = None,
    units: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    data = np.stack(bands)
    profile: dict[str, Any] = {
        "driver": "GTiff", "height": grid.shape[0], "width": grid.shape[1], "count": len(bands),
        "dtype": str(data.dtype), "crs": grid.crs, "transform": grid.transform,
        "tiled": True, "blockxsize": 256, "blockysize": 256,
    }
    if nodata is not None:
        profile["nodata"] = nodata
    path.parent.mkdir(parents=True, exist_ok=True)
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data)
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
                if units:
                    dst.set_band_unit(i, units)
            if tags:
                dst.update_tags(**tags)
        options: dict[str, Any] = {"COMPRESS": "ZSTD", "LEVEL": 1, "BLOCKSIZE": 256, "OVERVIEWS": "NONE",
                                   "NUM_THREADS": 2}
        if data.dtype == np.float32:
            options["PREDICTOR"] = 3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            rasterio.shutil.copy(mem.name, path, driver="COG", **options)


def _gdal_type(dtype: npt.DTypeLike) -> str:
    return {"complex64": "cfloat32", "float32": "float32", "uint8": "uint8"}[np.dtype(dtype).name]


def _band_fields(names: Sequence[str], dtype: npt.DTypeLike, unit: str, nodata: Any = None) -> dict[str, Any]:
    bands = []
    for n in names:
        b: dict[str, Any] = {"name": n, "data_type": _gdal_type(dtype), "unit": unit}
        if nodata is not None:
            b["nodata"] = nodata
        bands.append(b)
    return {"bands": bands}


def _layer_asset(layer: PerPixelLayer, href: str, dtype: npt.DTypeLike, reference: str) -> dict[str, Any]:
    asset: dict[str, Any] = {
        "href": href,
        "type": COG,
        "title": layer.title,
        "description": (
            f"CEOS-ARD {layer.identifier}; computed from the orbit of the reference date "
            f"{reference} and the DEM, on the product grid (static for the burst)"
        ),
        "roles": ["metadata", layer.asset],
        **_band_fields(layer.variables, dtype, layer.units, MASK_NO_DATA if layer.asset == "data-mask" else "nan"),
    }
    if layer.asset == "data-mask":
        asset["classification:classes"] = [
            {"value": v, "name": name.replace(" ", "-"), "description": name}
            for v, name in DATA_MASK_CLASSES.items()
        ]
        asset["description"] += "; 0 is valid, every other value is excluded from estimates"
    return asset


def _read_json(path: pathlib.Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _slc_items(root: pathlib.Path, burst: str | None = None) -> list[tuple[pathlib.Path, dict[str, Any]]]:
    coll_path = root / SLC_COLLECTION / "collection.json"
    if not coll_path.is_file():
        raise FileNotFoundError(
            f"{coll_path} not found: write_ard_collections adds to a demo catalog made by "
            "pairscope.sim.demo.build_catalog (run it first)"
        )
    coll = _read_json(coll_path)
    out = []
    for link in coll.get("links", []):
        if link.get("rel") == "item":
            path = (coll_path.parent / link["href"]).resolve()
            item = _read_json(path)
            if burst is None or item["properties"].get("pairscope:burst_id") == burst:
                out.append((path, item))
    if not out:
        raise ValueError(f"{coll_path} links no item" + (f" of burst {burst}" if burst else ""))
    out.sort(key=lambda t: t[1]["properties"]["datetime"])
    return out


def _scene_from_truth(root: pathlib.Path) -> BurstScene:
    truth = _read_json(root / SLC_COLLECTION / "truth.json")
    size = truth.get("size", {})
    key = (size.get("lines"), size.get("samples"), size.get("dates"))
    names = [name for name, shape in SIZES.items() if shape == key]
    if not names:
        raise ValueError(f"the demo's truth.json size {size} matches no simulator size {SIZES}")
    return make_scene(names[0], seed=int(truth["seed"]))


def _read_slc(path: pathlib.Path, pols: Sequence[str]) -> dict[str, npt.NDArray[np.complex64]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            names = list(src.descriptions)
            out = {}
            for pol in pols:
                i, q = names.index(f"i_{pol}") + 1, names.index(f"q_{pol}") + 1
                out[pol] = (src.read(i).astype(np.float32) + 1j * src.read(q)).astype(np.complex64)
            if "grid_lat" in names:
                out["grid_lat"] = src.read(names.index("grid_lat") + 1)
                out["grid_lon"] = src.read(names.index("grid_lon") + 1)
    return out


def _proj_fields(grid: MapGeocoding) -> dict[str, Any]:
    t = grid.transform
    x1, y1 = t.c + grid.shape[1] * t.a, t.f + grid.shape[0] * t.e
    return {
        "proj:code": f"EPSG:{grid.crs.to_epsg()}",
        "proj:shape": list(grid.shape),
        "proj:transform": [t.a, t.b, t.c, t.d, t.e, t.f],
        "proj:bbox": [t.c, y1, x1, t.f],
    }


def _bbox(geom: Mapping[str, Any]) -> list[float]:
    ring = np.asarray(geom["coordinates"][0])
    return [float(ring[:, 0].min()), float(ring[:, 1].min()), float(ring[:, 0].max()), float(ring[:, 1].max())]


def _links(collection: str, slc_item: pathlib.Path, root: pathlib.Path, item_id: str) -> list[dict[str, str]]:
    rel_slc = pathlib.Path("../..") / slc_item.relative_to(root.resolve())
    return [
        {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
        {"rel": "parent", "href": "../collection.json", "type": "application/json"},
        {"rel": "collection", "href": "../collection.json", "type": "application/json"},
        {"rel": "derived_from", "href": rel_slc.as_posix(), "type": "application/geo+json",
         "title": "the radar-geometry SLC this product was made from"},
        {"rel": "ceos-ard-specification", "href": CEOS_ARD_PFS, "type": "application/pdf",
         "title": "CEOS-ARD SAR product family specifications"},
    ]


_PRODUCT_TYPE_KEYS = (
    "sar:product_type", "product:type", "sar:pixel_spacing_range", "sar:pixel_spacing_azimuth",
)


def _item_properties(
    slc_props: Mapping[str, Any], spec: str, grid: MapGeocoding, reference: str, pols: Sequence[str]
) -> dict[str, Any]:
    props = {k: v for k, v in slc_props.items() if k not in _PRODUCT_TYPE_KEYS}
    props.update(
        {
            "sar:product_type": spec,
            "sar:polarizations": list(pols),
            "product:type": spec,
            "ceosard:type": "radar",
            "ceosard:specification": spec,
            "ceosard:specification_version": SPECIFICATION_VERSION,
            "pairscope:geometry_reference_date": reference,
            "pairscope:flattening": (
                "phase 4*pi/wavelength*R of the date's orbit over the DEM removed in slant range "
                "before geocoding (CEOS-ARD eq. 3); residual topography phase against the "
                f"reference orbit of {reference}"
            ),
            "pairscope:geocoding": "backward (map pixel -> zero-Doppler radar sample), nearest sample",
            **_proj_fields(grid),
        }
    )
    return props


def _collection(
    cid: str, spec: str, title: str, description: str, items: Sequence[Mapping[str, Any]],
    grid: MapGeocoding, pols: Sequence[str], assets: Mapping[str, Any],
) -> dict[str, Any]:
    boxes = np.array([it["bbox"] for it in items])
    times = sorted(it["properties"]["datetime"] for it in items)
    first = items[0]["properties"]
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [EXT["ceosard"], EXT["sar"], EXT["sat"], EXT["projection"], EXT["product"]],
        "id": cid,
        "title": title,
        "description": description,
        "license": "CC-BY-4.0",
        "keywords": ["sentinel-1", "insar", "ceos-ard", spec.lower(), "simulation", "pairscope"],
        "providers": [{"name": "pairscope", "roles": ["producer", "processor"]}],
        "extent": {
            "spatial": {"bbox": [[float(boxes[:, 0].min()), float(boxes[:, 1].min()),
                                  float(boxes[:, 2].max()), float(boxes[:, 3].max())]]},
            "temporal": {"interval": [[times[0], times[-1]]]},
        },
        "summaries": {
            "ceosard:type": ["radar"],
            "ceosard:specification": [spec],
            "ceosard:specification_version": [SPECIFICATION_VERSION],
            "product:type": [spec],
            "sar:product_type": [spec],
            "sar:polarizations": list(pols),
            "sar:instrument_mode": ["IW"],
            "sar:frequency_band": ["C"],
            "sar:center_frequency": [5.405],
            "sar:observation_direction": ["right"],
            "sat:relative_orbit": [first["sat:relative_orbit"]],
            "sat:orbit_state": [first["sat:orbit_state"]],
            "proj:code": [f"EPSG:{grid.crs.to_epsg()}"],
        },
        "assets": dict(assets),
        "links": [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
            {"rel": "ceos-ard-specification", "href": CEOS_ARD_PFS, "type": "application/pdf",
             "title": "CEOS-ARD SAR product family specifications"},
        ]
        + [
            {"rel": "item", "href": f"./{it['id']}/{it['id']}.json", "type": "application/geo+json"}
            for it in items
        ],
    }


def _add_children(root: pathlib.Path, children: Sequence[tuple[str, str]]) -> None:
    path = root / "catalog.json"
    catalog = _read_json(path)
    links = [
        link for link in catalog.get("links", [])
        if not (link.get("rel") == "child" and any(cid in link.get("href", "") for cid, _ in children))
    ]
    for cid, title in children:
        links.append({"rel": "child", "href": f"./{cid}/collection.json", "type": "application/json", "title": title})
    catalog["links"] = links
    _write_json(path, catalog)


def write_ard_collections(
    catalog_root: pathlib.Path | str,
    scene: BurstScene | None = None,
    *,
    polarizations: Sequence[str] = POLARIZATIONS,
) -> list[pathlib.Path]:
    """Add the GSLC and the NRB + flattened-phase collections of the demo scene to a demo catalog.

    ``catalog_root``: the folder of the demo's ``catalog.json`` (or that file). ``scene``: the
    :class:`~pairscope.sim.simulate.BurstScene` of the burst to write (the first burst, rebuilt
    from the demo's ``truth.json``, when None); only that burst's SLC items are used. The SLCs are
    read back from the catalog's SLC collection, so the
    ARD products hold exactly the published radar-geometry samples. Returns the paths of the two
    ``collection.json`` files; the root catalog gains (or keeps) one child link to each.
    """
    root = pathlib.Path(catalog_root)
    if root.name == "catalog.json":
        root = root.parent
    if not (root / "catalog.json").is_file():
        raise FileNotFoundError(f"no catalog.json in {root}: build the demo catalog first")
    pols = [p.upper() for p in polarizations]
    unknown = [p for p in pols if p not in POLARIZATIONS]
    if unknown:
        raise ValueError(f"the demo has polarizations {POLARIZATIONS}, not {unknown}")
    if scene is None:
        scene = _scene_from_truth(root)
    slc = _slc_items(root, scene.burst)
    dates = [str(np.datetime64(p["properties"]["datetime"][:10], "D")) for _, p in slc]
    scene_dates = [str(d) for d in scene.dates]
    if dates != scene_dates:
        raise ValueError(f"the catalog's SLC dates {dates} are not the scene's {scene_dates}")
    reference = scene_dates[scene.config.reference_index]
    ref_path, ref_item = slc[scene.config.reference_index]
    ref_orbit = geometry.Orbit.from_eof(ref_path.parent / ref_item["assets"]["orbit"]["href"])
    ref_slc = _read_slc(ref_path.parent / ref_item["assets"]["slc"]["href"], [])
    grid = geocode_scene(scene, ref_orbit, ref_slc["grid_lat"].astype(np.float64), ref_slc["grid_lon"].astype(np.float64))
    footprint = ref_item["geometry"]  # the burst's footprint: the same ground as the SLC

    gslc_dir, nrb_dir = root / GSLC_COLLECTION, root / NRB_COLLECTION
    layer_assets: dict[str, dict[str, Any]] = {}
    for layer in PER_PIXEL_LAYERS:
        dtype = np.uint8 if layer.asset == "data-mask" else np.float32
        bands = [grid.layers[v].values for v in layer.variables]
        _write_cog(
            gslc_dir / "layers" / f"{layer.asset}.tif", bands, layer.variables, grid,
            nodata=MASK_NO_DATA if dtype == np.uint8 else float("nan"), units=layer.units,
        )
        layer_assets[layer.asset] = _layer_asset(layer, f"layers/{layer.asset}.tif", dtype, reference)

    gslc_items: list[dict[str, Any]] = []
    nrb_items: list[dict[str, Any]] = []
    for k, (slc_path, slc_item) in enumerate(slc):
        samples = _read_slc(slc_path.parent / slc_item["assets"]["slc"]["href"], pols)
        props = slc_item["properties"]
        day = dates[k].replace("-", "")
        mission = slc_item["id"].split("_")[0]
        burst = props["pairscope:burst_id"]
        orbit_href = (slc_path.parent / slc_item["assets"]["orbit"]["href"]).relative_to(root.resolve())
        orbit_asset = dict(slc_item["assets"]["orbit"]) | {"href": (pathlib.Path("../..") / orbit_href).as_posix()}
        tags = {
            "ACQUISITION_DATETIME": props["datetime"].rstrip("Z"),
            "BURST_ID": burst,
            "CEOSARD_SPECIFICATION": GSLC,
        }
        for spec, folder, items in ((GSLC, gslc_dir, gslc_items), (NRB, nrb_dir, nrb_items)):
            item_id = f"{mission}_IW_{spec}_{day}_{burst}"
            out = folder / item_id
            assets: dict[str, Any] = {}
            for pol in pols:
                z = grid.take(samples[pol], np.complex64(0))
                if spec == GSLC:
                    _write_cog(out / f"{pol}.tif", [z], [pol], grid, units="1", tags=tags | {"POLARIZATION": pol})
                    assets[pol] = {
                        "href": f"./{pol}.tif", "type": COG, "roles": ["data"],
                        "title": f"{pol} geocoded single-look complex (flattened phase)",
                        **_band_fields([pol], np.complex64, "1"),
                    }
                    continue
                zd = z.astype(np.complex128)
                gamma0 = np.where(grid.valid, (zd * zd.conj()).real, np.nan).astype(np.float32)
                phase = np.where(grid.valid, np.angle(zd), np.nan).astype(np.float32)
                nrb_tags = tags | {"POLARIZATION": pol, "CEOSARD_SPECIFICATION": NRB}
                _write_cog(out / f"gamma0_{pol}.tif", [gamma0], [f"gamma0_{pol}"], grid, nodata=float("nan"), units="1", tags=nrb_tags)
                _write_cog(out / f"flattened_phase_{pol}.tif", [phase], [f"flattened_phase_{pol}"], grid, nodata=float("nan"), units="rad", tags=nrb_tags)
                assets[f"gamma0_{pol}"] = {
                    "href": f"./gamma0_{pol}.tif", "type": COG, "roles": ["data", "gamma0"],
                    "title": f"{pol} gamma0 (linear power, terrain-flat)",
                    **_band_fields([f"gamma0_{pol}"], np.float32, "1", "nan"),
                }
                assets[f"flattened_phase_{pol}"] = {
                    "href": f"./flattened_phase_{pol}.tif", "type": COG,
                    "roles": ["data", "flattened-phase"],
                    "title": f"{pol} flattened phase (rad), arg of the GSLC",
                    **_band_fields([f"flattened_phase_{pol}"], np.float32, "rad", "nan"),
                }
            skip = () if spec == GSLC else ("look-vector-grid", "slant-range")
            for key, asset in layer_assets.items():
                if key in skip:
                    continue
                href = asset["href"] if spec == GSLC else f"{GSLC_COLLECTION}/{asset['href']}"
                assets[key] = asset | {"href": ("../" if spec == GSLC else "../../") + href}
            assets["orbit"] = orbit_asset
            item = {
                "type": "Feature",
                "stac_version": STAC_VERSION,
                "stac_extensions": [EXT["ceosard"], EXT["sar"], EXT["sat"], EXT["projection"], EXT["product"], EXT["classification"]],
                "id": item_id,
                "collection": GSLC_COLLECTION if spec == GSLC else NRB_COLLECTION,
                "geometry": footprint,
                "bbox": _bbox(footprint),
                "properties": _item_properties(props, spec, grid, reference, pols),
                "links": _links(GSLC_COLLECTION if spec == GSLC else NRB_COLLECTION, slc_path, root, item_id),
                "assets": assets,
            }
            _write_json(out / f"{item_id}.json", item)
            items.append(item)

    gslc_coll = _collection(
        GSLC_COLLECTION, GSLC,
        "pairscope demo: CEOS-ARD geocoded SLC (GSLC) stack of the simulated burst",
        "The demo's coregistered, flattened SLCs (pairscope-demo-slc) geocoded backward onto a "
        f"{X_SPACING:g} m x {Y_SPACING:g} m UTM grid snapped to {GRID_SNAP:g} m (nearest radar "
        "sample; the phase was flattened in slant range, CEOS-ARD eq. 3), complex64 COGs, with "
        "the per-pixel metadata layers of the specification (data mask, local and ellipsoidal "
        "incidence, DEM, radar unit look vector grid, slant range) from the reference orbit.",
        gslc_items, grid, pols, {k: dict(v) for k, v in layer_assets.items()},
    )
    nrb_coll = _collection(
        NRB_COLLECTION, NRB,
        "pairscope demo: CEOS-ARD NRB + flattened phase of the simulated burst",
        "The same samples as pairscope-demo-gslc saved as NRB: gamma0 = |GSLC|^2 in linear power "
        "and the per-pixel flattened phase arg(GSLC), so sqrt(gamma0) * exp(i * phase) gives the "
        "GSLC back (CEOS-ARD eq. 20). No look vector grid: compute it from the orbit assets.",
        nrb_items, grid, pols, {},
    )
    _write_json(gslc_dir / "collection.json", gslc_coll)
    _write_json(nrb_dir / "collection.json", nrb_coll)
    _add_children(
        root,
        [(GSLC_COLLECTION, "CEOS-ARD GSLC (map geometry)"),
         (NRB_COLLECTION, "CEOS-ARD NRB + flattened phase (map geometry)")],
    )
    return [gslc_dir / "collection.json", nrb_dir / "collection.json"]

