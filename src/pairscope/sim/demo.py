"""The built-in demo: a static STAC catalog of simulated Sentinel-1 burst stacks.

``build_catalog(directory, seed=0, size="default")`` (and ``pairscope demo build DIR``) writes
three consecutive bursts of subswath IW2 along one pass of relative orbit 117 (``small`` and
``default``; ``full`` holds the first only), ``T117_249435_IW2`` first (so
``search_bursts(catalog)[0]`` is the one-burst demo's burst), then ``T117_249436_IW2`` and
``T117_249437_IW2``::

    catalog.json
    pairscope-demo-slc/collection.json          coregistered SLC bursts, one item per burst and date
    pairscope-demo-slc/geometry.tif             first burst: height, incidence, look vectors, range
    pairscope-demo-slc/truth.json               first burst: model parameters (simulate.BurstScene.truth)
    pairscope-demo-slc/truth.tif                first burst: class map, DEM error, true phases per date
    pairscope-demo-slc/geometry_<burst>.tif     the same for each other burst
    pairscope-demo-slc/truth_<burst>.json, truth_<burst>.tif
    pairscope-demo-slc/<item>/<item>.json       sar/sat/burst-id fields, footprint
    pairscope-demo-slc/<item>/slc.tif           i_VV, q_VV, i_VH, q_VH, grid_lat, grid_lon
    pairscope-demo-slc/<item>/<EOF name>.EOF    the date's orbit (ESA EOF, 10 s state vectors)
    pairscope-demo-coherence/collection.json    published-style coherence (Terrascope format)
    pairscope-demo-coherence/<item>/<item>.json every burst's pairs 6 and 12 days apart
    pairscope-demo-coherence/<item>/VV.tif      uint8 COG, scale 0.004, nodata 255, UTM 32N 20 m
    pairscope-demo-coherence/<item>/VH.tif
    pairscope-demo-gslc/, pairscope-demo-nrb/   CEOS-ARD products of the first burst (sim.ard)

The bursts share their dates, platforms and orbits: a burst is seen ``BURST_CYCLE`` (2.758 s)
after the one before on the very same orbit (the EOF files of a date are identical, one per
item), so its burst-ID number, sensing times and footprint follow on along the track while the
absolute orbit and ``sat:anx_datetime`` stay. Each burst has its own terrain, land cover,
turbulence, speckle and Mogi source (drawn from the seed and the burst's offset; the pass's
orbital tube and the per-date stratified delay are shared), its own footprint from its own
latitude/longitude grid, and its own geometry and truth. At the ``default`` and ``full`` sizes a
burst spans a whole burst in azimuth (1500 lines, 3.08 s), so consecutive footprints adjoin with
the real ~0.32 s (~2 km) overlap; ``small`` keeps 150-line crops of each burst, its footprints one
burst cycle (~19 km) apart with gaps between them. The land cover of two bursts is not
continuous across their overlap (each burst draws its own fields).

Every link is relative, so the folder can be moved or served over HTTP. The SLC files follow the
openEO ``insar_preprocessing`` layout (float32 i/q bands plus the per-pixel latitude/longitude
grid) in radar geometry, without a CRS: rasterio warns ``NotGeoreferencedWarning`` when opening
them. The coherence products imitate a real published product (VITO Terrascope
``terrascope-s1-slc-coherence-v1``): estimated with a **4 x 19** (azimuth x range) window, not
pairscope's default 5 x 21, then geocoded to 20 m, so the QA view has honest differences to show.

Collection assets of ``pairscope-demo-slc``, one set per burst, each naming its burst in
``pairscope:burst_id``: ``geometry``, ``truth`` and ``truth_map`` for the first burst (the names
and files of the one-burst demo), ``geometry_<burst>``, ``truth_<burst>`` and
``truth_map_<burst>`` for the others. :func:`open_truth` reads a burst's truth back (the first
burst's by default, ``burst_id=`` for another), :func:`true_pair_coherence` gives the true
coherence map of any pair, :func:`demo_bursts` lists the bursts.

Building is deterministic: the same seed and size give byte-identical files. Sizes, with the CPU
time of a build (user + sys; wall time on the shared 2-core machine varies two- to threefold with
the load of other jobs, see the README): ``small`` 3 bursts of 6 dates x 150 x 600, ~56 MB, ~10 s
CPU (the one-burst demo: ~8 s); ``default`` 3 bursts of 8 dates x 1500 x 640, ~770 MB, ~50 s CPU
(the one-burst 8 x 600 x 3000 demo: ~36 s CPU, ~30 s wall on an idle machine); ``full`` 1 burst of
10 dates x 1500 x 21000, ~6.8 GB on disk, ~7 GB of memory at peak, ~15 minutes.
"""

from __future__ import annotations

import json
import os
import pathlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.shutil
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from pairscope import geometry
from pairscope.sim.simulate import (
    AZIMUTH_TIME_INTERVAL,
    POLARIZATIONS,
    SIZES,
    BurstScene,
    make_scene,
)

__all__ = [
    "SLC_COLLECTION",
    "COHERENCE_COLLECTION",
    "SLC_BANDS",
    "GEOMETRY_BANDS",
    "PRODUCT_WINDOW",
    "PRODUCT_SCALE",
    "PRODUCT_NODATA",
    "PRODUCT_TEMPORAL_BASELINES",
    "BURSTS",
    "build_catalog",
    "burst_ids",
    "open_truth",
    "demo_bursts",
    "true_pair_coherence",
    "slc_item_id",
    "coherence_item_id",
]

SLC_COLLECTION = "pairscope-demo-slc"
COHERENCE_COLLECTION = "pairscope-demo-coherence"
SLC_BANDS = ("i_VV", "q_VV", "i_VH", "q_VH", "grid_lat", "grid_lon")
GEOMETRY_BANDS = (
    "height",
    "incidence_angle",
    "look_x",
    "look_y",
    "look_z",
    "los_east",
    "los_north",
    "los_up",
    "slant_range",
)
#: The published-style product's estimator window (azimuth, range): deliberately not 5 x 21.
PRODUCT_WINDOW = (4, 19)
PRODUCT_SCALE = 0.004
PRODUCT_NODATA = 255
PRODUCT_RESOLUTION = 20.0
PRODUCT_CRS = "EPSG:32632"
#: Pairs published as coherence products: every pair 6 or 12 days apart (the S1A+S1C revisits).
PRODUCT_TEMPORAL_BASELINES = (6, 12)
#: Bursts per demo size: consecutive bursts of IW2 along one pass, 249435 first.
BURSTS = {"small": 3, "default": 3, "full": 1}

STAC_VERSION = "1.1.0"
EXT = {
    "sar": "https://stac-extensions.github.io/sar/v1.3.0/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.2.0/schema.json",
    "eo": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "raster": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "raster2": "https://stac-extensions.github.io/raster/v2.0.0/schema.json",
    "render": "https://stac-extensions.github.io/render/v2.0.0/schema.json",
    "projection": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "product": "https://stac-extensions.github.io/product/v0.1.0/schema.json",
}
COG = "image/tiff; application=geotiff; profile=cloud-optimized"

#: The Terrascope coherence collection's render definition, verbatim from the seed
#: ``terrascope-s1-slc-coherence-v1.collection.json`` (vendor fields included).
TERRASCOPE_RENDERS: dict[str, Any] = {
    "vv": {
        "assets": ["VV"],
        "rescale": [[38, 216]],
        "tilematrixsets": {"EPSG:3857": [8, 14]},
        "colormap_name": "viridis",
        "aggregation": {
            "name": "datetime_frequency",
            "params": {"datetime_frequency_interval": "day"},
        },
        "title": "VV",
    }
}


def slc_item_id(platform: str, date: np.datetime64, burst: str) -> str:
    """``S1A_IW_SLC_20250605_T117_249435_IW2``."""
    return f"S1{platform[-1].upper()}_IW_SLC_{str(date).replace('-', '')}_{burst}"


def coherence_item_id(reference: np.datetime64, secondary: np.datetime64, burst: str) -> str:
    """``S1_IW_COH_20250605_20250617_T117_249435_IW2``."""
    return f"S1_IW_COH_{str(reference).replace('-', '')}_{str(secondary).replace('-', '')}_{burst}"


# ----------------------------------------------------------------------------------------------
# small writers
def _write_json(path: pathlib.Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8"
    )


def _iso(t: np.datetime64) -> str:
    """RFC 3339 UTC, microseconds only when not zero (as pystac writes datetimes back)."""
    text = str(np.asarray(t).astype("datetime64[us]"))
    return (text[:-7] if text.endswith(".000000") else text) + "Z"


class _BandWriter:
    """A float32 raster written block by block into a tiled GeoTIFF, finished as a COG."""

    def __init__(
        self,
        path: pathlib.Path,
        names: Sequence[str],
        shape: tuple[int, int],
        units: Sequence[str],
        *,
        crs: Any = None,
        transform: Any = None,
        dtype: str = "float32",
        nodata: float | None = None,
        scale: float | None = None,
    ):
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp.tif")
        self.names = list(names)
        self.overviews = crs is not None
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "height": shape[0],
            "width": shape[1],
            "count": len(names),
            "dtype": dtype,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "interleave": "band",
        }
        if nodata is not None:
            profile["nodata"] = nodata
        if crs is not None:
            profile["crs"] = crs
            profile["transform"] = transform
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            self.dst = rasterio.open(self.tmp, "w", **profile)
        for i, (name, unit) in enumerate(zip(self.names, units, strict=True), start=1):
            self.dst.set_band_description(i, name)
            if unit:
                self.dst.set_band_unit(i, unit)
        if scale is not None:
            self.dst.scales = (scale,) * len(names)
            self.dst.offsets = (0.0,) * len(names)

    def write(self, row: int, data: npt.NDArray[Any]) -> None:
        """Write (bands, rows, cols) starting at ``row``."""
        window = Window(0, row, data.shape[2], data.shape[1])
        self.dst.write(data.astype(self.dst.dtypes[0], copy=False), window=window)

    def close(self) -> None:
        self.dst.close()
        options: dict[str, Any] = {"COMPRESS": "ZSTD", "NUM_THREADS": 2}
        if self.dst.dtypes[0] == "float32":
            options["PREDICTOR"] = 3
        if self.overviews:  # map grids: GDAL's COG driver, with overviews
            options.update(LEVEL=1, BLOCKSIZE=256, OVERVIEW_RESAMPLING="AVERAGE")
            driver = "COG"
        else:
            # Radar grids (the SLC dates: samples with latitude / longitude; the burst's
            # geometry): band-interleaved, so that reading the samples decodes no grid tile and
            # reading one grid band no other band (a pixel-interleaved file decodes all its bands
            # for any of them: a date's samples 0.053 -> 0.026 s, one grid band 0.058 -> 0.011 s
            # on the default demo). GDAL 3.10's COG driver writes pixel interleaving only; a tiled
            # GTiff with COPY_SRC_OVERVIEWS has the cloud-optimized layout (IFDs first, then the
            # tiles in order: test_45 checks it with rio-cogeo's validator).
            options.update(ZSTD_LEVEL=1, TILED=True, BLOCKXSIZE=256, BLOCKYSIZE=256,
                           INTERLEAVE="BAND", COPY_SRC_OVERVIEWS=True)  # fmt: skip
            driver = "GTiff"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            rasterio.shutil.copy(self.tmp, self.path, driver=driver, **options)
        self.tmp.unlink()


# ----------------------------------------------------------------------------------------------
# the SLC collection
def _footprint(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], points: int = 8
) -> dict[str, Any]:
    """GeoJSON polygon along the grid's edges (counter-clockwise), ``points`` per edge."""
    rows, cols = lat.shape
    r = np.linspace(0, rows - 1, points).round().astype(int)
    c = np.linspace(0, cols - 1, points).round().astype(int)
    edge = (
        [(0, j) for j in c]
        + [(i, cols - 1) for i in r[1:]]
        + [(rows - 1, j) for j in c[::-1][1:]]
        + [(i, 0) for i in r[::-1][1:]]
    )
    ring = [[round(float(lon[i, j]), 7), round(float(lat[i, j]), 7)] for i, j in edge]
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:] + ring[:1], strict=True))
    if area < 0:
        ring = ring[::-1]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _bbox(geom: Mapping[str, Any]) -> list[float]:
    ring = np.asarray(geom["coordinates"][0])
    return [
        float(ring[:, 0].min()),
        float(ring[:, 1].min()),
        float(ring[:, 0].max()),
        float(ring[:, 1].max()),
    ]


def _burst_fields(scene: BurstScene) -> dict[str, Any]:
    c = scene.config
    return {
        "s1:burst_id": c.burst_id,
        "s1:subswath": c.subswath,
        "s1:asf_burst_id": f"{c.relative_orbit:03d}_{c.burst_id:06d}_{c.subswath}",
        "s1:opera_burst_id": f"T{c.relative_orbit:03d}-{c.burst_id:06d}-{c.subswath}",
        "pairscope:burst_id": f"T{c.relative_orbit:03d}_{c.burst_id:06d}_{c.subswath}",
        "sat:relative_orbit": c.relative_orbit,
        "sat:orbit_state": c.orbit_state,
    }


def _sar_fields(product_type: str) -> dict[str, Any]:
    return {
        "sar:instrument_mode": "IW",
        "sar:frequency_band": "C",
        "sar:center_frequency": 5.405,
        "sar:polarizations": list(POLARIZATIONS),
        "sar:product_type": product_type,
        "sar:observation_direction": "right",
    }


def burst_ids(size: str = "default") -> list[str]:
    """The burst ids a demo of ``size`` holds, first burst first (``T117_249435_IW2``, ...)."""
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    return [f"T117_{249435 + k:06d}_IW2" for k in range(BURSTS[size])]


def _burst_file(stem: str, scene: BurstScene, suffix: str) -> str:
    """``geometry.tif`` for the first burst (the one-burst demo's names), ``geometry_<burst>.tif``
    for the others."""
    if scene.config.burst_offset == 0:
        return f"{stem}{suffix}"
    return f"{stem}_{scene.burst}{suffix}"


def _write_rasters(scene: BurstScene, root: pathlib.Path, ids: Sequence[str]) -> dict[str, Any]:
    """SLC per date, geometry and truth rasters, block by block. Returns the grid corners etc."""
    c = scene.config
    shape = (c.lines, c.samples)
    slc_units = ["1", "1", "1", "1", "deg", "deg"]
    slc = [
        _BandWriter(root / SLC_COLLECTION / item_id / "slc.tif", SLC_BANDS, shape, slc_units)
        for item_id in ids
    ]
    geo = _BandWriter(
        root / SLC_COLLECTION / _burst_file("geometry", scene, ".tif"),
        GEOMETRY_BANDS,
        shape,
        ["m", "deg", "1", "1", "1", "1", "1", "1", "m"],
    )
    days = [str(d).replace("-", "") for d in scene.dates]
    truth_names = (
        ["land_cover", "dem_error"]
        + [f"phase_{d}" for d in days]
        + [f"deformation_phase_{d}" for d in days]
    )
    truth = _BandWriter(
        root / SLC_COLLECTION / _burst_file("truth", scene, ".tif"),
        truth_names,
        shape,
        ["1", "m"] + ["rad"] * (2 * len(days)),
    )
    lat = np.empty(shape, dtype=np.float64)
    lon = np.empty(shape, dtype=np.float64)
    for block in scene.blocks():
        row = int(block["azimuth"][0])
        rows = slice(row, row + block.sizes["azimuth"])
        lat[rows], lon[rows] = block["latitude"].values, block["longitude"].values
        for k, writer in enumerate(slc):
            s = block["slc"].values[:, k]
            writer.write(
                row,
                np.stack(
                    [
                        s[0].real,
                        s[0].imag,
                        s[1].real,
                        s[1].imag,
                        block["latitude"].values,
                        block["longitude"].values,
                    ]
                ),
            )
        geo.write(
            row,
            np.stack(
                [block[n].values for n in GEOMETRY_BANDS[:-1]] + [block["slant_range_m"].values]
            ),
        )
        phase = block["deformation_phase"] + block["atmosphere_phase"] + block["topography_phase"]
        truth.write(
            row,
            np.concatenate(
                [
                    block["land_cover"].values[None].astype(np.float32),
                    block["dem_error"].values[None],
                    phase.values,
                    block["deformation_phase"].values,
                ]
            ),
        )
    for writer in [*slc, geo, truth]:
        writer.close()
    return {"latitude": lat, "longitude": lon, "truth_bands": truth_names}


def _raster_bands(
    names: Sequence[str], units: Sequence[str], description: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "eo:bands": [{"name": n, "description": description.get(n, n)} for n in names],
        "raster:bands": [
            {"name": n, "data_type": "float32", **({"unit": u} if u else {})}
            for n, u in zip(names, units, strict=True)
        ],
        "bands": [
            {"name": n, "data_type": "float32", "description": description.get(n, n)} for n in names
        ],
    }


SLC_DESCRIPTIONS = {
    "i_VV": "real part of the VV single-look complex",
    "q_VV": "imaginary part of the VV single-look complex",
    "i_VH": "real part of the VH single-look complex",
    "q_VH": "imaginary part of the VH single-look complex",
    "grid_lat": "latitude of the pixel (WGS84, deg)",
    "grid_lon": "longitude of the pixel (WGS84, deg)",
}
GEOMETRY_UNITS = ("m", "deg", "1", "1", "1", "1", "1", "1", "m")
GEOMETRY_DESCRIPTIONS = {
    "height": "DEM height at the pixel (ellipsoidal, m)",
    "incidence_angle": "incidence angle from the WGS84 ellipsoid normal (deg)",
    "look_x": "ECEF x of the unit look vector, antenna to target",
    "look_y": "ECEF y of the unit look vector, antenna to target",
    "look_z": "ECEF z of the unit look vector, antenna to target",
    "los_east": "east of the unit line of sight, target to sensor",
    "los_north": "north of the unit line of sight, target to sensor",
    "los_up": "up of the unit line of sight, target to sensor",
    "slant_range": "slant range from the reference date's antenna (m)",
}


def _links(
    root: str, parent: str | None = None, collection: str | None = None
) -> list[dict[str, str]]:
    links = [{"rel": "root", "href": root, "type": "application/json"}]
    if parent is not None:
        links.append({"rel": "parent", "href": parent, "type": "application/json"})
    if collection is not None:
        links.append({"rel": "collection", "href": collection, "type": "application/json"})
    return links


def _eof_name(mission: str, orbit: geometry.Orbit) -> str:
    def compact(t: np.datetime64) -> str:
        return str(np.asarray(t).astype("datetime64[s]")).replace("-", "").replace(":", "")

    start, stop = orbit.times[0], orbit.times[-1]
    return f"{mission}_OPER_AUX_POEORB_OPOD_{compact(stop)}_V{compact(start)}_{compact(stop)}.EOF"


def _slc_items(
    scene: BurstScene, root: pathlib.Path, ids: Sequence[str], footprint: dict[str, Any]
) -> list[dict[str, Any]]:
    c = scene.config
    half = np.timedelta64(int(round(c.lines * AZIMUTH_TIME_INTERVAL / 2 * 1e9)), "ns")
    bperp = scene.perpendicular_baseline([c.lines // 2], [c.samples // 2])[:, 0, 0]
    items = []
    for k, item_id in enumerate(ids):
        mission = f"S1{c.platforms[k][-1].upper()}"
        orbit = scene.orbits[k]
        eof = _eof_name(mission, orbit)
        geometry.write_eof(
            orbit,
            root / SLC_COLLECTION / item_id / eof,
            mission=mission,
            absolute_orbit=c.absolute_orbits[k],
        )
        t = scene.centre_times[k]
        anx = scene.anx_times[k]  # the pass's ascending node: the same for every burst
        props: dict[str, Any] = {
            "datetime": _iso(t),
            "start_datetime": _iso(t - half),
            "end_datetime": _iso(t + half),
            "platform": c.platforms[k],
            "constellation": "sentinel-1",
            "instruments": ["c-sar"],
            **_sar_fields("SLC"),
            "sar:pixel_spacing_range": 2.329562,
            "sar:looks_range": 1,
            "sar:looks_azimuth": 1,
            "sat:absolute_orbit": c.absolute_orbits[k],
            "sat:anx_datetime": _iso(anx),
            **_burst_fields(scene),
            "pairscope:simulated": True,
            "pairscope:seed": c.seed,
            "pairscope:coregistration_reference": str(scene.dates[c.reference_index]),
            "pairscope:perpendicular_baseline": round(float(bperp[k]), 3),
        }
        item = {
            "type": "Feature",
            "stac_version": STAC_VERSION,
            "stac_extensions": [EXT["sar"], EXT["sat"], EXT["eo"], EXT["raster"]],
            "id": item_id,
            "collection": SLC_COLLECTION,
            "geometry": footprint,
            "bbox": _bbox(footprint),
            "properties": props,
            "links": _links("../../catalog.json", "../collection.json", "../collection.json"),
            "assets": {
                "slc": {
                    "href": "./slc.tif",
                    "type": COG,
                    "title": "coregistered, flattened SLC burst (radar geometry, no CRS)",
                    "roles": ["data"],
                    **_raster_bands(
                        SLC_BANDS, ["1", "1", "1", "1", "deg", "deg"], SLC_DESCRIPTIONS
                    ),
                },
                "orbit": {
                    "href": f"./{eof}",
                    "type": "application/xml",
                    "title": "orbit state vectors (ESA Earth Explorer EOF)",
                    "roles": ["metadata", "orbit"],
                },
            },
        }
        _write_json(root / SLC_COLLECTION / item_id / f"{item_id}.json", item)
        items.append(item)
    return items


def _extent(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    boxes = np.array([it["bbox"] for it in items])
    starts = sorted(
        it["properties"].get("start_datetime", it["properties"]["datetime"]) for it in items
    )
    ends = sorted(
        it["properties"].get("end_datetime", it["properties"]["datetime"]) for it in items
    )
    return {
        "spatial": {
            "bbox": [
                [
                    float(boxes[:, 0].min()),
                    float(boxes[:, 1].min()),
                    float(boxes[:, 2].max()),
                    float(boxes[:, 3].max()),
                ]
            ]
        },
        "temporal": {"interval": [[starts[0], ends[-1]]]},
    }


def _item_links(items: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [
        {"rel": "item", "href": f"./{it['id']}/{it['id']}.json", "type": "application/geo+json"}
        for it in items
    ]


def _burst_assets(
    scene: BurstScene, root: pathlib.Path, truth_bands: Sequence[str]
) -> dict[str, Any]:
    """Write the burst's ``truth.json``; its collection assets: ``geometry``, ``truth`` and
    ``truth_map`` for the first burst, ``geometry_<burst>`` etc. for the others, each naming its
    burst in ``pairscope:burst_id``."""
    c = scene.config
    truth_tif = _burst_file("truth", scene, ".tif")
    truth = scene.truth() | {
        "raster": f"./{truth_tif}",
        "raster_bands": list(truth_bands),
        "phase_bands": "phase_YYYYMMDD = deformation + atmosphere + residual topography phase psi",
        "true_coherence": "per pixel from land_cover and the class model (pairscope.sim.simulate.true_coherence)",
        "size": {"lines": c.lines, "samples": c.samples, "dates": len(scene.dates)},
    }
    truth_json = _burst_file("truth", scene, ".json")
    _write_json(root / SLC_COLLECTION / truth_json, truth)
    units = ["1", "m"] + ["rad"] * (len(truth_bands) - 2)
    key = "" if c.burst_offset == 0 else f"_{scene.burst}"
    burst = {"pairscope:burst_id": scene.burst}
    return {
        f"geometry{key}": {
            "href": "./" + _burst_file("geometry", scene, ".tif"),
            "type": COG,
            "title": f"look geometry of {scene.burst} on the reference date (radar geometry, no CRS)",
            "roles": ["metadata", "geometry"],
            **burst,
            **_raster_bands(GEOMETRY_BANDS, GEOMETRY_UNITS, GEOMETRY_DESCRIPTIONS),
        },
        f"truth{key}": {
            "href": f"./{truth_json}",
            "type": "application/json",
            "title": f"simulation truth of {scene.burst}: model parameters",
            "roles": ["metadata", "truth"],
            **burst,
        },
        f"truth_map{key}": {
            "href": f"./{truth_tif}",
            "type": COG,
            "title": (
                f"simulation truth of {scene.burst}: class map, DEM error, true phase per date "
                "(radar geometry)"
            ),
            "roles": ["metadata", "truth"],
            **burst,
            **_raster_bands(truth_bands, units, {"land_cover": "land-cover class code"}),
        },
    }


def _slc_collection(
    scenes: Sequence[BurstScene],
    root: pathlib.Path,
    items: Sequence[Mapping[str, Any]],
    assets: Mapping[str, Any],
) -> None:
    c = scenes[0].config
    bursts = [s.burst for s in scenes]
    collection = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [EXT["sar"], EXT["sat"], EXT["eo"], EXT["raster"]],
        "id": SLC_COLLECTION,
        "title": (
            "pairscope demo: simulated Sentinel-1 IW SLC burst stack "
            f"({', '.join(bursts)})"
        ),
        "description": (
            "A physically based simulation (pairscope.sim.simulate) of coregistered, flattened "
            f"Sentinel-1 IW2 burst stacks of {len(bursts)} consecutive burst(s) along one pass of "
            "relative orbit 117 (ascending) over synthetic alpine valleys, starting at the real "
            "location of burst 249435: land-cover speckle with known temporal coherence, a Mogi "
            "deformation source, atmospheric delay, DEM error. One item per burst and date in the "
            "openEO insar_preprocessing layout; orbits as ESA EOF files (the bursts of a date "
            "share one orbit); geometry and truth per burst as collection assets (geometry, truth, "
            "truth_map for the first burst; geometry_<burst>, truth_<burst>, truth_map_<burst> for "
            "the others; each names its burst in pairscope:burst_id)."
        ),
        "license": "CC-BY-4.0",
        "keywords": ["sentinel-1", "insar", "slc", "simulation", "pairscope"],
        "providers": [{"name": "pairscope", "roles": ["producer", "processor"]}],
        "extent": _extent(items),
        "summaries": {
            "platform": sorted(set(c.platforms)),
            "constellation": ["sentinel-1"],
            "instruments": ["c-sar"],
            "sar:instrument_mode": ["IW"],
            "sar:frequency_band": ["C"],
            "sar:center_frequency": [5.405],
            "sar:polarizations": list(POLARIZATIONS),
            "sar:product_type": ["SLC"],
            "sar:observation_direction": ["right"],
            "sat:relative_orbit": [c.relative_orbit],
            "sat:orbit_state": [c.orbit_state],
        },
        "assets": dict(assets),
        "links": _links("../catalog.json", "../catalog.json") + _item_links(items),
    }
    _write_json(root / SLC_COLLECTION / "collection.json", collection)


# ----------------------------------------------------------------------------------------------
# the published-style coherence products
def _product_pairs(dates: npt.NDArray[np.datetime64]) -> list[tuple[int, int]]:
    pairs = []
    for i in range(len(dates)):
        for j in range(i + 1, len(dates)):
            if int((dates[j] - dates[i]).astype(int)) in PRODUCT_TEMPORAL_BASELINES:
                pairs.append((i, j))
    return pairs


def _read_slc(path: pathlib.Path) -> dict[str, npt.NDArray[np.complex64]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            data = src.read([1, 2, 3, 4])
    return {
        "VV": (data[0] + 1j * data[1]).astype(np.complex64),
        "VH": (data[2] + 1j * data[3]).astype(np.complex64),
    }


def _to_dn(coherence: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint8]:
    """Coherence (0..1, NaN) to the product's uint8 DN: round(coherence / 0.004), NaN -> 255."""
    dn = np.clip(np.round(np.nan_to_num(coherence, nan=0.0) / PRODUCT_SCALE), 0, 250)
    return np.where(np.isfinite(coherence), dn, PRODUCT_NODATA).astype(np.uint8)


def _write_products(
    scene: BurstScene,
    root: pathlib.Path,
    slc_ids: Sequence[str],
    grid: Mapping[str, Any],
    slc_items: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    import xarray as xr

    from pairscope import pipeline
    from pairscope.geometry.geocoding import geocode

    c = scene.config
    lat = xr.DataArray(grid["latitude"], dims=("azimuth", "range"))
    lon = xr.DataArray(grid["longitude"], dims=("azimuth", "range"))
    items = []
    cache: dict[int, dict[str, npt.NDArray[np.complex64]]] = {}
    pairs = _product_pairs(scene.dates)
    # geocode several pairs at once (one projection of the grid), ~40 M samples per batch
    batch = max(1, int(40e6 // (c.lines * c.samples)))
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        needed = {k for pair in chunk for k in pair}
        for k in list(cache):
            if k not in needed:
                del cache[k]
        for k in sorted(needed - set(cache)):
            cache[k] = _read_slc(root / SLC_COLLECTION / slc_ids[k] / "slc.tif")
        used = sorted(needed)
        dates = [np.datetime64(scene.dates[k], "ns") for k in used]
        recipe = pipeline.Recipe(window=PRODUCT_WINDOW)
        pair_dates = [(np.datetime64(scene.dates[i], "ns"), np.datetime64(scene.dates[j], "ns"))
                      for i, j in chunk]  # fmt: skip
        layers = {}
        for pol in POLARIZATIONS:
            stack = xr.DataArray(np.stack([cache[k][pol] for k in used]),
                                 dims=("date", "azimuth", "range"), coords={"date": dates})  # fmt: skip
            result = pipeline.compute_pairs(stack, pair_dates, recipe)
            layers[pol] = (("pair", "azimuth", "range"), result["coherence"].values)
        mapped_chunk = geocode(
            xr.Dataset(layers), lat, lon, crs=PRODUCT_CRS, resolution=PRODUCT_RESOLUTION
        )
        for n, (i, j) in enumerate(chunk):
            items.append(
                _product_item(scene, root, slc_ids, slc_items, i, j, mapped_chunk.isel(pair=n))
            )
    return items


def _product_item(
    scene: BurstScene,
    root: pathlib.Path,
    slc_ids: Sequence[str],
    slc_items: Sequence[Mapping[str, Any]],
    i: int,
    j: int,
    mapped: Any,
) -> dict[str, Any]:
    """Write one pair's VV/VH COGs and its STAC item."""
    c = scene.config
    burst = _burst_fields(scene)["pairscope:burst_id"]
    transform = mapped.rio.transform()
    ref, sec = scene.dates[i], scene.dates[j]
    item_id = coherence_item_id(ref, sec, burst)
    folder = root / COHERENCE_COLLECTION / item_id
    assets: dict[str, Any] = {}
    for pol in POLARIZATIONS:
        values = mapped[pol].transpose("y", "x").values
        writer = _BandWriter(
            folder / f"{pol}.tif",
            [pol],
            values.shape,
            ["unity"],
            crs=PRODUCT_CRS,
            transform=transform,
            dtype="uint8",
            nodata=PRODUCT_NODATA,
            scale=PRODUCT_SCALE,
        )
        writer.write(0, _to_dn(values)[None])
        writer.close()
        assets[pol] = {
            "href": f"./{pol}.tif",
            "type": COG,
            "title": pol,
            "description": (
                f"Interferometric coherence (unitless) in {pol}, boxcar {PRODUCT_WINDOW[0]} x "
                f"{PRODUCT_WINDOW[1]} (azimuth x range) samples, geocoded to "
                f"{PRODUCT_CRS} {PRODUCT_RESOLUTION:g} m"
            ),
            "roles": ["data"],
            "data_type": "uint8",
            "nodata": PRODUCT_NODATA,
            "raster:scale": PRODUCT_SCALE,
            "raster:offset": 0,
            "raster:sampling": "area",
            "unit": "unity",
            "bands": [{"name": pol}],
        }
    height, width = mapped.sizes["y"], mapped.sizes["x"]
    x0, y0 = transform.c, transform.f
    x1, y1 = x0 + width * transform.a, y0 + height * transform.e
    from pyproj import Transformer

    to_ll = Transformer.from_crs(PRODUCT_CRS, "EPSG:4326", always_xy=True)
    xs = np.array([x0, x1, x1, x0, x0])
    ys = np.array([y0, y0, y1, y1, y0])
    lons, lats = to_ll.transform(xs, ys)
    ring = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lons, lats, strict=True)]
    area = sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(ring[:-1], ring[1:], strict=True))
    if area < 0:
        ring = ring[::-1]
    footprint = {"type": "Polygon", "coordinates": [ring]}
    ref_props, sec_props = slc_items[i]["properties"], slc_items[j]["properties"]
    bperp = float(
        scene.perpendicular_baseline([c.lines // 2], [c.samples // 2])[j, 0, 0]
        - scene.perpendicular_baseline([c.lines // 2], [c.samples // 2])[i, 0, 0]
    )
    props: dict[str, Any] = {
        "datetime": ref_props["datetime"],
        "start_datetime": ref_props["start_datetime"],
        "end_datetime": sec_props["end_datetime"],
        "platform": ref_props["platform"],
        "constellation": "sentinel-1",
        "instruments": ["c-sar"],
        **_sar_fields("COHERENCE"),
        **_burst_fields(scene),
        "product:type": "COHERENCE",
        "gsd": PRODUCT_RESOLUTION,
        "proj:code": PRODUCT_CRS,
        "proj:shape": [height, width],
        "proj:transform": [
            transform.a,
            transform.b,
            transform.c,
            transform.d,
            transform.e,
            transform.f,
        ],
        "pairscope:reference_date": str(ref),
        "pairscope:secondary_date": str(sec),
        "pairscope:temporal_baseline": int((sec - ref).astype(int)),
        "pairscope:perpendicular_baseline": round(bperp, 3),
        "pairscope:window": list(PRODUCT_WINDOW),
        "pairscope:estimator": (
            "|sum(s1 conj(s2))| / sqrt(sum|s1|^2 sum|s2|^2) over a boxcar window "
            f"of {PRODUCT_WINDOW[0]} x {PRODUCT_WINDOW[1]} (azimuth x range) samples, "
            "then geocoded (mean per 20 m cell)"
        ),
        "pairscope:inputs": [slc_ids[i], slc_ids[j]],
        "pairscope:simulated": True,
    }
    item = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [
            EXT["raster2"],
            EXT["sar"],
            EXT["sat"],
            EXT["projection"],
            EXT["product"],
        ],
        "id": item_id,
        "collection": COHERENCE_COLLECTION,
        "geometry": footprint,
        "bbox": _bbox(footprint),
        "properties": props,
        "links": _links("../../catalog.json", "../collection.json", "../collection.json"),
        "assets": assets,
    }
    _write_json(folder / f"{item_id}.json", item)
    return item


def _coherence_collection(
    scene: BurstScene, root: pathlib.Path, items: Sequence[Mapping[str, Any]]
) -> None:
    c = scene.config
    item_asset = {
        "raster:scale": PRODUCT_SCALE,
        "raster:offset": 0,
        "unit": "unity",
        "roles": ["data"],
        "data_type": "uint8",
        "nodata": PRODUCT_NODATA,
        "type": COG,
        "raster:sampling": "area",
    }
    collection = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [EXT["raster2"], EXT["render"], EXT["sar"], EXT["sat"], EXT["product"]],
        "id": COHERENCE_COLLECTION,
        "title": "pairscope demo: published-style Sentinel-1 SLC coherence products",
        "description": (
            "Coherence of the demo SLC pairs 6 and 12 days apart, in the format of VITO "
            "Terrascope's terrascope-s1-slc-coherence-v1 (uint8 COG, raster:scale 0.004, nodata "
            f"255, VV and VH, same render), estimated with a {PRODUCT_WINDOW[0]} x "
            f"{PRODUCT_WINDOW[1]} (azimuth x range) window and geocoded to {PRODUCT_CRS} at "
            f"{PRODUCT_RESOLUTION:g} m, for product QA against pairscope's own estimate."
        ),
        "license": "CC-BY-4.0",
        "keywords": ["sentinel-1", "coherence", "insar", "simulation", "pairscope"],
        "providers": [{"name": "pairscope", "roles": ["producer", "processor"]}],
        "extent": _extent(items),
        "renders": TERRASCOPE_RENDERS,
        "item_assets": {
            pol: item_asset
            | {
                "title": pol,
                "bands": [{"name": pol}],
                "description": f"Interferometric coherence (unitless) in {pol} polarization",
            }
            for pol in POLARIZATIONS
        },
        "summaries": {
            "platform": sorted(set(c.platforms)),
            "constellation": ["sentinel-1"],
            "sar:instrument_mode": ["IW"],
            "sar:frequency_band": ["C"],
            "sar:center_frequency": [5.405],
            "sar:polarizations": list(POLARIZATIONS),
            "sar:observation_direction": ["right"],
            "sat:relative_orbit": [c.relative_orbit],
            "sat:orbit_state": [c.orbit_state],
            "product:type": ["COHERENCE"],
            "gsd": [PRODUCT_RESOLUTION],
            "pairscope:window": [list(PRODUCT_WINDOW)],
            "bands": [
                {
                    "name": pol,
                    "data_type": "uint8",
                    "nodata": PRODUCT_NODATA,
                    "raster:scale": PRODUCT_SCALE,
                    "raster:offset": 0,
                    "unit": "unity",
                    "raster:sampling": "area",
                }
                for pol in sorted(POLARIZATIONS)
            ],
        },
        "links": _links("../catalog.json", "../catalog.json") + _item_links(items),
    }
    _write_json(root / COHERENCE_COLLECTION / "collection.json", collection)


def _remove_previous_demo(root: pathlib.Path) -> None:
    """Remove an earlier demo from ``root`` (its ``catalog.json`` first, so that a build that
    stops half-way never leaves a catalog pointing at half-written files). Only a catalog whose
    id is ``pairscope-demo`` and its ``pairscope-demo-*`` folders are touched."""
    import shutil

    path = root / "catalog.json"
    if not path.is_file():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        previous = {}
    if not isinstance(previous, dict) or previous.get("id") != "pairscope-demo":
        raise FileExistsError(
            f"{path} exists and is not a pairscope demo catalog; choose an empty directory"
        )
    path.unlink()
    for folder in sorted(root.glob("pairscope-demo-*")):
        if folder.is_dir():
            shutil.rmtree(folder)


def _write_burst(
    root: pathlib.Path, size: str, seed: int, offset: int
) -> tuple[BurstScene, list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
    """Simulate one burst and write its SLC items, geometry, truth and coherence products."""
    scene = make_scene(size, seed=seed, burst_offset=offset)
    c = scene.config
    ids = [slc_item_id(p, d, scene.burst) for p, d in zip(c.platforms, scene.dates, strict=True)]
    grid = _write_rasters(scene, root, ids)
    footprint = _footprint(grid["latitude"], grid["longitude"])
    items = _slc_items(scene, root, ids, footprint)
    assets = _burst_assets(scene, root, grid["truth_bands"])
    products = _write_products(scene, root, ids, grid, items)
    return scene, items, assets, products


def build_catalog(
    directory: str | os.PathLike[str], *, seed: int = 0, size: str = "default"
) -> pathlib.Path:
    """Simulate the demo burst stack and write it as a static STAC catalog in ``directory``.

    Returns the path of the root ``catalog.json``. An earlier demo in ``directory`` is replaced;
    a directory holding another catalog is refused. ``size`` is ``small`` (3 bursts, 6 dates of
    150 x 600 each, seconds), ``default`` (3 adjoining whole bursts, 8 dates of 1500 x 640 each,
    about a minute) or ``full`` (1 burst, 10 dates of a whole 1500 x 21000 burst; minutes and
    several GB). Same seed and size, same bytes.
    """
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    root = pathlib.Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    _remove_previous_demo(root)
    first = _write_burst(root, size, int(seed), 0)
    others = [_write_burst(root, size, int(seed), k) for k in range(1, BURSTS[size])]
    scenes = [first[0]] + [o[0] for o in others]
    slc_items = [it for b in [first, *others] for it in b[1]]
    assets = {key: a for b in [first, *others] for key, a in b[2].items()}
    products = [it for b in [first, *others] for it in b[3]]
    _slc_collection(scenes, root, slc_items, assets)
    _coherence_collection(scenes[0], root, products)
    bursts = ", ".join(s.burst for s in scenes)
    catalog = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "pairscope-demo",
        "title": "pairscope demo catalog",
        "description": (
            f"Simulated Sentinel-1 bursts {bursts} (size {size!r}, seed {seed}): coregistered "
            "SLCs with orbits, geometry and truth, and published-style coherence products."
        ),
        "links": [
            {"rel": "root", "href": "./catalog.json", "type": "application/json"},
            {
                "rel": "child",
                "href": f"./{SLC_COLLECTION}/collection.json",
                "type": "application/json",
                "title": "simulated SLC bursts",
            },
            {
                "rel": "child",
                "href": f"./{COHERENCE_COLLECTION}/collection.json",
                "type": "application/json",
                "title": "published-style coherence products",
            },
        ],
    }
    path = root / "catalog.json"
    _write_json(path, catalog)
    # The same scene as CEOS-ARD products: geocoded SLC (GSLC) and NRB + flattened phase.
    from pairscope.sim.ard import write_ard_collections

    write_ard_collections(root, scenes[0])
    return path


# ----------------------------------------------------------------------------------------------
# reading the truth back
def demo_bursts(catalog: str | os.PathLike[str]) -> list[str]:
    """The burst ids a demo catalog holds truth for, first burst first."""
    folder = _demo_folder(catalog)
    path = folder / "collection.json"
    if not path.is_file():
        return []
    assets = json.loads(path.read_text(encoding="utf-8")).get("assets", {})
    return [
        a["pairscope:burst_id"]
        for key, a in assets.items()
        if key.startswith("truth") and not key.startswith("truth_map") and "pairscope:burst_id" in a
    ]


def _demo_folder(catalog: str | os.PathLike[str]) -> pathlib.Path:
    root = pathlib.Path(catalog)
    if root.name == "catalog.json":
        root = root.parent
    return root / SLC_COLLECTION


def open_truth(catalog: str | os.PathLike[str], burst_id: str | None = None) -> Any:
    """The simulation truth of a burst of a demo catalog as an ``xr.Dataset`` in radar geometry.

    ``catalog`` is the demo's ``catalog.json`` or its folder; ``burst_id`` one of its bursts (any
    spelling :func:`pairscope.bursts.parse_burst_id` reads, e.g. ``T117_249436_IW2``), default
    the first burst (``T117_249435_IW2``). Variables: ``land_cover`` (class code),
    ``dem_error`` (m) on ``("azimuth", "range")``; ``phase`` (the date's total phase psi, rad)
    and ``deformation_phase`` (rad) on ``("date", "azimuth", "range")``. ``attrs["truth"]``
    holds the burst's truth JSON (model parameters, classes). The interferogram
    ``s_ref * conj(s_sec)`` of a pair has the true phase ``phase[ref] - phase[sec]``; see
    :func:`true_pair_coherence`.
    """
    import xarray as xr

    folder = _demo_folder(catalog)
    root = folder.parent
    truth_path = folder / "truth.json"
    if not truth_path.is_file():
        raise FileNotFoundError(
            f"{truth_path} not found: {root} is not a pairscope demo catalog "
            "(build one with `pairscope demo build DIR`)"
        )
    if burst_id is not None:
        from pairscope.bursts import parse_burst_id

        wanted = parse_burst_id(burst_id).canonical
        assets = json.loads((folder / "collection.json").read_text(encoding="utf-8"))["assets"]
        hrefs = {
            a.get("pairscope:burst_id"): a["href"]
            for key, a in assets.items()
            if key.startswith("truth") and a.get("type") == "application/json"
        }
        if wanted not in hrefs:
            raise KeyError(
                f"the demo catalog {root} has no burst {wanted}; its bursts: "
                f"{', '.join(str(b) for b in hrefs)}"
            )
        truth_path = folder / hrefs[wanted]
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(folder / truth["raster"]) as src:
            data = src.read()
            names = list(src.descriptions)
    if names != truth["raster_bands"]:
        raise ValueError(
            f"{folder / truth['raster']} has bands {names}, truth.json lists {truth['raster_bands']}"
        )
    days = [d.replace("-", "") for d in truth["dates"]]
    index = {n: i for i, n in enumerate(names)}
    dims = ("azimuth", "range")
    return xr.Dataset(
        {
            "land_cover": (dims, data[index["land_cover"]].astype(np.int8)),
            "dem_error": (dims, data[index["dem_error"]], {"units": "m"}),
            "phase": (
                ("date",) + dims,
                data[[index[f"phase_{d}"] for d in days]],
                {"units": "rad"},
            ),
            "deformation_phase": (
                ("date",) + dims,
                data[[index[f"deformation_phase_{d}"] for d in days]],
                {"units": "rad"},
            ),
        },
        coords={"date": np.array(truth["dates"], dtype="datetime64[ns]")},
        attrs={"truth": truth},
    )


def true_pair_coherence(
    truth: Any, reference: Any, secondary: Any, polarization: str = "VV"
) -> Any:
    """The true coherence map of a pair (``xr.DataArray`` on the truth's radar dims).

    ``truth`` is :func:`open_truth`'s Dataset; the class models come from its ``truth.json``.
    """
    import xarray as xr

    from pairscope.sim.landcover import LandCover
    from pairscope.sim.simulate import true_coherence

    classes = [LandCover.from_dict(d) for d in truth.attrs["truth"]["land_cover"]]
    days = np.array([reference, secondary]).astype("datetime64[D]").astype(np.int64)
    dt = abs(int(days[1] - days[0]))
    values = true_coherence(truth["land_cover"].values, float(dt), polarization, classes)
    return xr.DataArray(
        values,
        dims=truth["land_cover"].dims,
        attrs={"units": "1", "long_name": f"true {polarization} coherence, {dt} days"},
    )
