"""What the app asks of the core, as one small interface with the real core as default.

The explorer never calls the catalog, stack, coherence or geometry modules directly: it calls a
:class:`Backend`. :class:`CoreBackend` is the real path, a thin layer over
:mod:`pairscope.pipeline` (the one pair recipe that ``pairscope compute`` uses too) plus the caches
a served app needs; a test may inject an instant fake with the same methods (STYLE.md section 3).
Results are cached on plain keys (catalog, burst, polarization, dates, window, bias, geometry).
Failures become :class:`~pairscope.ui.messages.UserError` through the one table in
:mod:`pairscope.ui.messages`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import xarray as xr

from pairscope import geometry as core_geometry
from pairscope import pipeline
from pairscope.io.http import redact_url
from pairscope.pairs import as_date as _as_date_ns
from pairscope.pairs import format_day
from pairscope.ui.messages import UserError, explain

__all__ = [
    "GEOMETRY_LAYERS", "LAYERS", "PAIR_LAYERS", "Backend", "BurstDates", "BurstInfo",
    "CatalogInfo", "CoreBackend", "NotCached", "ResultCache", "UserError", "as_date", "day",
]  # fmt: skip

#: Map layers the app knows, in menu order. ``PAIR_LAYERS`` come from a pair, the rest from the
#: acquisition geometry.
PAIR_LAYERS = ("coherence", "phase", "amplitude")
GEOMETRY_LAYERS = core_geometry.LAYERS
LAYERS = PAIR_LAYERS + GEOMETRY_LAYERS

log = logging.getLogger(__name__)

#: Largest geometry grid computed (look vectors are smooth: a decimated grid is exact enough).
GEOMETRY_MAX_SAMPLES = (192, 768)


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
    #: Perpendicular baseline of each date against the first, metres (``pipeline.date_baselines``:
    #: burst footprint centre on the ellipsoid, Vertex sign convention); ``None`` without orbits.
    perpendicular_baselines: tuple[float, ...] | None = None
    notes: tuple[str, ...] = ()
    #: STAC item id of each date (for exported tables).
    item_ids: tuple[str, ...] = ()
    #: Sign convention of ``perpendicular_baselines`` ("vertex" or "isce").
    convention: str = "vertex"
    #: Where the baselines are evaluated: (latitude, longitude, height) of the burst centre.
    baseline_point: tuple[float, float, float] | None = None
    #: The critical perpendicular baseline (m) of the burst's geometry (C band, the subswath's
    #: range bandwidth, flat terrain): pairs beyond it decorrelate completely.
    critical_baseline: float | None = None


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
        """``coherence``, ``phase``, ``valid_count`` (and ``amplitude`` if asked) on 2-D dims
        (azimuth, range) or (y, x)."""
        ...

    def compute_geometry(
        self, catalog: str, burst_id: str, polarization: str, geometry: str
    ) -> xr.Dataset:
        """Look-vector layers (``GEOMETRY_LAYERS``) on the same kind of grid as the pairs."""
        ...

    def orbit(self, catalog: str, burst_id: str, polarization: str, date: Any) -> Any:
        """The orbit of the burst's acquisition on ``date``."""
        ...

    def products(self, catalog: str, burst_id: str) -> list[Any]:
        """Published pair products of the burst."""
        ...

    def open_product(self, catalog: str, item: Any, asset: str) -> xr.DataArray:
        """A product asset in physical units."""
        ...

    def pair_stack(
        self, catalog: str, burst_id: str, polarization: str, dates: Sequence[np.datetime64]
    ) -> xr.DataArray:
        """The given dates as an in-memory ``("date", ...)`` stack."""
        ...

    def true_coherence(self, catalog: str, reference: Any, secondary: Any,
                       polarization: str, burst_id: str | None = None) -> xr.DataArray:
        """The simulated true coherence of a pair of a burst (demo catalogs; default: its first
        burst); FileNotFoundError otherwise."""
        ...


def as_date(value: Any, unit: str = "ns") -> np.datetime64:
    """``value`` (any date numpy understands) as ``datetime64`` of ``unit`` precision."""
    out: np.datetime64 = _as_date_ns(value).astype(f"datetime64[{unit}]")
    return out


def day(date: Any) -> str:
    """``YYYYMMDD`` spelling of a date (URLs, cache keys): :func:`pairscope.pairs.format_day`."""
    return format_day(date)


class NotCached(LookupError):
    """Raised under :meth:`CoreBackend.cached_only` where an answer is not in the cache: it would
    have to be read or computed."""


class ResultCache:
    """A thread-safe LRU of xarray objects bounded by bytes, keyed on plain tuples."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0

    @staticmethod
    def _size(value: Any) -> int:
        """Bytes ``value`` holds: an xarray DataArray's coordinates count too (its ``nbytes`` is
        its data alone; a burst's latitude / longitude / height grid is 3x a date's samples)."""
        nbytes = getattr(value, "nbytes", None)
        if nbytes is None:
            return 1024
        if isinstance(value, xr.DataArray):
            nbytes += sum(int(c.nbytes) for c in value.coords.values())
        return int(nbytes)

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


class _Flights:
    """Per-key reentrant locks held while a key is being computed, dropped when nobody holds or
    waits for them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, list[Any]] = {}  # key -> [RLock, holders and waiters]

    @contextlib.contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.RLock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)


def _one_at_a_time(method: Callable[..., Any]) -> Callable[..., Any]:
    """Calls of ``method`` with equal arguments run one after the other, so the first computes
    and caches and the later ones find its result in the cache instead of computing it again: two
    visitors opening one new pair at once, or a page's job and its QA tab asking for the same
    pair, read and compute it once. Calls with other arguments run at the same time as before.
    Under :meth:`CoreBackend.cached_only` nothing waits (the cache answers or the call raises).

    Locks are taken pair -> date -> grid, never the other way round, so they cannot deadlock; a
    waiting job cannot be cancelled until the call it waits for ends."""

    @functools.wraps(method)
    def wrapper(self: CoreBackend, *args: Any, **kwargs: Any) -> Any:
        key: Hashable | None = (method.__name__, args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:  # a library caller's list (a window): computed as before, unshared
            key = None
        if key is None or getattr(self._local, "only", False):
            return method(self, *args, **kwargs)
        with self._flights.hold(key):
            return method(self, *args, **kwargs)

    return wrapper


class CoreBackend:
    """The real path through the pairscope core. One instance serves every session.

    Opened catalogs, read acquisitions and computed pairs are cached on plain keys; methods are
    safe to call from worker threads. ``truth`` (injected by ``ui.app`` for the demo catalog)
    returns a catalog's simulated truth, used by the Learn tab.
    """

    def __init__(
        self,
        cache_bytes: int = 768 * 2**20,
        resolution: float = 20.0,
        *,
        truth: Callable[[str, Any, Any, str, str | None], xr.DataArray] | None = None,
        policy: Any = None,
    ) -> None:
        self.cache = ResultCache(cache_bytes)
        self.resolution = resolution
        self.truth = truth
        #: The server's location resolver (``Settings.location_policy``): every catalog, link and
        #: asset this backend opens goes through it. None (library use, tests): no allow-list.
        self.policy = policy
        self._catalogs: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._local = threading.local()
        self._flights = _Flights()

    @contextlib.contextmanager
    def cached_only(self) -> Iterator[None]:
        """In this block (this thread only) answer from the cache or raise :class:`NotCached`:
        nothing is opened, read or computed. A served page uses it when its session is created
        (the HTTP GET), which must start no work, to draw what is already known."""
        before = getattr(self._local, "only", False)
        self._local.only = True
        try:
            yield
        finally:
            self._local.only = before

    def _miss(self, what: str) -> None:
        if getattr(self._local, "only", False):
            raise NotCached(what)

    # -- catalog ----------------------------------------------------------------------------------
    def catalog(self, location: str) -> Any:
        """The core's catalog object of ``location`` (opened once, with the server's token)."""
        from pairscope.io import catalog as core_catalog

        with self._lock:
            cat = self._catalogs.get(location)
        if cat is None:
            self._miss("catalog")
            try:
                cat = core_catalog.open_catalog(location, policy=self.policy)
            except Exception as exc:
                raise explain(exc, f"Could not open catalog {redact_url(location)!r}") from exc
            with self._lock:
                self._catalogs[location] = cat
        return cat

    def open_catalog(self, catalog: str) -> CatalogInfo:
        from pairscope.io import catalog as core_catalog

        key = ("catalog", catalog)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        self._miss("bursts")
        cat = self.catalog(catalog)
        try:
            summaries = core_catalog.search_bursts(cat)
        except Exception as exc:
            raise explain(exc, f"Could not list bursts in {catalog!r}") from exc
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
    def acquisitions(self, catalog: str, burst_id: str, polarization: str) -> list[Any]:
        """The burst's acquisitions of ``polarization``, sorted by date (cached)."""
        from pairscope.errors import BurstNotFoundError
        from pairscope.io import catalog as core_catalog

        key = ("acq", catalog, burst_id, polarization)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        self._miss("acquisitions")
        try:
            acqs = list(
                core_catalog.list_acquisitions(
                    self.catalog(catalog), burst_id, polarization=polarization
                )
            )
        except BurstNotFoundError as exc:
            raise UserError(
                f"Burst {burst_id} is not in this catalog.", "Pick one of the listed bursts."
            ) from exc
        except Exception as exc:
            raise explain(exc, f"Could not list dates of burst {burst_id}") from exc
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
        self._miss("dates")
        log.info("listing the dates of %s %s", burst_id, polarization)
        acqs = self.acquisitions(catalog, burst_id, polarization)
        dates = tuple(_acq_date(a) for a in acqs)
        pols: set[str] = set()
        for a in acqs:
            pols.update(str(p) for p in (_field(a, "polarizations") or ()))
        notes: list[str] = []
        baselines = None
        point: tuple[float, float, float] | None = None
        critical: float | None = None
        try:
            baselines, point, critical = self._baselines(catalog, burst_id, acqs)
        except Exception as exc:  # baselines are a nicety: say why they are missing
            notes.append(
                f"Perpendicular baselines unavailable ({explain(exc, 'orbits').message}); "
                "the network is drawn against the date index."
            )
        if baselines is None and not notes:
            notes.append("No orbits in this catalog: the pair network is drawn against index.")
        info = BurstDates(
            burst_id=burst_id,
            dates=dates,
            polarizations=tuple(sorted(pols)) or (polarization,),
            perpendicular_baselines=baselines,
            notes=tuple(notes),
            item_ids=tuple(str(getattr(getattr(a, "item", None), "id", "")) for a in acqs),
            baseline_point=point,
            critical_baseline=critical,
        )
        self.cache.put(key, info)
        return info

    def orbits(self, catalog: str, acqs: Sequence[Any]) -> list[Any] | None:
        """The orbit of each acquisition, or None when one of them has none."""
        from pairscope.io import orbits as core_orbits

        cat = self.catalog(catalog)
        orbits = [core_orbits.open_orbit(a, catalog=cat) for a in acqs]
        if any(o is None for o in orbits):
            return None
        return orbits

    def orbit(self, catalog: str, burst_id: str, polarization: str, date: Any) -> Any:
        """The orbit of the burst's acquisition on ``date`` (cached), or a UserError."""
        key = ("orbit", catalog, burst_id, polarization, day(date))
        hit = self.cache.get(key)
        if hit is not None:
            return hit.value
        self._miss("orbit")
        want = as_date(date, "D")
        for acq in self.acquisitions(catalog, burst_id, polarization):
            if as_date(_acq_date(acq), "D") == want:
                found = self.orbits(catalog, [acq])
                if found is None:
                    break
                self.cache.put(key, _Small(found[0]))
                return found[0]
        raise UserError(f"No orbit for {burst_id} on {day(date)} in this catalog.",
                        "Look vectors need an orbit asset (EOF or annotation).")  # fmt: skip

    def _baselines(
        self, catalog: str, burst_id: str, acqs: Sequence[Any]
    ) -> tuple[tuple[float, ...] | None, tuple[float, float, float] | None, float | None]:
        """(per-date perpendicular baselines, the point, the critical baseline): from the orbits the
        catalog carries (EOF, annotation, HDF5 or state vectors in the item metadata) and the
        burst footprint, before any SLC is opened."""
        orbits = self.orbits(catalog, acqs)
        if orbits is None:
            return None, None, None
        by_day = pipeline.acquisition_baselines(acqs, orbits, "vertex")
        if by_day is None:
            return None, None, None
        values = tuple(by_day[day(_acq_date(a))] for a in acqs)
        first = getattr(acqs[0], "item", None)
        point = pipeline.baseline_point(
            getattr(first, "geometry", None) or getattr(first, "bbox", None)
        )
        side = pipeline.look_side_of(acqs[0])
        critical = None
        try:
            geo = core_geometry.look_geometry(orbits[0], np.array([point[0]]), np.array([point[1]]),
                                              np.array([point[2]]), look_side=side)  # type: ignore[arg-type]
            crit = core_geometry.critical_baseline(geo["incidence_angle"], geo["slant_range"],
                                                   subswath=burst_id)  # fmt: skip
            critical = float(np.asarray(crit).ravel()[0])
        except Exception:  # noqa: BLE001 - the band is a nicety; the baselines stand alone
            critical = None
        return values, point, critical

    def baseline_map(self, catalog: str, burst_id: str, polarization: str) -> dict[str, float] | None:
        """``{YYYYMMDD: metres}`` of every date of the burst, or None without orbits."""
        info = self.burst_dates(catalog, burst_id, polarization)
        if info.perpendicular_baselines is None:
            return None
        return {day(d): b for d, b in zip(info.dates, info.perpendicular_baselines, strict=True)}

    # -- data -------------------------------------------------------------------------------------
    def stack(self, catalog: str, burst_id: str, polarization: str) -> xr.DataArray:
        """The burst's lazy SLC stack of every date (cached; tiny in memory)."""
        from pairscope.io import rasters as core_rasters

        key = ("stack", catalog, burst_id, polarization)
        hit = self.cache.get(key)
        if hit is not None:
            return hit.value  # type: ignore[no-any-return]
        self._miss("stack")
        acqs = self.acquisitions(catalog, burst_id, polarization)
        dates = [_acq_date(a) for a in acqs]
        try:
            slc = core_rasters.open_slc_stack(self.catalog(catalog), burst_id, dates, polarization)
        except Exception as exc:
            raise explain(
                exc, f"Could not open the {polarization} SLC stack of burst {burst_id}"
            ) from exc
        self.cache.put(key, _Small(slc))
        return slc

    @_one_at_a_time
    def grid(self, catalog: str, burst_id: str, polarization: str) -> xr.Dataset:
        """The burst's 2-D coordinates (latitude, longitude, height where the stack has them) as
        a Dataset of coordinates, read once and cached: every date of the stack shares them."""
        key = ("grid", catalog, burst_id, polarization)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        self._miss("grid")
        slc = self.stack(catalog, burst_id, polarization)
        names = _grid_names(slc)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="rasterio")
                grid = xr.Dataset(coords={k: slc.coords[k] for k in names}).load()
        except Exception as exc:
            raise explain(exc, f"Could not read the grid of burst {burst_id}") from exc
        self.cache.put(key, grid)
        return grid

    @_one_at_a_time
    def _date(self, catalog: str, burst_id: str, polarization: str, date: np.datetime64) -> Any:
        """One date's samples (no 2-D coordinates: `grid` holds them once for the burst)."""
        key = ("slc", catalog, burst_id, polarization, day(date))
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        self._miss("samples")
        slc = self.stack(catalog, burst_id, polarization)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="rasterio")
                one = slc.sel(date=as_date(date)).drop_vars(_grid_names(slc)).load()
        except KeyError as exc:
            raise UserError(
                f"Date {day(date)} is not in the stack of burst {burst_id}.",
                "Pick dates from the list in the sidebar.",
            ) from exc
        except Exception as exc:
            raise explain(
                exc, f"Could not read the {polarization} SLC of {burst_id} on {day(date)}"
            ) from exc
        self.cache.put(key, one)
        return one

    def pair_stack(
        self, catalog: str, burst_id: str, polarization: str, dates: Sequence[np.datetime64]
    ) -> xr.DataArray:
        """The given dates of the burst in memory, as a ``("date", ...)`` stack (each date read
        once and cached for every pair that uses it)."""
        one = [self._date(catalog, burst_id, polarization, d) for d in dates]
        grid = self.grid(catalog, burst_id, polarization)
        shapes = {o.shape for o in one}
        if len(shapes) > 1:
            raise UserError(
                f"Dates {', '.join(day(d) for d in dates)} are not on a common grid "
                f"({' vs '.join(str(s) for s in shapes)}).",
                "Pick dates of the same coregistered stack.",
            )
        first = one[0]
        dims = ("date", *(str(d) for d in first.dims))
        coords: dict[str, Any] = {"date": np.array([as_date(d) for d in dates])}
        for name, coord in [*first.coords.items(), *grid.coords.items()]:
            if name != "date" and coord.dims:
                coords[str(name)] = coord
        return xr.DataArray(np.stack([o.values for o in one]), dims=dims, coords=coords,
                            attrs=dict(first.attrs))  # fmt: skip

    def recipe(self, window: tuple[int, int], bias_corrected: bool, geometry: str,
               amplitude: bool = False) -> pipeline.Recipe:
        """The pipeline settings of an app request (map spacing: the server's resolution)."""
        try:
            return pipeline.Recipe(window=window, bias_corrected=bool(bias_corrected),
                                   amplitude=amplitude, geometry=geometry,  # type: ignore[arg-type]
                                   spacing=self.resolution)  # fmt: skip
        except Exception as exc:
            raise explain(exc, "Invalid settings") from exc

    @_one_at_a_time
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
        key = (
            "pair", catalog, burst_id, polarization, day(reference), day(secondary),
            tuple(window), bool(bias_corrected), geometry,
        )  # fmt: skip
        hit = self.cache.get(key)
        if hit is not None and (not amplitude or "amplitude" in hit):
            return hit  # type: ignore[no-any-return]
        self._miss("pair")
        log.info("computing %s %s %s_%s window %dx%d", burst_id, polarization, day(reference),
                 day(secondary), window[0], window[1])
        recipe = self.recipe(tuple(window), bias_corrected, geometry, amplitude and hit is None)  # type: ignore[arg-type]
        stack = self.pair_stack(catalog, burst_id, polarization, [reference, secondary])
        naz, nrg = stack.shape[1:]
        if window[0] > naz or window[1] > nrg:
            raise UserError(
                f"Window {window[0]}x{window[1]} is larger than the image ({naz}x{nrg}).",
                f"Use at most {naz} azimuth x {nrg} range looks.",
            )
        pair = [(as_date(reference), as_date(secondary))]
        try:
            if hit is not None:  # coherence cached, amplitude asked for now
                layer = pipeline.compute_amplitude(stack, pair, recipe).isel(pair=0, drop=True)
                ds: xr.Dataset = hit.assign(amplitude=layer)
                self.cache.put(key, ds)
                return ds
            baselines = self.baseline_map(catalog, burst_id, polarization)
            result = pipeline.compute_pairs(stack, pair, recipe, baselines=baselines)
        except UserError:
            raise
        except Exception as exc:
            raise explain(exc, f"Could not compute {day(reference)}_{day(secondary)}") from exc
        ds = result.isel(pair=0, drop=False).drop_vars(
            ["pair", "reference", "secondary"], errors="ignore"
        )
        ds.attrs.update(
            reference=day(reference), secondary=day(secondary),
            window=f"{window[0]}x{window[1]}", bias_corrected=int(bias_corrected),
        )  # fmt: skip
        self.cache.put(key, ds)
        return ds

    @_one_at_a_time
    def compute_geometry(
        self, catalog: str, burst_id: str, polarization: str, geometry: str
    ) -> xr.Dataset:
        key = ("geometry", catalog, burst_id, polarization, geometry)
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        self._miss("geometry")
        acqs = self.acquisitions(catalog, burst_id, polarization)
        slc = self.stack(catalog, burst_id, polarization)
        orbits = self.orbits(catalog, acqs[:1])
        try:
            found = pipeline.burst_look_layers(
                self.catalog(catalog), acqs[0], slc, orbits[0] if orbits else None,
                max_samples=GEOMETRY_MAX_SAMPLES,
            )  # fmt: skip
        except Exception as exc:
            raise explain(exc, "Could not compute the look geometry") from exc
        if found is None:
            missing = "an orbit for the reference date" if orbits is None else "a latitude/longitude grid"
            raise UserError(
                f"This catalog publishes no look vectors and has no {missing}, so look vectors "
                "cannot be computed.",
                "Pick coherence, phase or amplitude, or use a catalog with orbit assets.",
            )
        ds, source = found
        ds.attrs["source"] = source
        if geometry == "map":
            try:
                ds = pipeline.geocode_result(ds, spacing=self.resolution)
            except Exception as exc:
                raise explain(exc, "Could not geocode the look geometry") from exc
        self.cache.put(key, ds)
        return ds

    # -- QA and Learn ---------------------------------------------------------------------------
    def products(self, catalog: str, burst_id: str) -> list[Any]:
        """Published pair products of the burst (``pairscope.io.catalog.list_products``)."""
        from pairscope.io.catalog import list_products

        try:
            return list(list_products(self.catalog(catalog), burst_id))
        except Exception as exc:
            raise explain(exc, f"Could not list the products of {burst_id}") from exc

    def open_product(self, catalog: str, item: Any, asset: str) -> xr.DataArray:
        """A product asset in physical units, read with the catalog's credentials."""
        from pairscope.io.rasters import open_product

        try:
            return open_product(item, asset, catalog=self.catalog(catalog)).load()
        except Exception as exc:
            raise explain(exc, f"Could not read asset {asset!r} of {getattr(item, 'id', item)}") from exc

    def true_coherence(self, catalog: str, reference: Any, secondary: Any,
                       polarization: str, burst_id: str | None = None) -> xr.DataArray:
        """The simulated truth of a pair of a burst (demo catalogs only)."""
        if self.truth is None:
            raise FileNotFoundError("this server has no simulated truth")
        return self.truth(catalog, reference, secondary, polarization, burst_id)


def _grid_names(stack: xr.DataArray) -> list[str]:
    """The stack's 2-D coordinates (its burst's grid: latitude, longitude, height)."""
    return [str(k) for k, v in stack.coords.items() if v.ndim == 2]


class _Small:
    """Wraps a lazy (dask) object or an orbit so the cache counts it as small."""

    nbytes = 1024

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.value, name)


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
