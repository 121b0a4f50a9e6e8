"""Read SLC stacks, orbits and published products from catalog assets into xarray, lazily.

``open_slc_stack`` gives a complex64 ``("date", "azimuth", "range")`` DataArray (dask-backed) from
per-date assets in any of the layouts :mod:`pairscope.io.catalog` understands: i/q band pairs (openEO
``insar_preprocessing``, the demo catalog), single complex bands (complex int16 / complex64 GeoTIFF)
and OPERA CSLC-S1 HDF5 (``/data/<pol>``, geocoded: dims ``("date", "y", "x")``), with 2-D
``latitude``/``longitude`` (and ``height`` when a ``height`` band on the same grid exists) coords.
Every block read opens the file and reads only its window; radar-geometry GeoTIFFs have no CRS, and
exactly rasterio's ``NotGeoreferencedWarning`` is silenced when they are opened.

``open_orbit`` reads the orbit of an acquisition (ESA EOF, SAFE annotation, or the OPERA HDF5 state
vectors) into :class:`pairscope.geometry.Orbit`; ``open_product`` reads a published product asset in
physical units (nodata -> NaN, ``raster:scale``/``offset`` applied).

Every asset href is turned into the path GDAL or h5py opens by :func:`asset_location`: through the
catalog's allow-list when it was opened with one (:meth:`StacCatalog.resolve`, which refuses
locations outside it with :class:`~pairscope.errors.LocationRefusedError`), so a served app never
hands GDAL a location its operator did not allow.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import pathlib
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dask.array as dsa
import numpy as np
import pystac
import rasterio
import rasterio.errors
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from pairscope.errors import AssetError, CatalogError, GridMismatchError, LocationRefusedError
from pairscope.io.catalog import StacCatalog, as_catalog, list_acquisitions
from pairscope.io.http import redact_url
from pairscope.io.items import (
    Acquisition,
    SlcAsset,
    asset_band_names,
    asset_href,
    asset_raster_info,
    band_list,
    collection_of,
    parse_instant,
)

if TYPE_CHECKING:
    pass

__all__ = ["lazy_source", "open_product", "open_slc_stack", "reusing_open_files"]

SPEED_OF_LIGHT = 299_792_458.0
S1_CENTER_FREQUENCY_HZ = 5.405e9
DEFAULT_CHUNKS: dict[str, int] = {"azimuth": 512, "range": 2048}
_H5_LOCK = threading.Lock()
log = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet_georef() -> Iterator[None]:
    """Radar-geometry GeoTIFFs have no CRS: silence exactly rasterio's NotGeoreferencedWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        yield


def _gdal_env(catalog: StacCatalog | None, href: str) -> dict[str, Any]:
    """GDAL options to read ``href``: the catalog's bearer token only when its host may get it."""
    env: dict[str, Any] = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
    http = catalog.http if catalog is not None else None
    if http is not None:
        auth = http.auth_headers(href)
        if auth:
            env["GDAL_HTTP_HEADERS"] = f"Authorization: {auth['Authorization']}"
    return env


def asset_location(catalog: StacCatalog | None, href: str) -> str:
    """Where to open the asset ``href`` of ``catalog``: checked and normalised by the catalog's
    allow-list (:class:`LocationRefusedError` outside it); unchanged without one."""
    return catalog.resolve(href) if catalog is not None else href


def _gdal_href(href: str) -> str:
    if href.startswith(("http://", "https://")):
        return f"/vsicurl/{href}"
    if href.startswith("file://"):
        return href[len("file://") :]
    return href


_OPEN_LOCK = threading.Lock()


def _open_dataset(href: str) -> Any:
    """``rasterio.open`` with exactly NotGeoreferencedWarning silenced. ``catch_warnings`` is not
    thread-safe, so opens (only they emit it) are serialised; reads run in parallel."""
    with _OPEN_LOCK, _quiet_georef():
        return rasterio.open(_gdal_href(href))


_OPEN_FILES = threading.local()


@contextlib.contextmanager
def reusing_open_files() -> Iterator[None]:
    """Within this block, the windowed reads of this thread keep each raster file open (closed at
    the end) instead of opening it per block. GDAL's block cache then serves a second read of the
    same tiles: in a pixel-interleaved file (samples and latitude / longitude bands in one tile,
    as the demo's SLC files were before they became band-interleaved) a date's samples and its
    grid cost one decompression instead of three; each file is also opened once. The values are
    the same; only the reads are fewer. While the files are open their decoded tiles
    stay in GDAL's block cache, which ``GDAL_CACHEMAX`` bounds (5 % of the RAM by default)."""
    if getattr(_OPEN_FILES, "handles", None) is not None:  # nested: the outer block closes them
        yield
        return
    _OPEN_FILES.handles = {}
    try:
        yield
    finally:
        handles, _OPEN_FILES.handles = _OPEN_FILES.handles, None
        for handle in handles.values():
            handle.close()


@contextlib.contextmanager
def _opened(href: str) -> Iterator[Any]:
    """``_open_dataset(href)``, kept open for the enclosing `reusing_open_files` block if any."""
    handles = getattr(_OPEN_FILES, "handles", None)
    if handles is None:
        with _open_dataset(href) as ds:
            yield ds
        return
    if href not in handles:
        handles[href] = _open_dataset(href)
    yield handles[href]


def _scrub(msg: str, env: dict[str, Any]) -> str:
    header = str(env.get("GDAL_HTTP_HEADERS", ""))
    if "Bearer " in header:
        msg = msg.replace(header.split("Bearer ", 1)[1], "***")
    return msg


class _RasterWindows:
    """A lazily read 2-D view of one raster asset for ``dask.array.from_array``: ``kind`` ``"iq"``
    (two real bands -> complex64), ``"complex"`` (one complex band -> complex64) or ``"real"`` (one
    band, stored dtype). Every access opens the file and reads only the window asked for."""

    def __init__(
        self,
        href: str,
        bands: tuple[int, ...],
        kind: str,
        shape: tuple[int, int],
        dtype: Any,
        env: dict[str, Any],
        label: str,
    ) -> None:
        self.href = href
        self.bands = bands
        self.kind = kind
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.ndim = 2
        self.env = env
        self.label = label

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (2 - len(key))
        rows, cols = (
            k.indices(n) if isinstance(k, slice) else (int(k), int(k) + 1, 1)
            for k, n in zip(key, self.shape, strict=True)
        )
        window = rasterio.windows.Window.from_slices(
            slice(rows[0], max(rows[1], rows[0])), slice(cols[0], max(cols[1], cols[0]))
        )
        try:
            with rasterio.Env(**self.env):
                with _opened(self.href) as ds:
                    data = ds.read(list(self.bands), window=window)
        except (rasterio.errors.RasterioIOError, OSError) as err:
            raise AssetError(
                f"cannot read {self.label} at {redact_url(self.href)}: {_scrub(str(err), self.env)}",
                url=redact_url(self.href),
            ) from None
        if self.kind == "iq":
            out = np.empty(data.shape[1:], dtype=np.complex64)
            out.real = data[0]
            out.imag = data[1]
        else:
            out = data[0].astype(self.dtype, copy=False)
        out = out[:: rows[2], :: cols[2]]
        squeeze = tuple(i for i, k in enumerate(key) if not isinstance(k, slice))
        return out.squeeze(axis=squeeze) if squeeze else out


def lazy_source(array: Any) -> str | None:
    """A digest naming what a lazy array of `open_slc_stack` reads (file, bands, kind, shape and
    dtype of its one raster), or None when it is not exactly one raster asset read by windows
    (in memory, several files, HDF5...). Equal digests read equal values: ``pairscope compute``
    uses it to read a burst's height grid once for the batches whose stacks name the same one."""
    import hashlib

    graph = getattr(array, "__dask_graph__", None)
    if graph is None:
        return None
    sources = {(w.href, w.bands, w.kind, w.shape, w.dtype.str)
               for w in dict(graph()).values() if isinstance(w, _RasterWindows)}
    if len(sources) != 1:
        return None
    return hashlib.sha256(repr(sources.pop()).encode()).hexdigest()[:32]


def _raster_meta(href: str, item_id: str, key: str, env: dict[str, Any]) -> dict[str, Any]:
    """Shape, band count, dtypes, CRS, transform and nodata of a raster asset (opens it once, so a
    missing or unreadable file fails here, naming the item and asset)."""
    try:
        with rasterio.Env(**env):
            with _open_dataset(href) as ds:
                return {
                    "shape": (ds.height, ds.width),
                    "count": ds.count,
                    "dtypes": tuple(ds.dtypes),
                    "crs": ds.crs,
                    "transform": ds.transform,
                    "nodata": ds.nodata,
                    "scales": tuple(ds.scales),
                    "offsets": tuple(ds.offsets),
                    "georeferenced": ds.crs is not None or not ds.transform.is_identity,
                }
    except (rasterio.errors.RasterioIOError, OSError) as err:
        raise AssetError(
            f"cannot read asset {key!r} of item {item_id!r} at {redact_url(href)}: "
            f"{_scrub(str(err), env)}",
            url=redact_url(href),
        ) from None


def _lazy(
    href: str,
    bands: tuple[int, ...],
    kind: str,
    meta: dict[str, Any],
    chunks: tuple[int, int],
    env: dict[str, Any],
    label: str,
    dtype: Any,
) -> dsa.Array:
    src = _RasterWindows(href, bands, kind, meta["shape"], dtype, env, label)
    arr: dsa.Array = dsa.from_array(  # type: ignore[no-untyped-call]
        src, chunks=chunks, lock=False, asarray=False, name=False, meta=np.empty((0, 0), dtype)
    )
    return arr


def _date_key(value: Any) -> _dt.date:
    d = parse_instant(value, end=False)
    if d is None:
        raise ValueError(f"not a date: {value!r}")
    return d.date()


def _select_dates(
    acqs: Sequence[Acquisition], dates: Sequence[Any] | None, burst: str
) -> list[Acquisition]:
    if dates is None:
        return list(acqs)
    by_day = {a.datetime.date(): a for a in acqs}
    wanted = [_date_key(d) for d in dates]
    missing = [d for d in wanted if d not in by_day]
    if missing:
        have = ", ".join(d.isoformat() for d in sorted(by_day)) or "none"
        raise CatalogError(
            f"burst {burst} has no acquisition on {', '.join(m.isoformat() for m in missing)}; "
            f"its dates are: {have}"
        )
    return [by_day[d] for d in sorted(set(wanted))]


def _complex_from_asset(
    acq: Acquisition, pol: str, chunks: dict[str, int], catalog: StacCatalog | None
) -> xr.DataArray:
    ref: SlcAsset | None = acq.assets.get(pol)
    if ref is None:
        raise AssetError(
            f"item {acq.item.id!r} ({acq.datetime.date()}) has no {pol} samples; polarizations "
            f"found: {', '.join(sorted(acq.assets)) or 'none'} (assets: {', '.join(acq.item.assets)})"
        )
    if ref.kind == "amplitude":
        raise AssetError(
            f"asset {ref.key!r} of item {acq.item.id!r} is detected amplitude (GRD), not complex "
            "SLC samples: interferometry needs an SLC or CSLC collection"
        )
    href = asset_location(catalog, ref.href)
    if ref.kind == "hdf5":
        return _complex_from_hdf5(acq, ref, href, chunks)
    env = _gdal_env(catalog, href)
    meta = _raster_meta(href, acq.item.id, ref.key, env)
    nb = meta["count"]
    if max(ref.bands) > nb:
        raise AssetError(
            f"asset {ref.key!r} of item {acq.item.id!r} has {nb} band(s) but its metadata names "
            f"band {max(ref.bands)} for {pol}",
            url=redact_url(href),
        )
    if ref.kind != "iq" and "complex" not in meta["dtypes"][ref.bands[0] - 1]:
        raise AssetError(
            f"asset {ref.key!r} of item {acq.item.id!r} holds {meta['dtypes'][ref.bands[0] - 1]} "
            "samples, not complex",
            url=redact_url(href),
        )
    label = f"{pol} samples of item {acq.item.id!r} (asset {ref.key!r})"
    arr = _lazy(
        href,
        ref.bands,
        "iq" if ref.kind == "iq" else "complex",
        meta,
        (chunks["azimuth"], chunks["range"]),
        env,
        label,
        np.complex64,
    )
    return xr.DataArray(arr, dims=("azimuth", "range"))


def _complex_from_hdf5(
    acq: Acquisition, ref: SlcAsset, href: str, chunks: dict[str, int]
) -> xr.DataArray:
    import h5py

    path = href[len("file://") :] if href.startswith("file://") else href
    if not pathlib.Path(path).is_file():
        raise AssetError(
            f"HDF5 asset {ref.key!r} of item {acq.item.id!r} must be a local file; {redact_url(path)} "
            "is not one (download it first)",
            url=redact_url(path),
        )
    f = h5py.File(path, "r")
    name = ref.dataset or "/data/VV"
    if name not in f:
        raise AssetError(
            f"HDF5 asset {ref.key!r} of item {acq.item.id!r} has no dataset {name}",
            url=redact_url(path),
        )
    dset = f[name]
    grp = dset.parent
    arr = dsa.from_array(  # type: ignore[no-untyped-call]
        dset, chunks=(chunks.get("azimuth", 512), chunks.get("range", 2048)), lock=_H5_LOCK
    ).astype(np.complex64)
    coords: dict[str, Any] = {}
    if "y_coordinates" in grp and "x_coordinates" in grp:
        coords = {"y": grp["y_coordinates"][()], "x": grp["x_coordinates"][()]}
    out = xr.DataArray(arr, dims=("y", "x"), coords=coords)
    if "projection" in grp:
        out = out.rio.write_crs(int(grp["projection"][()]))
    return out


def open_slc_stack(
    catalog: StacCatalog | str | os.PathLike[str],
    burst_id: str,
    dates: Sequence[Any] | None = None,
    polarization: str = "VV",
    *,
    chunks: dict[str, int] | None = None,
    acquisitions: Sequence[Acquisition] | None = None,
) -> xr.DataArray:
    """The complex64 SLC stack of one burst, dims ``("date", "azimuth", "range")`` (``("date", "y",
    "x")`` for geocoded CSLC), read lazily with dask.

    ``dates``: the acquisition dates to read (any date spelling; None = all); ``chunks``: dask chunk
    sizes along ``azimuth`` and ``range``. Coords: ``date`` (datetime64[ns], midnight UTC),
    ``acquisition_time``, ``platform``, ``item_id``, and 2-D ``latitude``/``longitude`` when the
    assets carry geolocation bands (taken from the first date: the stack is coregistered).
    Raises :class:`GridMismatchError` naming the dates and shapes when they differ.
    ``acquisitions``: the burst's `list_acquisitions` (every polarization) when the caller already
    has them (``pairscope compute`` lists a burst once per worker), else listed here.
    """
    cat = as_catalog(catalog)
    pol = polarization.upper()
    chunks = {**DEFAULT_CHUNKS, **(chunks or {})}
    acqs = list(acquisitions) if acquisitions is not None else list_acquisitions(cat, burst_id)
    chosen = _select_dates(acqs, dates, acqs[0].burst_id)
    layers = [_complex_from_asset(a, pol, chunks, cat) for a in chosen]
    shapes = {
        a.datetime.date().isoformat(): tuple(layer.shape)
        for a, layer in zip(chosen, layers, strict=True)
    }
    if len(set(shapes.values())) > 1:
        listing = ", ".join(f"{d}: {s[0]} x {s[1]}" for d, s in shapes.items())
        raise GridMismatchError(
            f"the dates of burst {chosen[0].burst_id} do not share one grid ({listing}): pick dates "
            "that were coregistered to the same reference"
        )
    geocoded = layers[0].dims == ("y", "x")
    if geocoded:
        ref_x, ref_y = layers[0].coords.get("x"), layers[0].coords.get("y")
        for a, layer in zip(chosen, layers, strict=True):
            if (
                ref_x is not None
                and ref_y is not None
                and not (
                    np.array_equal(layer["x"].values, ref_x.values)
                    and np.array_equal(layer["y"].values, ref_y.values)
                )
            ):
                raise GridMismatchError(
                    f"{a.datetime.date()} of burst {a.burst_id} is on another map grid than "
                    f"{chosen[0].datetime.date()} (same shape, different origin or spacing)"
                )
    stack = xr.concat(layers, dim="date", coords="minimal", compat="override", join="override")
    stack = stack.assign_coords(
        date=("date", np.array([a.date for a in chosen], dtype="datetime64[ns]")),
        acquisition_time=(
            "date",
            np.array([np.datetime64(a.datetime.replace(tzinfo=None), "ns") for a in chosen]),
        ),
        platform=("date", [a.platform or "" for a in chosen]),
        item_id=("date", [a.item.id for a in chosen]),
    )
    first = chosen[0]
    if not geocoded and first.geolocation is not None:
        geo = first.geolocation
        geo_href = asset_location(cat, geo.href)
        env = _gdal_env(cat, geo_href)
        gmeta = _raster_meta(geo_href, first.item.id, geo.key, env)
        if gmeta["shape"] != tuple(stack.shape[1:]):
            raise GridMismatchError(
                f"geolocation bands of {first.item.id!r} are {gmeta['shape'][0]} x "
                f"{gmeta['shape'][1]} but the samples are {stack.shape[1]} x {stack.shape[2]}"
            )
        lat, lon = (
            _lazy(
                geo_href,
                (b,),
                "real",
                gmeta,
                (chunks["azimuth"], chunks["range"]),
                env,
                f"{name} of item {first.item.id!r}",
                np.float64,
            )
            for b, name in ((geo.latitude_band, "latitude"), (geo.longitude_band, "longitude"))
        )
        stack = stack.assign_coords(
            latitude=(("azimuth", "range"), lat), longitude=(("azimuth", "range"), lon)
        )
    if not geocoded:
        height = _height_band(first, tuple(stack.shape[1:]), chunks, cat)
        if height is not None:
            stack = stack.assign_coords(height=(("azimuth", "range"), height))
    props = first.item.properties
    freq_ghz = props.get("sar:center_frequency")
    freq = float(freq_ghz) * 1e9 if freq_ghz else S1_CENTER_FREQUENCY_HZ
    attrs: dict[str, Any] = {
        "burst_id": first.burst_id,
        "polarization": pol,
        "wavelength": SPEED_OF_LIGHT / freq,
        "relative_orbit": first.relative_orbit if first.relative_orbit is not None else -1,
        "orbit_state": first.orbit_state or "",
        "catalog": cat.url,
    }
    for src, dst in (
        ("sar:pixel_spacing_range", "range_pixel_spacing"),
        ("sar:pixel_spacing_azimuth", "azimuth_pixel_spacing"),
    ):
        if props.get(src) is not None:
            attrs[dst] = float(props[src])
    stack.attrs = attrs
    stack.name = f"slc_{pol.lower()}"
    return stack


_HEIGHT_BANDS = ("height", "dem_height", "hgt", "elevation")


def _height_band(
    acq: Acquisition, shape: tuple[int, ...], chunks: dict[str, int], catalog: StacCatalog | None
) -> dsa.Array | None:
    """Per-pixel terrain height on the stack's radar grid, lazily, from a band named ``height`` of
    an item asset or, failing that, a collection asset (the demo's ``geometry``), when its shape is
    the stack's; else None."""
    owners: list[tuple[str, Any]] = [(f"item {acq.item.id!r}", acq.item)]
    coll = collection_of(acq.item)
    if coll is not None:
        owners.append((f"collection {coll.id!r}", coll))
    for where, owner in owners:
        for key, asset in owner.assets.items():
            names = [str(b.get("name", "")).lower() for b in band_list(asset.extra_fields)]
            band = next((i + 1 for i, n in enumerate(names) if n in _HEIGHT_BANDS), None)
            if band is None:
                continue
            try:
                href = asset_location(catalog, asset_href(asset))
                env = _gdal_env(catalog, href)
                meta = _raster_meta(href, where, key, env)
            except (AssetError, LocationRefusedError) as err:  # optional: say why it is missing
                log.warning("no height coordinate: %s", err)
                continue
            if meta["shape"] != shape or meta["georeferenced"]:
                continue
            return _lazy(
                href,
                (band,),
                "real",
                meta,
                (chunks["azimuth"], chunks["range"]),
                env,
                f"height band of asset {key!r} of {where}",
                np.float64,
            )
    return None


# ---------------------------------------------------------------------------------------- product
def open_product(
    item: pystac.Item,
    asset: str,
    *,
    catalog: StacCatalog | None = None,
    chunks: dict[str, int] | bool | None = None,
) -> xr.DataArray:
    """An asset of a published product in physical units: nodata -> NaN, then ``value * scale +
    offset`` (``raster:scale``/``raster:offset``/``nodata`` of the asset, its ``raster:bands``, or
    the collection's ``item_assets``; else the file's own). float32, dims ``("y", "x")`` for a single
    band (``("band", "y", "x")`` otherwise) with the CRS when the file has one."""
    if asset not in item.assets:
        raise AssetError(
            f"item {item.id!r} has no asset {asset!r}; its assets are: "
            f"{', '.join(item.assets) or 'none'}"
        )
    a = item.assets[asset]
    href = asset_location(catalog, asset_href(a))
    env = _gdal_env(catalog, href)
    meta = _raster_meta(href, item.id, asset, env)
    info = asset_raster_info(item, asset)
    scale = float(info.get("scale", meta["scales"][0]) or 1.0)
    offset = float(info.get("offset", meta["offsets"][0]) or 0.0)
    nodata = info.get("nodata", meta["nodata"])
    stored_dtype = meta["dtypes"][0]
    if "complex" in stored_dtype:
        raise AssetError(f"asset {asset!r} of item {item.id!r} is complex: use open_slc_stack")
    if chunks is None or chunks is True or chunks is False:
        block = (2048, 2048)
    else:
        block = (int(chunks.get("y", 2048)), int(chunks.get("x", 2048)))
    layers = []
    for b in range(1, meta["count"] + 1):
        raw = _lazy(
            href,
            (b,),
            "real",
            meta,
            block,
            env,
            f"asset {asset!r} of item {item.id!r}",
            np.dtype(meta["dtypes"][b - 1]),
        )
        vals = raw.astype(np.float32)  # type: ignore[no-untyped-call]
        if (
            nodata is not None
            and not (isinstance(nodata, float) and np.isnan(nodata))
            and str(nodata).lower() != "nan"
        ):
            vals = dsa.where(raw == np.asarray(nodata).astype(raw.dtype), np.float32(np.nan), vals)
        layers.append(vals * np.float32(scale) + np.float32(offset))
    data = dsa.stack(layers)  # type: ignore[no-untyped-call]
    h, w = meta["shape"]
    coords: dict[str, Any] = {}
    if meta["georeferenced"]:
        t = meta["transform"]
        coords["x"] = t.c + t.a * (np.arange(w) + 0.5)
        coords["y"] = t.f + t.e * (np.arange(h) + 0.5)
    values = xr.DataArray(data, dims=("band", "y", "x"), coords=coords)
    names = [n or f"band{i + 1}" for i, n in enumerate(asset_band_names(item, asset))]
    if values.sizes["band"] == 1:
        values = values.isel(band=0, drop=True)
    elif len(names) == values.sizes["band"]:
        values = values.assign_coords(band=names)
    crs = meta["crs"]
    values.attrs = {
        "item_id": item.id,
        "asset": asset,
        "scale": scale,
        "offset": offset,
        "nodata_stored": "none" if nodata is None else str(nodata),
        "stored_dtype": stored_dtype,
        "units": str(info.get("unit", a.extra_fields.get("unit", ""))),
        "long_name": a.title or asset,
    }
    try:
        from pairscope.render import renders_for

        renders = renders_for(item, collection=collection_of(item))
    except ImportError:
        renders = None
    if renders:
        values.attrs["renders"] = {
            k: v for k, v in dict(renders).items() if asset in _render_assets(v)
        }
    values.name = asset
    if crs is not None:
        values = values.rio.write_crs(crs).rio.write_transform(meta["transform"])
    return values


def _render_assets(render: Any) -> list[str]:
    if isinstance(render, Mapping):
        return [str(a) for a in render.get("assets", []) or []]
    return [str(a) for a in getattr(render, "assets", []) or []]
