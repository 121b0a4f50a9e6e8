"""What a STAC item holds, read by heuristics that cover the layouts users meet: burst ids in every
spelling, polarizations, SLC / orbit / geolocation assets (openEO i/q bands, complex rasters, OPERA
HDF5, EOF and annotation orbits), published pair products, and the :class:`Acquisition` records
the readers take. No I/O here beyond what pystac already holds in memory.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pystac
import pystac.stac_io

from pairscope.errors import (
    AssetError,
    CatalogError,
)

if TYPE_CHECKING:
    from pairscope.bursts import BurstId
from pairscope import bursts as burst_ids
from pairscope.io.http import is_url

POLARIZATIONS = ("VV", "VH", "HH", "HV")


COMPLEX_DTYPES = {"cint16", "cint32", "cfloat32", "cfloat64", "complex64", "complex128"}


_BURST_IN_NAME = re.compile(r"(?<![0-9A-Za-z])[Tt]?(\d{3})[-_](\d{6})[-_]([Ii][Ww][123])(?![0-9])")


@dataclass(frozen=True)
class SlcAsset:
    """Where the complex samples of one polarization are.

    ``kind``: ``"iq"`` (two real bands, ``bands`` = (i, q), 1-based), ``"complex"`` (one complex band,
    ``bands`` = (b,)), ``"hdf5"`` (dataset ``dataset`` in an HDF5 file) or ``"amplitude"`` (a detected
    GRD band: not usable for interferometry).
    """

    item: pystac.Item = field(repr=False, compare=False)
    key: str
    href: str
    kind: str
    bands: tuple[int, ...] = ()
    dataset: str | None = None


@dataclass(frozen=True)
class OrbitAsset:
    """An orbit source: ``kind`` ``"eof"`` (ESA EOF XML) or ``"annotation"`` (SAFE annotation XML)."""

    item: pystac.Item = field(repr=False, compare=False)
    key: str
    href: str
    kind: str


@dataclass(frozen=True)
class GeolocationAsset:
    """Per-pixel latitude / longitude bands (1-based) of a radar-geometry asset."""

    key: str
    href: str
    latitude_band: int
    longitude_band: int


@dataclass(frozen=True)
class Acquisition:
    """One date of one burst: the item(s), and the asset to read per polarization."""

    burst_id: str
    datetime: _dt.datetime
    platform: str | None
    item: pystac.Item = field(repr=False, compare=False)
    collection: str | None
    polarizations: tuple[str, ...]
    assets: Mapping[str, SlcAsset] = field(repr=False, compare=False)
    orbit: OrbitAsset | None = field(default=None, repr=False)
    geolocation: GeolocationAsset | None = field(default=None, repr=False)
    relative_orbit: int | None = None
    orbit_state: str | None = None
    absolute_orbit: int | None = None

    @property
    def date(self) -> np.datetime64:
        """The UTC calendar date as ``datetime64[ns]`` (midnight)."""
        day: np.datetime64 = np.datetime64(self.datetime.date().isoformat(), "ns")
        return day

    @property
    def asset_keys(self) -> dict[str, str]:
        """Polarization -> asset key."""
        return {pol: a.key for pol, a in self.assets.items()}

    @property
    def orbit_asset(self) -> str | None:
        return None if self.orbit is None else self.orbit.key

    @property
    def item_id(self) -> str:
        return self.item.id


@dataclass(frozen=True)
class BurstSummary:
    """One burst found in a catalog."""

    burst_id: str
    footprint: dict[str, Any] | None = field(repr=False, compare=False)
    bbox: tuple[float, float, float, float] | None
    date_count: int
    first_date: np.datetime64
    last_date: np.datetime64
    dates: tuple[np.datetime64, ...] = field(repr=False)
    polarizations: tuple[str, ...]
    relative_orbit: int | None
    orbit_state: str | None
    collections: tuple[str, ...]
    item_count: int


# ----------------------------------------------------------------------------------- item parsing
#: What pairscope knows about an item beyond its JSON, kept beside it (never as attributes patched onto
#: pystac objects): the burst a single-burst catalog declares for all its items, and the resolved
#: collection (None when it cannot be found). Entries go with their items.
_DEFAULT_BURST: weakref.WeakKeyDictionary[pystac.Item, str] = weakref.WeakKeyDictionary()
_COLLECTION: weakref.WeakKeyDictionary[pystac.Item, pystac.Collection | None] = (
    weakref.WeakKeyDictionary()
)


def set_default_burst(item: pystac.Item, burst_id: str) -> None:
    """Record the burst of ``item`` when the catalog says it holds one burst only (its items may
    not name it)."""
    _DEFAULT_BURST[item] = burst_id


def item_burst_id(item: pystac.Item) -> BurstId | None:
    """The burst an item holds, from its properties (every spelling real catalogs use) or, failing
    that, from a burst id in its id / title (e.g. OPERA ``..._T087-185683-IW2_...``), or the
    catalog's default burst for items without one (openEO job results). Raises ``ValueError`` when
    the properties contradict each other."""
    b = burst_ids
    props = dict(item.properties)
    found = b.burst_id_from_properties(props)
    if found is not None:
        return found
    finder = getattr(b, "find_burst_id", None)
    for name in (item.id, str(props.get("title", ""))):
        if finder is not None:
            hit = finder(name)
            if hit is not None:
                return hit  # type: ignore[no-any-return]
        else:
            m = _BURST_IN_NAME.search(name)
            if m:
                return b.parse_burst_id(f"T{m.group(1)}_{m.group(2)}_{m.group(3).upper()}")
    default = _DEFAULT_BURST.get(item)
    if default is not None:
        return b.parse_burst_id(default)
    return None


def safe_burst_id(item: pystac.Item, notes: list[str] | None = None) -> BurstId | None:
    try:
        return item_burst_id(item)
    except ValueError as err:
        if notes is not None:
            notes.append(f"item {item.id} skipped: {err}")
        return None


def _pol_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    out = []
    for v in value:
        s = str(v).upper().strip()
        if s in POLARIZATIONS:
            out.append(s)
    return out


def item_polarizations(item: pystac.Item) -> list[str]:
    """``sar:polarizations`` (sar extension >= 1.0), else the older ``sar:polarization``."""
    p = item.properties
    pols = _pol_list(p.get("sar:polarizations"))
    if not pols:
        pols = _pol_list(p.get("sar:polarization"))
    if not pols:
        pols = _pol_list(p.get("polarization"))
    return pols


def band_list(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    for key in ("bands", "eo:bands", "raster:bands"):
        v = fields.get(key)
        if isinstance(v, list) and v and all(isinstance(b, dict) for b in v):
            if any(b.get("name") for b in v):
                return v
    return []


def _item_asset_defaults(item: pystac.Item, key: str) -> dict[str, Any]:
    coll = collection_of(item)
    if coll is None:
        return {}
    ia = coll.extra_fields.get("item_assets") or {}
    d = ia.get(key)
    return dict(d) if isinstance(d, dict) else {}


def asset_band_names(item: pystac.Item, key: str) -> list[str | None]:
    """Band names of an asset from ``bands`` (STAC 1.1), ``eo:bands`` or ``raster:bands``, falling
    back to the collection's ``item_assets``."""
    asset = item.assets[key]
    bands = band_list(asset.extra_fields)
    if not bands:
        bands = band_list(_item_asset_defaults(item, key))
    return [b.get("name") for b in bands]


def asset_raster_info(item: pystac.Item, key: str, band: int = 1) -> dict[str, Any]:
    """``scale``, ``offset``, ``nodata``, ``data_type``, ``unit`` of one band (1-based) of an asset:
    STAC 1.1 asset fields (``raster:scale``, ``nodata``...), else ``raster:bands``/``bands`` entries,
    else the collection's ``item_assets``."""
    out: dict[str, Any] = {}
    for fields in (_item_asset_defaults(item, key), dict(item.assets[key].extra_fields)):
        for src in (fields, *_band_entry(fields, band)):
            for name in ("scale", "offset", "nodata", "data_type", "unit"):
                for k in (f"raster:{name}", name):
                    if k in src and src[k] is not None:
                        out[name] = src[k]
    return out


def _band_entry(fields: Mapping[str, Any], band: int) -> list[dict[str, Any]]:
    out = []
    for key in ("raster:bands", "bands"):
        v = fields.get(key)
        if isinstance(v, list) and len(v) >= band and isinstance(v[band - 1], dict):
            out.append(v[band - 1])
    return out


def collection_of(item: pystac.Item) -> pystac.Collection | None:
    """The item's collection (resolved through its links), or None if it cannot be found."""
    if item in _COLLECTION:
        return _COLLECTION[item]
    coll: pystac.Collection | None = None
    try:
        coll = item.get_collection()
    except CatalogError:
        coll = None
    except (pystac.STACError, OSError, ValueError, KeyError):
        coll = None
    _COLLECTION[item] = coll
    return coll


def asset_href(asset: pystac.Asset) -> str:
    """Where an asset's file is: its href made absolute against its item, except that an absolute
    local path that exists here stays a local path (a catalog of local files served by an API, e.g.
    a pgstac loaded from disk, would otherwise resolve it against the API's host)."""
    href = asset.href
    if href.startswith("file://"):
        return href[len("file://") :]
    if not is_url(href) and os.path.isabs(href) and os.path.exists(href):
        return href
    return str(asset.get_absolute_href() or href)


def _tokens(key: str) -> list[str]:
    return [t for t in re.split(r"[^0-9A-Za-z]+", key.upper()) if t]


def _is_data_asset(asset: pystac.Asset) -> bool:
    roles = set(asset.roles or [])
    if roles & {"metadata", "thumbnail", "overview", "visual"} and "data" not in roles:
        return False
    return True


def _is_hdf5(asset: pystac.Asset) -> bool:
    t = (asset.media_type or "").lower()
    return "hdf5" in t or "x-hdf" in t or asset.href.lower().endswith((".h5", ".hdf5", ".he5"))


def is_product_item(item: pystac.Item) -> bool:
    p = item.properties
    if "pairscope:reference_date" in p or "pairscope:secondary_date" in p:
        return True
    ptype = str(p.get("product:type") or p.get("sar:product_type") or "").lower()
    return "coh" in ptype or "interferogram" in ptype or "ifg" in ptype or "gunw" in ptype


def is_static_layer(item: pystac.Item) -> bool:
    """OPERA ``*-STATIC`` products: per-burst geometry layers, not acquisitions."""
    p = item.properties
    kinds = (item.id, str(p.get("processingLevel", "")), str(p.get("product:type", "")))
    return any("-STATIC" in k.upper() or k.upper().endswith("STATIC") for k in kinds)


def _slc_like(item: pystac.Item) -> bool:
    p = item.properties
    ptype = str(p.get("sar:product_type") or p.get("product:type") or "").upper()
    return "SLC" in ptype or "CSLC" in item.id.upper() or "SLC" in item.id.upper()


def _find_slc_assets(
    item: pystac.Item, pols: list[str], subswath: str | None = None
) -> tuple[dict[str, SlcAsset], GeolocationAsset | None]:
    found: dict[str, SlcAsset] = {}
    geo: GeolocationAsset | None = None
    keys = list(item.assets)
    if subswath is not None:  # scene items (iw1-vv, iw2-vv, ...): the burst's subswath first
        keys.sort(key=lambda k: subswath not in _tokens(k))
    for key in keys:
        asset = item.assets[key]
        if not _is_data_asset(asset):
            continue
        href = asset_href(asset)
        names = [str(n) if n else "" for n in asset_band_names(item, key)]
        lower = [n.lower() for n in names]
        # per-pixel geolocation bands
        lat_i = next((i for i, n in enumerate(lower) if n in ("grid_lat", "latitude", "lat")), None)
        lon_i = next(
            (i for i, n in enumerate(lower) if n in ("grid_lon", "longitude", "lon")), None
        )
        if lat_i is not None and lon_i is not None and geo is None:
            geo = GeolocationAsset(key, href, lat_i + 1, lon_i + 1)
        # i/q band pairs
        iq_found = False
        for pol in POLARIZATIONS:
            i_i = _index_of(lower, (f"i_{pol.lower()}", f"{pol.lower()}_i", f"{pol.lower()}_real"))
            q_i = _index_of(lower, (f"q_{pol.lower()}", f"{pol.lower()}_q", f"{pol.lower()}_imag"))
            if i_i is not None and q_i is not None:
                iq_found = True
                found.setdefault(pol, SlcAsset(item, key, href, "iq", (i_i + 1, q_i + 1)))
        if iq_found:
            continue
        if _is_hdf5(asset):
            h5_pols = [p for p in POLARIZATIONS if p in _tokens(key)] or pols
            for pol in h5_pols:
                found.setdefault(pol, SlcAsset(item, key, href, "hdf5", (), f"/data/{pol}"))
            continue
        media = (asset.media_type or "").lower()
        if media and "tif" not in media and "jp2" not in media and "zarr" not in media:
            continue
        dtype = str(asset_raster_info(item, key).get("data_type", "")).lower()
        key_pols = [p for p in POLARIZATIONS if p in _tokens(key)]
        name_pols = [n.upper() for n in names if n.upper() in POLARIZATIONS]
        asset_pols = key_pols or name_pols or (pols if len(pols) == 1 and len(item.assets) else [])
        if len(asset_pols) != 1:
            continue
        pol = asset_pols[0]
        if dtype in COMPLEX_DTYPES or (not dtype and _slc_like(item)):
            found.setdefault(pol, SlcAsset(item, key, href, "complex", (1,)))
        elif not is_product_item(item):
            found.setdefault(pol, SlcAsset(item, key, href, "amplitude", (1,)))
    return found, geo


def item_assets_by_polarization(item: pystac.Item) -> dict[str, SlcAsset]:
    """Polarization -> the asset (and bands) holding its samples, for any layout pairscope reads."""
    return _find_slc_assets(item, item_polarizations(item))[0]


def _index_of(names: list[str], candidates: tuple[str, ...]) -> int | None:
    for c in candidates:
        if c in names:
            return names.index(c)
    return None


def _find_orbit_asset(
    item: pystac.Item, subswath: str | None, pols: list[str]
) -> OrbitAsset | None:
    annotation: list[tuple[int, str, pystac.Asset]] = []
    for key, asset in item.assets.items():
        href = asset_href(asset)
        roles = set(asset.roles or [])
        low = key.lower()
        if "orbit" in roles or low in ("orbit", "eof") or href.upper().endswith(".EOF"):
            return OrbitAsset(item, key, href, "eof")
        if (
            "annotation" in roles
            or low.startswith(("schema-product", "annotation", "products_"))
            or "/annotation/" in href
            and "calibration" not in href
            and "noise" not in href
        ) and href.lower().endswith(".xml"):
            toks = _tokens(key)
            score = (subswath is not None and subswath in toks) * 2 + any(p in toks for p in pols)
            annotation.append((int(score), key, asset))
    if annotation:
        annotation.sort(key=lambda t: -t[0])
        _, key, asset = annotation[0]
        return OrbitAsset(item, key, asset_href(asset), "annotation")
    for key, asset in item.assets.items():  # OPERA CSLC: state vectors in metadata/orbit
        if _is_hdf5(asset) and _is_data_asset(asset):
            return OrbitAsset(item, key, asset_href(asset), "hdf5")
    return None


_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2}))?")


def items_from_collection_assets(coll: pystac.Collection) -> list[pystac.Item]:
    """openEO job results keep one GeoTIFF per date as *collection* assets (``openEO_2024-08-09Z.tif``
    with bands ``i_VV, q_VV, grid_lat, grid_lon``): one item per such asset, dated from the asset's
    ``datetime`` or its name, footprint from the collection extent."""
    out = []
    bbox = coll.extent.spatial.bboxes[0] if coll.extent.spatial.bboxes else None
    for key, asset in coll.assets.items():
        names = [str(b.get("name", "")).lower() for b in band_list(asset.extra_fields)]
        if not any(n.startswith(("i_", "q_")) for n in names):
            continue
        when: _dt.datetime | None = None
        if asset.extra_fields.get("datetime"):
            when = parse_instant(asset.extra_fields["datetime"], end=False)
        else:
            m = _DATE_IN_NAME.search(key) or _DATE_IN_NAME.search(asset.href.rsplit("/", 1)[-1])
            if m:
                y, mo, d, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
                when = _dt.datetime(y, mo, d, hh, mm, ss, tzinfo=_dt.UTC)
        if when is None:
            continue
        geom = None
        if bbox is not None:
            w, s_, e, n = bbox[0], bbox[1], bbox[-2], bbox[-1]
            geom = {"type": "Polygon", "coordinates": [[[w, s_], [e, s_], [e, n], [w, n], [w, s_]]]}
        props = {
            k: v
            for k, v in (coll.summaries.to_dict() if coll.summaries else {}).items()
            if not isinstance(v, dict | list) or k == "sar:polarizations"
        }
        item = pystac.Item(
            id=f"{coll.id}:{key}",
            geometry=geom,
            bbox=[bbox[0], bbox[1], bbox[-2], bbox[-1]] if bbox is not None else None,
            datetime=when,
            properties=props,
            collection=coll.id,
        )
        new_asset = asset.clone()
        new_asset.href = asset_href(asset)
        item.add_asset(key, new_asset)
        _COLLECTION[item] = coll
        out.append(item)
    return out


def _platform(item: pystac.Item) -> str | None:
    p = item.properties.get("platform")
    if p:
        return str(p).lower().replace("sentinel1", "sentinel-1")
    m = re.match(r"^S1([ABCD])[_-]", item.id)
    if m:
        return f"sentinel-1{m.group(1).lower()}"
    return None


def _item_datetime(item: pystac.Item) -> _dt.datetime | None:
    d = item.datetime or item.common_metadata.start_datetime
    if d is None:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return d.astimezone(_dt.UTC)


def parse_instant(value: Any, *, end: bool) -> _dt.datetime | None:
    if value is None or value == "" or value == "..":
        return None
    if isinstance(value, np.datetime64):
        value = str(value.astype("datetime64[us]"))
    if isinstance(value, _dt.datetime):
        d = value
    elif isinstance(value, _dt.date):
        d = _dt.datetime(value.year, value.month, value.day)
        if end:
            d = d + _dt.timedelta(days=1) - _dt.timedelta(microseconds=1)
    else:
        s = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s) or re.fullmatch(r"\d{8}", s):
            day = _dt.datetime.strptime(s.replace("-", ""), "%Y%m%d")
            d = day + _dt.timedelta(days=1) - _dt.timedelta(microseconds=1) if end else day
        else:
            try:
                d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"cannot read {value!r} as a date or time: use e.g. '2024-08-09', "
                    "'2024-08-09T05:00:00Z' or a datetime"
                ) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return d.astimezone(_dt.UTC)


def acquisition_from_item(
    item: pystac.Item, burst: BurstId | None = None, *, notes: list[str] | None = None
) -> Acquisition | None:
    """Parse one item into an :class:`Acquisition`, or None if it holds no identifiable burst or is
    a pair product (coherence, interferogram). Why an item was skipped goes to ``notes``."""
    if is_product_item(item) or is_static_layer(item):
        return None
    if burst is None:
        burst = safe_burst_id(item, notes)
    if burst is None:
        return None
    when = _item_datetime(item)
    if when is None:
        return None
    p = item.properties
    pols = item_polarizations(item)
    if not pols:
        m = re.search(r"_(VV|VH|HH|HV)_", item.id)
        if m:
            pols = [m.group(1)]
    assets, geo = _find_slc_assets(item, pols, burst.subswath)
    if not pols:
        pols = sorted(assets)
    rel = p.get("sat:relative_orbit")
    state = next(
        (p[k] for k in ("sat:orbit_state", "flightDirection", "orbit_pass_direction") if p.get(k)),
        None,
    )
    abs_orbit = p.get("sat:absolute_orbit")
    return Acquisition(
        burst_id=burst.canonical,
        datetime=when,
        platform=_platform(item),
        item=item,
        collection=item.collection_id,
        polarizations=tuple(pols),
        assets=assets,
        orbit=_find_orbit_asset(item, burst.subswath, pols),
        geolocation=geo,
        relative_orbit=int(rel) if rel is not None else int(burst.relative_orbit),
        orbit_state=str(state).lower() if state else None,
        absolute_orbit=int(abs_orbit) if abs_orbit is not None else None,
    )


@dataclass(frozen=True)
class PairProduct:
    """A published pair product (coherence, interferogram) of one burst: its dates and data assets."""

    burst_id: str | None
    reference: np.datetime64
    secondary: np.datetime64
    item: pystac.Item = field(repr=False, compare=False)
    collection: str | None
    assets: tuple[str, ...]

    @property
    def temporal_baseline(self) -> int:
        """Days between the two dates."""
        return int((self.secondary - self.reference) // np.timedelta64(1, "D"))


def _day(value: Any) -> np.datetime64 | None:
    d = parse_instant(value, end=False) if value is not None else None
    if d is None:
        return None
    day: np.datetime64 = np.datetime64(d.date().isoformat(), "ns")
    return day


def product_from_item(item: pystac.Item) -> PairProduct | None:
    """The pair an item is a product of (``pairscope:reference_date``/``secondary_date``, else its
    ``start_datetime``/``end_datetime``), or None if it is not a pair product."""
    if not is_product_item(item):
        return None
    p = item.properties
    ref = _day(p.get("pairscope:reference_date") or p.get("start_datetime"))
    sec = _day(p.get("pairscope:secondary_date") or p.get("end_datetime"))
    if ref is None or sec is None:
        return None
    burst = safe_burst_id(item)
    keys = tuple(k for k, a in item.assets.items() if "data" in (a.roles or []))
    return PairProduct(
        burst_id=burst.canonical if burst is not None else None,
        reference=ref,
        secondary=sec,
        item=item,
        collection=item.collection_id,
        assets=keys,
    )


# ------------------------------------------------------------------------ state vectors in metadata
#: The generic pairscope property: a list of ``{"time": ISO UTC, "position": [x, y, z] (m, ECEF),
#: "velocity": [vx, vy, vz] (m/s)}`` (what :func:`state_vectors_property` writes).
STATE_VECTORS_PROPERTY = "pairscope:state_vectors"

#: ASF / CMR burst and SLC records: ``"x,y,z,YYYY-MM-DDTHH:MM:SS.ffffff"`` (ECEF m or m/s, UTC).
ASF_STATE_VECTOR_FIELDS = (
    "SV_POSITION_PRE",
    "SV_VELOCITY_PRE",
    "SV_POSITION_POST",
    "SV_VELOCITY_POST",
)


@dataclass(frozen=True)
class StateVectors:
    """Orbit state vectors found in an item's metadata (build a ``geometry.Orbit`` from them).

    ``times`` (N,) datetime64[ns] UTC, increasing; ``positions`` / ``velocities`` (N, 3) ECEF m and
    m/s; ``source`` names the properties they were read from (for messages)."""

    times: np.ndarray[Any, np.dtype[np.datetime64]] = field(repr=False)
    positions: np.ndarray[Any, np.dtype[np.float64]] = field(repr=False)
    velocities: np.ndarray[Any, np.dtype[np.float64]] = field(repr=False)
    source: str

    def __len__(self) -> int:
        return int(self.times.shape[0])


def _bad_vectors(item_id: str, source: str, why: str) -> AssetError:
    return AssetError(f"item {item_id!r}: cannot read the state vectors in {source}: {why}")


def _utc64(value: Any, item_id: str, source: str) -> np.datetime64:
    try:
        d = parse_instant(value, end=False)
    except (ValueError, TypeError):
        d = None
    if d is None:
        raise _bad_vectors(item_id, source, f"{value!r} is not a UTC time")
    t: np.datetime64 = np.datetime64(d.replace(tzinfo=None), "ns")
    return t


def _triple(value: Any, item_id: str, source: str) -> list[float]:
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError):
        out = []
    if len(out) != 3 or not all(np.isfinite(out)):
        raise _bad_vectors(item_id, source, f"{value!r} is not three finite numbers")
    return out


def _asf_value(value: Any, name: str, item_id: str) -> tuple[list[float], np.datetime64]:
    """``"x,y,z,time"`` (also as a one-string list, as in CMR ``Values``, or a 4-list)."""
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise _bad_vectors(item_id, name, f"expected 'x,y,z,time', got {value!r}")
    return _triple(parts[:3], item_id, name), _utc64(parts[3], item_id, name)


def _asf_fields(props: Mapping[str, Any]) -> dict[str, Any]:
    """The ``SV_*`` fields at the top level, in CMR ``AdditionalAttributes`` (also under
    ``umm``), or asf_search's ``baseline.stateVectors`` record, by ASF field name."""
    found: dict[str, Any] = {}
    attrs = props.get("AdditionalAttributes")
    umm = props.get("umm")
    if attrs is None and isinstance(umm, Mapping):
        attrs = umm.get("AdditionalAttributes")
    if isinstance(attrs, list):
        for a in attrs:
            if isinstance(a, Mapping) and a.get("Name") in ASF_STATE_VECTOR_FIELDS:
                found[str(a["Name"])] = a.get("Values")
    baseline = props.get("baseline")
    sv = baseline.get("stateVectors") if isinstance(baseline, Mapping) else None
    if isinstance(sv, Mapping):
        pos, vel = sv.get("positions") or {}, sv.get("velocities") or {}
        for when in ("pre", "post"):
            key = when.upper()
            p, pt = pos.get(f"{when}Position"), pos.get(f"{when}PositionTime")
            v, vt = vel.get(f"{when}Velocity"), vel.get(f"{when}VelocityTime")
            if p is not None and pt is not None:
                found.setdefault(f"SV_POSITION_{key}", [*p, pt])
            if v is not None and vt is not None:
                found.setdefault(f"SV_VELOCITY_{key}", [*v, vt])
    for name in ASF_STATE_VECTOR_FIELDS:
        for key in (name, name.lower(), f"asf:{name.lower()}"):
            if props.get(key) is not None:
                found[name] = props[key]
                break
    return found


def item_state_vectors(item: pystac.Item | Mapping[str, Any]) -> StateVectors | None:
    """Orbit state vectors carried in an item's properties, or None when it carries none.

    Reads ``pairscope:state_vectors`` (:data:`STATE_VECTORS_PROPERTY`) or ASF / CMR records'
    ``SV_POSITION_PRE``, ``SV_VELOCITY_PRE``, ``SV_POSITION_POST``, ``SV_VELOCITY_POST``
    (``"x,y,z,2014-10-17T15:16:14.000000"``, UTC, ECEF; at the top level, lower case, ``asf:``
    prefixed, in CMR ``AdditionalAttributes`` or asf_search's ``baseline.stateVectors``). A
    position and its velocity must share their time. Malformed values raise :class:`AssetError`
    naming the item and the field. ``item`` may also be a plain properties mapping.
    """
    props = item.properties if isinstance(item, pystac.Item) else item
    item_id = item.id if isinstance(item, pystac.Item) else str(props.get("id", "<properties>"))
    listed = props.get(STATE_VECTORS_PROPERTY)
    if listed is not None:
        source = STATE_VECTORS_PROPERTY
        if not isinstance(listed, list) or not listed:
            raise _bad_vectors(item_id, source, "expected a list of {time, position, velocity}")
        rows = []
        for k, sv in enumerate(listed):
            if not isinstance(sv, Mapping) or not {"time", "position", "velocity"} <= set(sv):
                raise _bad_vectors(
                    item_id, source, f"entry {k} is not a {{time, position, velocity}} object"
                )
            rows.append(
                (
                    _utc64(sv["time"], item_id, source),
                    _triple(sv["position"], item_id, source),
                    _triple(sv["velocity"], item_id, source),
                )
            )
        rows.sort(key=lambda r: r[0])
        if any(a[0] == b[0] for a, b in zip(rows[:-1], rows[1:], strict=True)):
            raise _bad_vectors(item_id, source, "two state vectors have the same time")
        return StateVectors(
            np.array([r[0] for r in rows], dtype="datetime64[ns]"),
            np.array([r[1] for r in rows], dtype=np.float64),
            np.array([r[2] for r in rows], dtype=np.float64),
            source,
        )
    fields = _asf_fields(props)
    if not fields:
        return None
    missing = [n for n in ASF_STATE_VECTOR_FIELDS if fields.get(n) is None]
    if missing:
        raise _bad_vectors(item_id, "the ASF SV_* fields", f"{', '.join(missing)} missing")
    parsed = {n: _asf_value(fields[n], n, item_id) for n in ASF_STATE_VECTOR_FIELDS}
    for when in ("PRE", "POST"):
        (_, tp), (_, tv) = parsed[f"SV_POSITION_{when}"], parsed[f"SV_VELOCITY_{when}"]
        if abs(int((tp - tv).astype("timedelta64[ns]").astype(np.int64))) > 1000:
            raise _bad_vectors(
                item_id,
                "the ASF SV_* fields",
                f"SV_POSITION_{when} is at {tp} but SV_VELOCITY_{when} at {tv}",
            )
    t_pre, t_post = parsed["SV_POSITION_PRE"][1], parsed["SV_POSITION_POST"][1]
    if not t_pre < t_post:
        raise _bad_vectors(
            item_id, "the ASF SV_* fields", f"SV_*_PRE ({t_pre}) is not before SV_*_POST ({t_post})"
        )
    return StateVectors(
        np.array([t_pre, t_post], dtype="datetime64[ns]"),
        np.array([parsed["SV_POSITION_PRE"][0], parsed["SV_POSITION_POST"][0]]),
        np.array([parsed["SV_VELOCITY_PRE"][0], parsed["SV_VELOCITY_POST"][0]]),
        "the ASF SV_* fields",
    )


def state_vectors_property(times: Any, positions: Any, velocities: Any) -> list[dict[str, Any]]:
    """The JSON value of :data:`STATE_VECTORS_PROPERTY` for these vectors (UTC times to the
    microsecond, positions to the millimetre, velocities to the micrometre per second)."""
    t = np.asarray(times, dtype="datetime64[ns]").ravel()
    p = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    v = np.asarray(velocities, dtype=np.float64).reshape(-1, 3)
    if not (t.shape[0] == p.shape[0] == v.shape[0]):
        raise ValueError(
            f"times {t.shape}, positions {p.shape} and velocities {v.shape} differ in length"
        )
    return [
        {
            "time": str(ti.astype("datetime64[us]")) + "Z",
            "position": [round(float(x), 3) for x in pi],
            "velocity": [round(float(x), 6) for x in vi],
        }
        for ti, pi, vi in zip(t, p, v, strict=True)
    ]
