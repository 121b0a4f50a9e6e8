"""What the app asks of the core, as one small interface with the real core as default.

The explorer never calls the catalog, stack, coherence or geometry modules directly: it calls a
:class:`Backend`. :class:`CoreBackend` is the real path (STAC catalog -> SLC stack -> estimator ->
geocoding); a test may inject an instant fake with the same methods (STYLE.md section 3).
Results are cached on plain keys (catalog, burst, polarization, dates, window, bias, geometry).
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import xarray as xr

#: Map layers the app knows, in menu order. ``PAIR_LAYERS`` come from a pair, the rest from the
#: acquisition geometry.
PAIR_LAYERS = ("coherence", "phase", "amplitude")
GEOMETRY_LAYERS = ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up", "incidence")
LAYERS = PAIR_LAYERS + GEOMETRY_LAYERS

#: Largest geometry grid computed (look vectors are smooth: a decimated grid is exact enough).
GEOMETRY_MAX_SAMPLES = (192, 768)


class UserError(Exception):
    """An error the person at the screen can act on: ``message`` says what, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


@dataclass(frozen=True)
class BurstInfo:
    burst_id: str
    #: Footprint ring as ``[(lon, lat), ...]`` or ``None`` when the catalog has no geometry.
    footprint: tuple[tuple[float, float], ...] | None = None
    n_dates: int | None = None


@dataclass(frozen=True)
class CatalogInfo:
    location: str
    bursts: tuple[BurstInfo, ...]
    #: Things the person should know (client-side filtering, missing capabilities...).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BurstDates:
    burst_id: str
    dates: tuple[np.datetime64, ...]
    polarizations: tuple[str, ...]
    #: Perpendicular baseline of each date against the first, metres; ``None`` without orbits.
    perpendicular_baselines: tuple[float, ...] | None = None
    notes: tuple[str, ...] = ()


ProgressCallback = Callable[[float, str], None]


class Backend(Protocol):
    def open_catalog(self, catalog: str) -> CatalogInfo: ...

    def burst_dates(self, catalog: str, burst_id: str, polarization: str) -> BurstDates: ...

    def compute_pair(
        self,
        catalog: str,
        burst_id: str,
        polarization: str,
        reference: np.datetime64,
        secondary: np.datetime64,
        window: tuple[int, int],
        bias_corrected: bool,
        geometry: str,
        amplitude: bool = False,
    ) -> xr.Dataset:
        """``coherence``, ``phase`` (and ``amplitude`` if asked) on 2-D dims (azimuth, range) or
        (y, x)."""
        ...

    def compute_geometry(
        self, catalog: str, burst_id: str, polarization: str, geometry: str
    ) -> xr.Dataset:
        """Look-vector layers (``GEOMETRY_LAYERS``) on the same kind of grid as the pairs."""
        ...


def as_date(value: Any, unit: str = "ns") -> np.datetime64:
    """``value`` (any date numpy understands) as ``datetime64`` of ``unit`` precision."""
    out: np.datetime64 = np.datetime64(value, unit)  # type: ignore[call-overload]
    return out


def day(date: Any) -> str:
    """``YYYYMMDD`` spelling of a date (URLs, cache keys)."""
    return str(as_date(date, "D")).replace("-", "")


class ResultCache:
    """A thread-safe LRU of xarray objects bounded by bytes, keyed on plain tuples."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0

    @staticmethod
    def _size(value: Any) -> int:
        nbytes = getattr(value, "nbytes", None)
        return int(nbytes) if nbytes is not None else 1024

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            self._data.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any) -> None:
        size = self._size(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._data[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._data) > 1:
                _, (_, s) = self._data.popitem(last=False)
                self._bytes -= s

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        return len(self._data)


def _explain(exc: BaseException, what: str, hint: str) -> UserError:
    if isinstance(exc, UserError):
        return exc
    text = str(exc).strip() or type(exc).__name__
    return UserError(f"{what}: {text}", hint)


def _boxcar(values: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Mean over an azimuth x range window, same shape (edges averaged over the valid part)."""
    from scipy.ndimage import uniform_filter

    out: np.ndarray = np.asarray(
        uniform_filter(values, size=window, mode="nearest"), dtype=np.float32
    )
    return out


class CoreBackend:
    """The real path through the pairscope core. One instance serves every session.

    Opened catalogs, read acquisitions and computed pairs are cached on plain keys; methods are
    safe to call from worker threads.
    """

    def __init__(self, cache_bytes: int = 768 * 2**20, resolution: float = 20.0) -> None:
        self.cache = ResultCache(cache_bytes)
        self.resolution = resolution
        self._catalogs: dict[str, Any] = {}
        self._lock = threading.RLock()

    # -- catalog ----------------------------------------------------------------------------------
    def _catalog(self, location: str) -> Any:
        import pairscope.errors as pairscope_errors
        from pairscope.io import catalog as core_catalog
        from pairscope.io import http as http_mod

        with self._lock:
            cat = self._catalogs.get(location)
        if cat is None:
            try:
                cat = core_catalog.open_catalog(location)
            except pairscope_errors.CatalogAuthError as exc:
                raise UserError(
                    f"Catalog {location!r} needs a valid token ({exc}).",
                    f"Ask the operator to set {http_mod.TOKEN_ENV} in the server's "
                    "environment (tokens are never typed into the page).",
                ) from exc
            except pairscope_errors.CatalogUnreachableError as exc:
                raise UserError(
                    f"Catalog {location!r} is unreachable ({exc}).",
                    "Check the address and that the server is up and reachable from this machine.",
                ) from exc
            except pairscope_errors.CatalogTimeoutError as exc:
                raise UserError(
                    f"Catalog {location!r} did not answer in time ({exc}).",
                    "The server may be overloaded: try again in a minute.",
                ) from exc
            except Exception as exc:  # format, HTTP errors: all become a message
                raise _explain(
                    exc,
                    f"Could not open catalog {location!r}",
                    "Check that the address is a STAC API root or a static catalog.json.",
                ) from exc
            with self._lock:
                self._catalogs[location] = cat
        return cat

    def open_catalog(self, catalog: str) -> CatalogInfo:
        from pairscope.io import catalog as core_catalog

        key = ("catalog", catalog)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        cat = self._catalog(catalog)
        try:
            summaries = core_catalog.search_bursts(cat)
        except Exception as exc:
            raise _explain(
                exc, f"Could not list bursts in {catalog!r}", "Check that it is a STAC catalog."
            ) from exc
        bursts = []
        for s in summaries:
            bursts.append(
                BurstInfo(
                    burst_id=str(s.burst_id),
                    footprint=_footprint(s.footprint) or _footprint(s.bbox),
                    n_dates=_as_int(s.date_count),
                )
            )
        notes = list(dict.fromkeys(str(n) for n in summaries.notes))
        if summaries.filtered_client_side and not notes:
            notes.append("This catalog cannot filter on the server: filtered here after reading.")
        if not bursts:
            raise UserError(
                f"Catalog {catalog!r} has no Sentinel-1 burst items.",
                "Open a catalog with SLC burst items (s1:burst_id / pairscope:burst_id).",
            )
        info = CatalogInfo(location=catalog, bursts=tuple(bursts), notes=tuple(notes))
        self.cache.put(key, info)
        return info

    # -- dates and baselines ------------------------------------------------------------------------
    def _acquisitions(self, catalog: str, burst_id: str, polarization: str) -> list[Any]:
        import pairscope.errors as pairscope_errors
        from pairscope.io import catalog as core_catalog

        key = ("acq", catalog, burst_id, polarization)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        try:
            acqs = list(
                core_catalog.list_acquisitions(
                    self._catalog(catalog), burst_id, polarization=polarization
                )
            )
        except pairscope_errors.BurstNotFoundError as exc:
            raise UserError(
                f"Burst {burst_id} is not in this catalog.", "Pick one of the listed bursts."
            ) from exc
        except Exception as exc:
            raise _explain(exc, f"Could not list dates of burst {burst_id}", "") from exc
        if not acqs:
            raise UserError(
                f"Burst {burst_id} has no {polarization} acquisitions in this catalog.",
                "Pick another polarization or another burst.",
            )
        acqs.sort(key=lambda a: _acq_date(a))
        self.cache.put(key, acqs)
        return acqs

    def burst_dates(self, catalog: str, burst_id: str, polarization: str) -> BurstDates:
        key = ("dates", catalog, burst_id, polarization)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        acqs = self._acquisitions(catalog, burst_id, polarization)
        dates = tuple(_acq_date(a) for a in acqs)
        pols: set[str] = set()
        for a in acqs:
            pols.update(str(p) for p in (_field(a, "polarizations") or ()))
        notes: list[str] = []
        baselines = None
        try:
            baselines = self._baselines(catalog, burst_id, acqs)
        except Exception as exc:  # baselines are a nicety: say why they are missing
            notes.append(f"Perpendicular baselines unavailable ({exc}); the network uses the index.")
        if baselines is None and not notes:
            notes.append("No orbit assets in this catalog: the pair network is drawn against index.")
        info = BurstDates(
            burst_id=burst_id,
            dates=dates,
            polarizations=tuple(sorted(pols)) or (polarization,),
            perpendicular_baselines=baselines,
            notes=tuple(notes),
        )
        self.cache.put(key, info)
        return info

    def _orbits(self, catalog: str, acqs: Sequence[Any]) -> list[Any] | None:
        from pairscope.io import orbits as core_orbits

        cat = self._catalog(catalog)
        orbits = [core_orbits.open_orbit(a, catalog=cat) for a in acqs]
        if any(o is None for o in orbits):
            return None
        return orbits

    def _baselines(
        self, catalog: str, burst_id: str, acqs: Sequence[Any]
    ) -> tuple[float, ...] | None:
        from pairscope import geometry

        orbits = self._orbits(catalog, acqs)
        if orbits is None:
            return None
        lat, lon = _centre(self.open_catalog(catalog), burst_id, acqs)
        first = orbits[0]
        return tuple(
            float(np.asarray(geometry.perpendicular_baseline(first, o, lat, lon, 0.0)).mean())
            for o in orbits
        )

    # -- data -------------------------------------------------------------------------------------
    def _stack(self, catalog: str, burst_id: str, polarization: str) -> xr.DataArray:
        from pairscope.io import rasters as core_stack

        key = ("stack", catalog, burst_id, polarization)
        hit = self.cache.get(key)
        if hit is not None:
            return hit.value  # type: ignore[no-any-return]
        acqs = self._acquisitions(catalog, burst_id, polarization)
        dates = [_acq_date(a) for a in acqs]
        try:
            slc = core_stack.open_slc_stack(self._catalog(catalog), burst_id, dates, polarization)
        except Exception as exc:
            raise _explain(
                exc,
                f"Could not open the {polarization} SLC stack of burst {burst_id}",
                "Try another polarization or check that the SLC assets are readable.",
            ) from exc
        # the lazy stack is tiny in memory; keep it out of the byte budget
        self.cache.put(key, _Lazy(slc))
        return slc

    def _date(self, catalog: str, burst_id: str, polarization: str, date: np.datetime64) -> Any:
        key = ("slc", catalog, burst_id, polarization, day(date))
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        slc = self._stack(catalog, burst_id, polarization)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="rasterio")
                one = slc.sel(date=as_date(date)).load()
        except KeyError as exc:
            raise UserError(
                f"Date {day(date)} is not in the stack of burst {burst_id}.",
                "Pick dates from the list in the sidebar.",
            ) from exc
        except Exception as exc:
            raise _explain(
                exc,
                f"Could not read the {polarization} SLC of {burst_id} on {day(date)}",
                "The asset may be missing or corrupt; drop that date from the selection.",
            ) from exc
        self.cache.put(key, one)
        return one

    def compute_pair(
        self,
        catalog: str,
        burst_id: str,
        polarization: str,
        reference: np.datetime64,
        secondary: np.datetime64,
        window: tuple[int, int],
        bias_corrected: bool,
        geometry: str,
        amplitude: bool = False,
    ) -> xr.Dataset:
        from pairscope import coherence

        key = (
            "pair", catalog, burst_id, polarization, day(reference), day(secondary),
            tuple(window), bool(bias_corrected), geometry,
        )  # fmt: skip
        hit = self.cache.get(key)
        if hit is not None and (not amplitude or "amplitude" in hit):
            return hit  # type: ignore[no-any-return]
        ref = self._date(catalog, burst_id, polarization, reference)
        sec = self._date(catalog, burst_id, polarization, secondary)
        if ref.shape != sec.shape:
            raise UserError(
                f"Dates {day(reference)} and {day(secondary)} are not on a common grid "
                f"({ref.shape} vs {sec.shape}).",
                "Pick dates of the same coregistered stack.",
            )
        naz, nrg = ref.shape
        if window[0] > naz or window[1] > nrg:
            raise UserError(
                f"Window {window[0]}x{window[1]} is larger than the image ({naz}x{nrg}).",
                f"Use at most {naz} azimuth x {nrg} range looks.",
            )
        dims = tuple(str(d) for d in ref.dims)
        if hit is not None:  # coherence cached, amplitude asked for now
            layer = _amplitude(ref.values, sec.values, window)
            if geometry == "map":
                radar = xr.Dataset({"amplitude": (dims, layer)}, coords=_grid_coords(ref, dims))
                layer_da = self._geocode(radar)["amplitude"]
            else:
                layer_da = xr.DataArray(layer, dims=dims)
            ds: xr.Dataset = hit.assign(
                amplitude=layer_da.assign_attrs(units="dB", long_name="amplitude")
            )
            self.cache.put(key, ds)
            return ds
        coh, phase = coherence.estimate(ref.values, sec.values, window=tuple(window))
        coh = np.asarray(coh, dtype=np.float32)
        if bias_corrected:
            coh = np.asarray(
                coherence.bias_corrected_coherence(coh, window[0] * window[1]), dtype=np.float32
            )
        layers = {
            "coherence": (dims, coh, {"units": "1", "long_name": "coherence"}),
            "phase": (dims, np.asarray(phase, np.float32), {"units": "rad"}),
        }
        if amplitude:
            layers["amplitude"] = (
                dims, _amplitude(ref.values, sec.values, window),
                {"units": "dB", "long_name": "amplitude"},
            )  # fmt: skip
        coords = _grid_coords(ref, dims)
        ds = xr.Dataset(
            layers,
            coords=coords,
            attrs={
                "reference": day(reference),
                "secondary": day(secondary),
                "window": f"{window[0]}x{window[1]}",
                "bias_corrected": int(bias_corrected),
            },
        )
        if geometry == "map":
            ds = self._geocode(ds)
        self.cache.put(key, ds)
        return ds

    def _geocode(self, ds: xr.Dataset) -> xr.Dataset:
        from pairscope.geometry.geocoding import geocode

        if "latitude" not in ds.coords or "longitude" not in ds.coords:
            raise UserError(
                "This stack has no latitude/longitude grid, so it cannot be shown in map geometry.",
                "Switch the output geometry to radar.",
            )
        lat, lon = ds["latitude"].values, ds["longitude"].values
        data = ds.drop_vars(["latitude", "longitude", "height"], errors="ignore")
        out: xr.Dataset = geocode(data, lat, lon, resolution=self.resolution)
        return out

    def compute_geometry(
        self, catalog: str, burst_id: str, polarization: str, geometry: str
    ) -> xr.Dataset:
        from pairscope import geometry as core_geometry

        key = ("geometry", catalog, burst_id, polarization, geometry)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        acqs = self._acquisitions(catalog, burst_id, polarization)
        orbits = self._orbits(catalog, acqs[:1])
        if orbits is None:
            raise UserError(
                "This catalog has no orbit for the reference date, so look vectors cannot be "
                "computed.",
                "Pick coherence, phase or amplitude, or use a catalog with orbit assets.",
            )
        slc = self._stack(catalog, burst_id, polarization)
        if "latitude" not in slc.coords or "longitude" not in slc.coords:
            raise UserError(
                "This stack has no latitude/longitude grid, so look vectors cannot be computed.",
                "Pick coherence, phase or amplitude.",
            )
        az_dim, rg_dim = slc.dims[-2], slc.dims[-1]
        step_az = max(1, -(-slc.sizes[az_dim] // GEOMETRY_MAX_SAMPLES[0]))
        step_rg = max(1, -(-slc.sizes[rg_dim] // GEOMETRY_MAX_SAMPLES[1]))
        sub = slc.isel({az_dim: slice(None, None, step_az), rg_dim: slice(None, None, step_rg)})
        lat = np.asarray(sub["latitude"].values, dtype=np.float64)
        lon = np.asarray(sub["longitude"].values, dtype=np.float64)
        height = (
            np.asarray(sub["height"].values, dtype=np.float64)
            if "height" in sub.coords
            else np.zeros_like(lat)
        )
        look = core_geometry.look_geometry(orbits[0], lat, lon, height)
        dims = (str(az_dim), str(rg_dim))
        layers = {}
        for name in GEOMETRY_LAYERS:
            source = "incidence_angle" if name == "incidence" else name
            values = np.asarray(look[source].values, dtype=np.float32).reshape(lat.shape)
            units = "deg" if name == "incidence" else "1"
            layers[name] = (dims, values, {"units": units})
        coords: dict[str, Any] = {
            str(az_dim): sub[az_dim].values if az_dim in sub.coords else np.arange(
                0, slc.sizes[az_dim], step_az
            ),
            str(rg_dim): sub[rg_dim].values if rg_dim in sub.coords else np.arange(
                0, slc.sizes[rg_dim], step_rg
            ),
            "latitude": (dims, lat),
            "longitude": (dims, lon),
        }
        ds = xr.Dataset(layers, coords=coords)
        if geometry == "map":
            ds = self._geocode(ds)
        self.cache.put(key, ds)
        return ds


def _amplitude(ref: np.ndarray, sec: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Geometric mean of the two multilooked intensities, in dB (uncalibrated)."""
    power = np.sqrt(
        _boxcar(np.abs(ref).astype(np.float32) ** 2, window)
        * _boxcar(np.abs(sec).astype(np.float32) ** 2, window)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = (10.0 * np.log10(power)).astype(np.float32)
    out[~np.isfinite(out)] = np.nan
    return out


def _grid_coords(one: xr.DataArray, dims: tuple[str, ...]) -> dict[str, Any]:
    coords = {str(k): v for k, v in one.coords.items() if v.dims and set(v.dims) <= set(dims)}
    coords.pop("date", None)
    return coords


class _Lazy:
    """Wraps a lazy (dask) object so the cache counts it as small."""

    nbytes = 1024

    def __init__(self, value: Any) -> None:
        self.value = value


def _field(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _acq_date(acq: Any) -> np.datetime64:
    value = _field(acq, "date", "datetime")
    return as_date(as_date(value, "D"))


def _footprint(geom: Any) -> tuple[tuple[float, float], ...] | None:
    """A lon/lat ring from a GeoJSON polygon, a shapely geometry or a bbox."""
    if geom is None:
        return None
    if hasattr(geom, "exterior"):
        return tuple((float(x), float(y)) for x, y in geom.exterior.coords)
    if isinstance(geom, dict):
        coords = geom.get("coordinates")
        if geom.get("type") == "Polygon" and coords:
            return tuple((float(p[0]), float(p[1])) for p in coords[0])
        if geom.get("type") == "MultiPolygon" and coords:
            return tuple((float(p[0]), float(p[1])) for p in coords[0][0])
        return None
    values = list(geom) if isinstance(geom, list | tuple) else []
    if len(values) == 4 and all(isinstance(v, int | float) for v in values):
        x0, y0, x1, y1 = (float(v) for v in values)
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))
    return None


def _centre(info: CatalogInfo, burst_id: str, acqs: Sequence[Any]) -> tuple[float, float]:
    for b in info.bursts:
        if b.burst_id == burst_id and b.footprint:
            ring = np.asarray(b.footprint[:-1] if len(b.footprint) > 1 else b.footprint)
            return float(ring[:, 1].mean()), float(ring[:, 0].mean())
    ring_geom = _footprint(_field(acqs[0], "geometry", "footprint", "bbox"))
    if ring_geom:
        ring = np.asarray(ring_geom)
        return float(ring[:, 1].mean()), float(ring[:, 0].mean())
    raise UserError(f"Burst {burst_id} has no footprint to place the baselines.", "")
